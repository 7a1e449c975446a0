#pragma once
// FATE 1.11's binary-classification evaluation, curve by curve, with its definitions
// (federatedml/evaluation): ROC (scikit-learn's roc_curve cut to 100 thresholds), KS (100
// index-quantile thresholds), precision–recall, lift and gain (100 thresholds among the distinct
// scores), the confusion matrix and F1 at the fixed thresholds 0.00, 0.01, …, 0.99, plus
// scikit-learn's average precision, a score histogram per class, and the choice of a threshold on
// validation data (max F1 or max KS). Predicted positive means score > threshold throughout.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

namespace fatectl::ml {

/// Points of one curve with the score threshold that produced each point.
struct Curve {
  std::vector<double> x, y, thresholds;
};

/// Confusion counts at a list of thresholds (positive when score > threshold).
struct ConfusionTable {
  std::vector<double> thresholds;
  std::vector<uint64_t> tp, fp, fn, tn;
  /// FATE's F1 per threshold: precision is 1 when nothing is flagged, a zero denominator is 1e-6.
  std::vector<double> f1() const;
  /// TPR − FPR per threshold.
  std::vector<double> ks() const;
};

/// Scores sorted once, answering "how many positives/negatives score above t" in O(log n).
class ScoreIndex {
 public:
  /// labels: 1 = positive, anything else negative. Throws Invalid when only one class is present.
  ScoreIndex(const std::vector<double>& labels, const std::vector<double>& scores);
  size_t size() const { return desc_.size(); }
  size_t positives() const { return pos_; }
  size_t negatives() const { return desc_.size() - pos_; }
  /// (positives, negatives) with score > t.
  std::pair<size_t, size_t> above(double t) const;
  ConfusionTable confusion(const std::vector<double>& thresholds) const;
  /// Scores sorted descending.
  const std::vector<double>& sorted() const { return desc_; }
  /// Cumulative positives among the first k sorted scores (k = 0..n).
  const std::vector<size_t>& cum_pos() const { return cum_pos_; }

 private:
  std::vector<double> desc_;
  std::vector<size_t> cum_pos_;
  size_t pos_ = 0;
};

/// Confusion counts without the two-class requirement (a client's share of a pooled table).
ConfusionTable confusion_table(const std::vector<double>& labels, const std::vector<double>& scores,
                               const std::vector<double>& thresholds);
/// The table as 4·k numbers (tp…, fp…, fn…, tn…) for secure sums, and back.
std::vector<double> flatten(const ConfusionTable& t);
ConfusionTable unflatten(const std::vector<double>& v, const std::vector<double>& thresholds);

/// FATE's thresholds 0.00, 0.01, …, 0.99 (numpy's arange(100) · 0.01).
std::vector<double> fixed_thresholds();
/// FATE's "cut by step": the distinct scores sorted descending, entry int(size·i·0.01) for
/// i = 0..99.
std::vector<double> step_thresholds(const ScoreIndex& s);
/// FATE's "cut by index": sorted[int(n·(k/100))] for k = 0..99 (the KS thresholds).
std::vector<double> index_thresholds(const ScoreIndex& s);

/// ROC as FATE reports it: scikit-learn's roc_curve (drop_intermediate, first threshold = the
/// highest score + 1), 100 of its thresholds picked by FATE's step cut, duplicate points removed,
/// then (1, 1) appended with threshold 1. x = FPR, y = TPR.
Curve roc_curve(const ScoreIndex& s);
/// KS: TPR (y) and FPR at the 100 index thresholds against the cuts k/100, then (1, 1) at cut 1.
/// `value` = max_k (TPR_k − FPR_k) over the 100 thresholds.
struct KsCurve {
  std::vector<double> cuts, tpr, fpr, thresholds;
  double value = 0;
};
KsCurve ks_curve(const ScoreIndex& s);
/// Precision–recall: the step thresholds plus (lowest − 0.001); for every distinct recall the
/// highest precision (first occurrence order). x = recall, y = precision.
Curve pr_curve(const ScoreIndex& s);
/// Lift (y = precision / positive rate) and gain (y = recall) against the share flagged
/// x = (tp + fp)/n at the step thresholds; for every distinct x the highest y; then (1, 1) at
/// threshold 0.
Curve lift_curve(const ScoreIndex& s);
Curve gain_curve(const ScoreIndex& s);
/// scikit-learn's average_precision_score: Σ (R_k − R_{k−1})·P_k over the distinct scores.
double average_precision(const ScoreIndex& s);
/// The exact area under the full ROC (= Mann–Whitney AUC, ties count half).
double roc_auc(const ScoreIndex& s);

/// How a decision threshold is chosen on validation data.
enum class ThresholdRule { Fixed, MaxF1, MaxKs };
const char* to_string(ThresholdRule r);
/// Where a threshold may be chosen: FATE's 0.00…0.99 and the log-odds grid sigmoid(k/20),
/// k = −200…200, sorted ascending — fine in both tails, where imbalanced data puts its best
/// thresholds (class weights push frauds' scores towards 1).
std::vector<double> threshold_candidates();
/// The threshold of `table` with the highest F1 (MaxF1) or TPR − FPR (MaxKs), the lowest on ties.
double choose_threshold(const ConfusionTable& table, ThresholdRule rule);

/// Everything above for one scored data set as a YAML mapping: samples, positives, auc, ks,
/// accuracy, precision, recall, f1 and confusion at `threshold`, average_precision, and
/// curves: roc, ks, pr, lift, gain, confusion_mat (+ f1), histogram (50 bins of [0, 1] per class).
/// Data with one class only gets the counts and a note instead (AUC and the curves need both).
YAML::Node evaluation_yaml(const std::vector<double>& labels, const std::vector<double>& scores, double threshold);

}  // namespace fatectl::ml
