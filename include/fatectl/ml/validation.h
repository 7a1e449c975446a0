#pragma once
// Validation during training with FATE 1.11's callback parameters and rules
// (ValidationStrategy, PerformanceRecorder): validation_freqs, early_stopping_rounds, metrics,
// use_first_metric_only, the best-iteration model kept per metric — plus fatectl's
// choose_threshold (max F1 or max KS on the validation data).
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/ml/evaluation.h"

namespace fatectl::ml {

/// algorithm.params.{validation_freqs, early_stopping_rounds, metrics, use_first_metric_only,
/// choose_threshold} (also inside callback_param, as FATE writes them).
struct ValidationParams {
  long every = 0;             ///< validation_freqs: n → after epochs n, 2n, … (0 = none)
  std::set<long> at;          ///< validation_freqs: [e, …] → after the epochs with these 0-based indexes
  long early_stopping_rounds = 0;
  std::vector<std::string> metrics{"auc", "ks"};  ///< FATE's single-value binary metrics
  bool use_first_metric_only = false;
  ThresholdRule threshold = ThresholdRule::Fixed;
  Location where;

  bool enabled() const { return every > 0 || !at.empty(); }
  /// FATE: (epoch + 1) % freq == 0, or epoch in the list (epoch counted from 0).
  bool need_run(long epoch) const;
  /// The metrics that decide early stopping (the first only with use_first_metric_only).
  std::vector<std::string> tracked() const;
  static ValidationParams parse(const YAML::Node& params, const std::string& file);
};

/// What one validation decided: which tracked metrics improved (bit i = tracked()[i]), whether to
/// stop, and which metric ran out of rounds.
struct Verdict {
  uint64_t improved = 0;
  bool stop = false;
  int stop_metric = -1;
};

/// FATE's PerformanceRecorder with ValidationStrategy's early-stopping check.
class EarlyStopping {
 public:
  explicit EarlyStopping(const ValidationParams& p) : p_(p), metrics_(p.tracked()) {}
  /// Records the values (auc, ks, …) of a validation after `epoch` (0-based).
  Verdict update(long epoch, const std::map<std::string, double>& values);
  YAML::Node state() const;
  void load_state(const YAML::Node& n);
  const std::vector<std::string>& metrics() const { return metrics_; }

 private:
  ValidationParams p_;
  std::vector<std::string> metrics_;
  std::map<std::string, double> best_;
  std::map<std::string, long> no_improvement_;
};

/// A party's model at the best validation of each tracked metric; at the end FATE keeps the best
/// model of the metric that stopped training, else of the first metric (only with early stopping).
class BestModels {
 public:
  explicit BestModels(size_t metrics = 0) : w_(metrics), epoch_(metrics, -1) {}
  void record(const Verdict& v, const std::vector<double>& w, long epoch);
  /// The weights to keep (nullptr: keep the last ones) and the 0-based epoch they come from.
  const std::vector<double>* final(const Verdict& last, long* epoch) const;
  YAML::Node state() const;
  void load_state(const YAML::Node& n);

 private:
  std::vector<std::vector<double>> w_;
  std::vector<long> epoch_;
};

/// The verdict in a checkpoint, and back (a missing node is "no validation yet").
YAML::Node verdict_yaml(const Verdict& v);
Verdict verdict_from(const YAML::Node& n);
/// The verdict on the wire (WireWriter fields: improved, stop, stop_metric + 1).
std::string encode(const Verdict& v);
Verdict decode_verdict(const std::string& payload);

}  // namespace fatectl::ml
