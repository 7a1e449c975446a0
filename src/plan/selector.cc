#include "fatectl/plan/selector.h"

#include <cstdlib>

#include "fatectl/kube/api.h"

namespace fatectl::plan {
namespace {

using kube::F;

bool in_values(const YAML::Node& values, const std::string& v) {
  for (const auto& x : F(values))
    if (x.IsScalar() && x.Scalar() == v) return true;
  return false;
}

bool parse_long(const std::string& s, long long& out) {
  if (s.empty() || s.size() > 18) return false;
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return end && *end == '\0';
}

/// One requirement {key, operator, values} against a value that may be absent.
bool requirement(const YAML::Node& req, bool has, const std::string& v) {
  std::string op = F(req)["operator"].str();
  if (op == "In") return has && in_values(F(req)["values"], v);
  if (op == "NotIn") return !has || !in_values(F(req)["values"], v);
  if (op == "Exists") return has;
  if (op == "DoesNotExist") return !has;
  if (op == "Gt" || op == "Lt") {
    long long have = 0, want = 0;
    if (!has || !parse_long(v, have) || !parse_long(F(req)["values"][0].str(), want)) return false;
    return op == "Gt" ? have > want : have < want;
  }
  return false;  // unknown operators select nothing, as the API server would refuse them
}

}  // namespace

Labels labels_of(const YAML::Node& map) {
  Labels out;
  for (const auto& kv : F(map))
    if (kv.first.IsScalar() && kv.second.IsScalar()) out[kv.first.Scalar()] = kv.second.Scalar();
  return out;
}

bool selector_matches(const YAML::Node& sel, const Labels& labels) {
  if (!sel || sel.IsNull()) return false;
  for (const auto& kv : F(sel)["matchLabels"]) {
    auto it = labels.find(kv.first.Scalar());
    if (it == labels.end() || !kv.second.IsScalar() || it->second != kv.second.Scalar()) return false;
  }
  for (const auto& req : F(sel)["matchExpressions"]) {
    auto it = labels.find(F(req)["key"].str());
    if (!requirement(req, it != labels.end(), it != labels.end() ? it->second : "")) return false;
  }
  return true;
}

bool node_term_matches(const YAML::Node& term, const Labels& labels, const std::string& node_name) {
  bool any = false;
  for (const auto& req : F(term)["matchExpressions"]) {
    any = true;
    auto it = labels.find(F(req)["key"].str());
    if (!requirement(req, it != labels.end(), it != labels.end() ? it->second : "")) return false;
  }
  for (const auto& req : F(term)["matchFields"]) {
    any = true;
    if (F(req)["key"].str() != "metadata.name" || !requirement(req, true, node_name)) return false;
  }
  return any;  // an empty term selects no node
}

bool node_matches_pod(const YAML::Node& pod, const Labels& labels, const std::string& node_name) {
  for (const auto& kv : F(pod)["nodeSelector"]) {
    auto it = labels.find(kv.first.Scalar());
    if (it == labels.end() || !kv.second.IsScalar() || it->second != kv.second.Scalar()) return false;
  }
  F terms = F(pod)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
  if (!terms) return true;
  for (const auto& t : terms)
    if (node_term_matches(t, labels, node_name)) return true;
  return false;
}

bool tolerates(const YAML::Node& pod, const std::string& key, const std::string& value, const std::string& effect) {
  for (const auto& t : F(pod)["tolerations"]) {
    std::string te = F(t)["effect"].str();
    if (!te.empty() && te != effect) continue;
    std::string tk = F(t)["key"].str();
    std::string op = F(t)["operator"].str();
    if (op.empty()) op = "Equal";
    if (tk.empty()) {
      if (op == "Exists") return true;  // an empty key with Exists tolerates everything
      continue;
    }
    if (tk != key) continue;
    if (op == "Exists") return true;
    if (op == "Equal" && F(t)["value"].str() == value) return true;
  }
  return false;
}

}  // namespace fatectl::plan
