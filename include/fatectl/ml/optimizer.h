#pragma once
// FATE 1.11's optimizers (sgd, rmsprop, adagrad, adam, nesterov_momentum_sgd) with its decayed
// learning rate, the L1/L2 update rules and the weight initialisation methods.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <vector>

#include "fatectl/ml/params.h"

namespace fatectl::ml {

/// lr_t = lr / sqrt(1 + decay·t) (decay_sqrt) or lr / (1 + decay·t); t = epoch index from 0.
double decayed_lr(const LrParams& p, long epoch);

/// Turns a (regularised) gradient into the step Δ that the party subtracts from its weights.
/// Element-wise, so running it on a slice gives that slice of the full result.
class Optimizer {
 public:
  explicit Optimizer(const LrParams& p) : p_(p) {}
  /// Δ for gradient g at epoch `epoch` (the state grows to g's size on first use).
  std::vector<double> step(const std::vector<double>& g, long epoch);
  YAML::Node state() const;
  void load_state(const YAML::Node& n);

 private:
  LrParams p_;
  std::vector<double> m_, v_;
  long steps_ = 0;
};

/// w ← update(w, Δ): plain w − Δ for L2/none; for L1 the soft threshold
/// sign(w−Δ)·max(0, |w−Δ| − α·lr/sqrt(max(t,1))) on coefficients (the intercept, when
/// `last_is_intercept`, just gets −Δ).
void apply_update(std::vector<double>& w, const std::vector<double>& delta, const LrParams& p, long epoch,
                  bool last_is_intercept);

/// Penalty value added to the loss: ½α‖coef‖² (L2), α·Σ|coef| (L1), 0 (none).
double penalty_value(const std::vector<double>& w, const LrParams& p, bool last_is_intercept);
/// Penalty gradient added to the data gradient: α·coef (L2), else 0; intercept excluded.
std::vector<double> penalty_gradient(const std::vector<double>& w, const LrParams& p, bool last_is_intercept);

/// Initial weights: `n` values drawn in order from the stream "init/<who>" of the seed.
std::vector<double> init_weights(const LrParams& p, uint64_t seed, const std::string& who, size_t n);

}  // namespace fatectl::ml
