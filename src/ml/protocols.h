#pragma once
// Internal entry points of the protocols (train.cc dispatches to them).
#include "fatectl/ml/prep.h"
#include "party.h"

namespace fatectl::ml::detail {

void hetero_train(Party& p);
void hetero_predict(Party& p, const std::string& model_dir);
void homo_train(Party& p);
void homo_predict(Party& p, const std::string& model_dir);

/// predictions.csv with FATE's columns id, label (the true label, when the data has labels),
/// predict_result (score > threshold) and predict_score, and, when `labels` is not empty,
/// predict-metrics.json with FATE's evaluation (predictions.cc).
void write_predictions(Party& p, const std::vector<std::string>& ids, const std::vector<double>& scores,
                       double threshold, const std::vector<double>& labels);
/// Data to predict on: data[which] of `party` with the model's missing-value markers, the weight
/// column skipped, and without labels when the file has no label column (predictions.cc).
Dataset load_for_predict(const MlJob& job, long party, size_t which, const FittedPrep& fp);

/// Joins per-party model/metrics helpers.
std::string metrics_table(const YAML::Node& metrics);

}  // namespace fatectl::ml::detail
