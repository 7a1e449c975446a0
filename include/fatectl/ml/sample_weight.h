#pragma once
// Per-row sample weights for imbalanced data, with FATE 1.11's SampleWeight definitions:
// class_weight "balanced" (n / (classes · n_class)) or {0: w0, 1: w1}, or the values of a column
// (sample_weight_name, optionally normalised to mean 1). A weight column wins over class weights.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/ml/data.h"
#include "fatectl/ml/prep.h"

namespace fatectl::ml {

/// algorithm.params.class_weight / sample_weight: {class_weight, sample_weight_name, normalize}.
struct SampleWeightParams {
  enum class Mode { None, Balanced, Given };
  Mode class_weight = Mode::None;
  double w0 = 1, w1 = 1;           ///< Given: the weight of label 0 and label 1
  std::string sample_weight_name;  ///< a column of the training data (not a feature)
  bool normalize = false;          ///< divide the column's values by their mean
  Location where;

  bool any() const { return class_weight != Mode::None || !sample_weight_name.empty(); }
  static SampleWeightParams parse(const YAML::Node& params, const std::string& file);
};

/// What was used, for metrics.json and the report.
struct WeightSummary {
  std::string mode;  ///< "class weight", "sample weight name" or "none"
  double w0 = 1, w1 = 1;
  YAML::Node to_yaml() const;
};

/// The weight of every row of `d` (labels, and the weight column when named). Balanced counts the
/// labels through `sum` (federated statistics add every client's counts); normalize divides by the
/// mean weight, also through `sum`.
std::vector<double> sample_weights(const SampleWeightParams& p, const Dataset& d, const StatSum& sum,
                                   WeightSummary* summary = nullptr);

/// FATE's hetero scale_sample_weight: weights × n / Σ weights (mean 1).
void scale_to_mean_one(std::vector<double>& w);

}  // namespace fatectl::ml
