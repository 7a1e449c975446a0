#include "outputs.h"

#include <filesystem>

#include "fatectl/core/yaml.h"
#include "fatectl/ml/evaluation.h"
#include "fatectl/ml/metrics.h"

namespace fatectl::ml::detail {

YAML::Node job_description(const MlJob& job) {
  YAML::Node j;
  j["id"] = yaml::str(job.id);
  j["algorithm"] = job.algorithm == Algorithm::HeteroLr ? "hetero_lr" : "homo_lr";
  j["params"] = job.params_source && job.params_source.IsMap() ? yaml::clone(job.params_source) : YAML::Node(YAML::NodeType::Map);
  j["effective"] = job.params.to_yaml();
  YAML::Node parties(YAML::NodeType::Sequence);
  auto add = [&](long id) {
    YAML::Node q;
    q["id"] = id;
    q["role"] = job.role_of(id);
    YAML::Node files(YAML::NodeType::Sequence);
    if (auto it = job.data.find(id); it != job.data.end())
      for (auto& f : it->second) files.push_back(yaml::str(std::filesystem::path(f).filename().string()));
    q["data"] = files;
    parties.push_back(q);
  };
  add(job.guest);
  for (long h : job.hosts) add(h);
  add(job.arbiter);
  j["parties"] = parties;
  return j;
}

YAML::Node history_yaml(const std::vector<HistoryEntry>& h) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (const auto& e : h) {
    YAML::Node x;
    x["epoch"] = e.epoch;
    if (e.loss) x["loss"] = *e.loss;
    for (auto& [k, v] : e.validate) x["validate"][k] = v;
    for (auto& [k, v] : e.local) x["validate_local"][k] = v;
    n.push_back(x);
  }
  return n;
}

std::vector<HistoryEntry> history_from(const YAML::Node& n) {
  std::vector<HistoryEntry> h;
  if (!n || !n.IsSequence()) return h;
  for (const auto& x : n) {
    HistoryEntry e;
    e.epoch = x["epoch"].as<long>();
    if (x["loss"]) e.loss = x["loss"].as<double>();
    if (x["validate"])
      for (auto it = x["validate"].begin(); it != x["validate"].end(); ++it) e.validate[it->first.Scalar()] = it->second.as<double>();
    if (x["validate_local"])
      for (auto it = x["validate_local"].begin(); it != x["validate_local"].end(); ++it)
        e.local[it->first.Scalar()] = it->second.as<double>();
    h.push_back(e);
  }
  return h;
}

std::map<std::string, double> validation_metrics(const std::vector<double>& labels, const std::vector<double>& scores) {
  return {{"auc", auc(labels, scores)}, {"ks", ks(labels, scores)}};
}

YAML::Node metrics_head(const MlJob& job, long epochs, bool converged, const Verdict& last, long best_epoch,
                        double threshold, const WeightSummary& ws) {
  YAML::Node m;
  m["job"] = yaml::str(job.id);
  m["epochs"] = epochs;
  m["converged"] = converged && !last.stop;  // an early stop is reported as such, not as convergence
  if (job.validation.enabled()) {
    m["early_stopped"] = last.stop;
    if (last.stop) m["early_stopping_metric"] = job.validation.tracked().at(static_cast<size_t>(last.stop_metric));
    if (best_epoch >= 0) m["best_iteration"] = best_epoch + 1;  // 1-based, as the epoch lines
  }
  m["threshold"] = threshold;
  m["threshold_rule"] = to_string(job.validation.threshold);
  m["sample_weight"] = ws.to_yaml();
  m["job_description"] = job_description(job);
  return m;
}

}  // namespace fatectl::ml::detail
