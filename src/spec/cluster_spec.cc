#include "fatectl/spec/cluster_spec.h"

#include <algorithm>

#include "fatectl/core/yaml.h"

namespace fatectl::spec {

bool ClusterSpec::has_module(const std::string& m) const {
  return std::find(modules.begin(), modules.end(), m) != modules.end();
}

namespace {

std::string required_string(const YAML::Node& root, const std::string& key, const std::string& file) {
  YAML::Node v = root[key];
  if (!v || !v.IsScalar() || v.Scalar().empty())
    throw invalid_at(yaml::where(root, file), key, "required key is missing");
  return v.Scalar();
}

Generation detect_generation(const std::string& chart, const std::string& version) {
  if (chart == "fate-exchange") return Generation::Exchange;
  if (version.rfind("v1.6", 0) == 0 || version.rfind("v1.7", 0) == 0 || version.rfind("v1.8", 0) == 0)
    return Generation::Fate16;
  if (version.rfind("v2.", 0) == 0) return Generation::Fate20;
  return Generation::Fate19;
}

}  // namespace

ClusterSpec parse(const std::string& text, const std::string& name, const LoadOptions&) {
  ClusterSpec s;
  s.file = name;
  s.root = yaml::parse(text, name);
  if (!s.root.IsMap()) throw invalid_at(yaml::where(s.root, name), "", "a cluster spec must be a YAML mapping");
  s.name = required_string(s.root, "name", name);
  s.namespace_ = required_string(s.root, "namespace", name);
  s.chart_name = required_string(s.root, "chartName", name);
  s.chart_version = required_string(s.root, "chartVersion", name);
  s.generation = detect_generation(s.chart_name, s.chart_version);
  if (s.root["partyId"]) s.party_id = s.root["partyId"].as<long>(0);
  for (const auto& m : s.root["modules"]) s.modules.push_back(m.Scalar());
  return s;
}

ClusterSpec load(const std::string& path, const LoadOptions& opts) {
  return parse(yaml::read_file(path), path, opts);
}

}  // namespace fatectl::spec
