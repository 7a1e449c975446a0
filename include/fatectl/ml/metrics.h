#pragma once
// Binary-classification metrics with FATE 1.11's definitions: AUC (= scikit-learn's
// roc_auc_score, ties counted half), KS over FATE's 100 index-quantile thresholds, and the
// confusion matrix with accuracy, precision, recall and F1 at the prediction threshold.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace fatectl::ml {

/// The metrics of one scored data set.
struct Metrics {
  size_t n = 0, positives = 0;
  double auc = 0, ks = 0, accuracy = 0, precision = 0, recall = 0, f1 = 0, threshold = 0.5;
  size_t tp = 0, fp = 0, tn = 0, fn = 0;
  YAML::Node to_yaml() const;
};

/// AUC: probability that a random positive scores above a random negative (ties ½).
/// Throws Invalid when only one class is present (as scikit-learn does).
double auc(const std::vector<double>& labels, const std::vector<double>& scores);
/// KS as FATE computes it: scores sorted descending, thresholds t_k = sorted[int(N·(k/100))]
/// for k = 0..99, predicted positive when score > t_k, KS = max_k (TPR_k − FPR_k).
double ks(const std::vector<double>& labels, const std::vector<double>& scores);
/// Everything above; label 1 is positive; predicted positive when score > threshold.
Metrics evaluate(const std::vector<double>& labels, const std::vector<double>& scores, double threshold);

/// Numerically stable logistic function.
double sigmoid(double z);

}  // namespace fatectl::ml
