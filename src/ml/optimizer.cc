#include "fatectl/ml/optimizer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "fatectl/core/error.h"
#include "fatectl/ml/rng.h"

namespace fatectl::ml {

double decayed_lr(const LrParams& p, long epoch) {
  double t = static_cast<double>(epoch);
  return p.decay_sqrt ? p.learning_rate / std::sqrt(1.0 + p.decay * t) : p.learning_rate / (1.0 + p.decay * t);
}

std::vector<double> Optimizer::step(const std::vector<double>& g, long epoch) {
  const size_t n = g.size();
  if (m_.size() != n) m_.assign(n, 0.0);
  if (v_.size() != n) v_.assign(n, 0.0);
  ++steps_;
  double lr = decayed_lr(p_, epoch);
  std::vector<double> d(n);
  switch (p_.optimizer) {
    case OptimizerKind::Sgd:
      for (size_t i = 0; i < n; ++i) d[i] = lr * g[i];
      break;
    case OptimizerKind::RmsProp:
      for (size_t i = 0; i < n; ++i) {
        m_[i] = 0.99 * m_[i] + 0.01 * g[i] * g[i];
        d[i] = lr * g[i] / std::sqrt(m_[i] + 1e-6);
      }
      break;
    case OptimizerKind::Adagrad:
      for (size_t i = 0; i < n; ++i) {
        m_[i] += g[i] * g[i];
        d[i] = lr * g[i] / (std::sqrt(m_[i]) + 1e-7);
      }
      break;
    case OptimizerKind::Adam: {
      const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
      double c1 = 1.0 - std::pow(b1, static_cast<double>(steps_));
      double c2 = 1.0 - std::pow(b2, static_cast<double>(steps_));
      for (size_t i = 0; i < n; ++i) {
        m_[i] = b1 * m_[i] + (1 - b1) * g[i];
        v_[i] = b2 * v_[i] + (1 - b2) * g[i] * g[i];
        d[i] = lr * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + eps);
      }
      break;
    }
    case OptimizerKind::NesterovMomentumSgd: {
      const double mu = 0.9;
      for (size_t i = 0; i < n; ++i) {
        double prev = m_[i];
        m_[i] = mu * prev - lr * g[i];
        d[i] = mu * prev - (1 + mu) * m_[i];
      }
      break;
    }
  }
  return d;
}

YAML::Node Optimizer::state() const {
  YAML::Node n;
  n["steps"] = steps_;
  n["m"] = YAML::Node(YAML::NodeType::Sequence);
  n["v"] = YAML::Node(YAML::NodeType::Sequence);
  auto num = [](double x) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", x);
    return YAML::Node(std::string(b));
  };
  for (double x : m_) n["m"].push_back(num(x));
  for (double x : v_) n["v"].push_back(num(x));
  return n;
}

void Optimizer::load_state(const YAML::Node& n) {
  steps_ = n["steps"].as<long>();
  m_.clear();
  v_.clear();
  for (const auto& x : n["m"]) m_.push_back(std::strtod(x.Scalar().c_str(), nullptr));
  for (const auto& x : n["v"]) v_.push_back(std::strtod(x.Scalar().c_str(), nullptr));
}

void apply_update(std::vector<double>& w, const std::vector<double>& delta, const LrParams& p, long epoch,
                  bool last_is_intercept) {
  if (w.size() != delta.size()) throw failed("internal: weight and step sizes differ");
  size_t ncoef = last_is_intercept ? w.size() - 1 : w.size();
  if (p.penalty == Penalty::L1) {
    double shrink = p.alpha * p.learning_rate / std::sqrt(static_cast<double>(std::max<long>(epoch, 1)));
    for (size_t i = 0; i < ncoef; ++i) {
      double u = w[i] - delta[i];
      double s = (u > 0) - (u < 0);
      w[i] = s * std::max(0.0, std::fabs(u) - shrink);
    }
    for (size_t i = ncoef; i < w.size(); ++i) w[i] -= delta[i];
  } else {
    for (size_t i = 0; i < w.size(); ++i) w[i] -= delta[i];
  }
}

double penalty_value(const std::vector<double>& w, const LrParams& p, bool last_is_intercept) {
  size_t ncoef = last_is_intercept ? w.size() - 1 : w.size();
  double s = 0;
  if (p.penalty == Penalty::L2) {
    for (size_t i = 0; i < ncoef; ++i) s += w[i] * w[i];
    return 0.5 * p.alpha * s;
  }
  if (p.penalty == Penalty::L1) {
    for (size_t i = 0; i < ncoef; ++i) s += std::fabs(w[i]);
    return p.alpha * s;
  }
  return 0;
}

std::vector<double> penalty_gradient(const std::vector<double>& w, const LrParams& p, bool last_is_intercept) {
  std::vector<double> g(w.size(), 0.0);
  if (p.penalty != Penalty::L2) return g;
  size_t ncoef = last_is_intercept ? w.size() - 1 : w.size();
  for (size_t i = 0; i < ncoef; ++i) g[i] = p.alpha * w[i];
  return g;
}

std::vector<double> init_weights(const LrParams& p, uint64_t seed, const std::string& who, size_t n) {
  std::vector<double> w(n, 0.0);
  Rng rng(seed, "init/" + who);
  for (size_t i = 0; i < n; ++i) {
    switch (p.init_method) {
      case InitMethod::RandomUniform: w[i] = rng.uniform(); break;
      case InitMethod::RandomNormal: w[i] = rng.normal(); break;
      case InitMethod::Zeros: w[i] = 0; break;
      case InitMethod::Ones: w[i] = 1; break;
      case InitMethod::Const: w[i] = p.init_const; break;
    }
  }
  return w;
}

}  // namespace fatectl::ml
