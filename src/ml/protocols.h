#pragma once
// Internal entry points of the protocols (train.cc dispatches to them).
#include "party.h"

namespace fatectl::ml::detail {

void hetero_train(Party& p);
void hetero_predict(Party& p, const std::string& model_dir);
void homo_train(Party& p);
void homo_predict(Party& p, const std::string& model_dir);

/// predictions.csv (id,label,score; label = score > threshold) and, when `labels` is not empty,
/// predict-metrics.json (predictions.cc).
void write_predictions(Party& p, const std::vector<std::string>& ids, const std::vector<double>& scores,
                       double threshold, const std::vector<double>& labels);

/// Joins per-party model/metrics helpers.
std::string metrics_table(const YAML::Node& metrics);

}  // namespace fatectl::ml::detail
