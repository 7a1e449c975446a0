#include "fatectl/plan/locate.h"

#include <vector>

#include "fatectl/core/yaml.h"
#include "fatectl/spec/schema.h"

namespace fatectl::plan {
namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    if (dot > start) out.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  return out;
}

/// The deepest node along `keys` and how many keys were found.
std::pair<YAML::Node, size_t> walk(const YAML::Node& root, const std::vector<std::string>& keys) {
  YAML::Node cur = root;
  size_t depth = 0;
  for (const auto& k : keys) {
    if (!cur.IsDefined() || !cur.IsMap()) break;
    YAML::Node next = static_cast<const YAML::Node&>(cur)[k];
    if (!next.IsDefined()) break;
    cur.reset(next);  // reset, never assign: assignment would overwrite the node cur refers to
    ++depth;
  }
  return {cur, depth};
}

}  // namespace

Location locate(const spec::ClusterSpec& spec, const std::string& key_path) {
  auto keys = split(key_path);
  if (spec.root && spec.root.IsMap()) {
    auto [node, depth] = walk(spec.root, keys);
    if (depth > 0) return yaml::where(node, spec.file);
    const YAML::Node& root = spec.root;
    YAML::Node modules = root["modules"];
    if (!keys.empty() && modules && modules.IsSequence())
      for (const auto& m : modules)
        if (m.IsScalar() && m.Scalar() == keys[0]) return yaml::where(m, spec.file);
  }
  return Location{spec.file, 1, 1};
}

bool present(const spec::ClusterSpec& spec, const std::string& key_path) {
  auto keys = split(key_path);
  if (!spec.root || keys.empty()) return false;
  auto [node, depth] = walk(spec.root, keys);
  return depth == keys.size() && !node.IsNull();
}

std::string value_at(const spec::ClusterSpec& spec, const std::string& key_path) {
  auto keys = split(key_path);
  if (!spec.root || keys.empty()) return "";
  auto [node, depth] = walk(spec.root, keys);
  return depth == keys.size() && node.IsScalar() ? node.Scalar() : "";
}

bool settable(const spec::ClusterSpec& spec, const std::string& key_path) {
  unsigned gen = spec::schema::gen_bit(spec.generation);
  const spec::schema::Shape* shape = &spec::schema::root_for(spec.generation);
  for (const auto& k : split(key_path)) {
    if (shape->kind == spec::schema::Kind::Any) return true;
    if (shape->kind == spec::schema::Kind::MapOf) {  // any key (nodeSelector, requests)
      if (!shape->item) return true;
      shape = shape->item.get();
      continue;
    }
    if (shape->kind != spec::schema::Kind::Map) return false;
    const spec::schema::Field* f = shape->field(k, gen);
    if (!f || !f->shape) return false;
    shape = f->shape.get();
  }
  return true;
}

}  // namespace fatectl::plan
