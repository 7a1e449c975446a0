#pragma once
// What the protocols write besides the model numbers (private to ml/): the job description in
// metrics.json (parameters, parties and roles, for `fatectl report`), the per-epoch history, the
// final evaluation with the chosen threshold, and the model's preparation/weight sections.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "fatectl/ml/prep.h"
#include "fatectl/ml/sample_weight.h"
#include "fatectl/ml/train.h"
#include "fatectl/ml/validation.h"

namespace fatectl::ml::detail {

/// The job's parameters (as written and in effect) and every party's role and data file names.
YAML::Node job_description(const MlJob& job);

/// One epoch of the training history: loss (when known) and validation metrics (when run).
struct HistoryEntry {
  long epoch = 0;  ///< 1-based
  std::optional<double> loss;
  std::map<std::string, double> validate;  ///< auc, ks (homo: the clients' mean weighted by rows)
  std::map<std::string, double> local;     ///< homo: this client's own validation metrics
};
YAML::Node history_yaml(const std::vector<HistoryEntry>& h);
std::vector<HistoryEntry> history_from(const YAML::Node& n);

/// auc and ks of scored validation rows (FATE's single-value metrics).
std::map<std::string, double> validation_metrics(const std::vector<double>& labels, const std::vector<double>& scores);

/// The common part of metrics.json: job, epochs, converged, early stopping, threshold, weights.
YAML::Node metrics_head(const MlJob& job, long epochs, bool converged, const Verdict& last, long best_epoch,
                        double threshold, const WeightSummary& ws);

}  // namespace fatectl::ml::detail
