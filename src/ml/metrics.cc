#include "fatectl/ml/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fatectl/core/error.h"

namespace fatectl::ml {

double sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  double e = std::exp(z);
  return e / (1.0 + e);
}

double auc(const std::vector<double>& labels, const std::vector<double>& scores) {
  const size_t n = labels.size();
  if (scores.size() != n) throw failed("internal: labels and scores differ in length");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann–Whitney U with average ranks for ties.
  double rank_sum_pos = 0;
  size_t npos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] == 1) {
        rank_sum_pos += avg_rank;
        ++npos;
      }
    i = j;
  }
  size_t nneg = n - npos;
  if (npos == 0 || nneg == 0) throw invalid("AUC is undefined when only one class is present");
  double p = static_cast<double>(npos), q = static_cast<double>(nneg);
  return (rank_sum_pos - p * (p + 1) / 2.0) / (p * q);
}

double ks(const std::vector<double>& labels, const std::vector<double>& scores) {
  const size_t n = labels.size();
  std::vector<double> sorted(scores);
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  size_t P = 0;
  for (double y : labels) P += (y == 1);
  size_t Nn = n - P;
  if (P == 0 || Nn == 0) throw invalid("KS is undefined when only one class is present");
  // Sort samples by score descending once; count positives/negatives strictly above each threshold.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double best = 0;
  for (int k = 0; k < 100; ++k) {
    size_t idx = static_cast<size_t>(static_cast<double>(n) * (k / 100.0));  // FATE: int(n * (k/100))
    if (idx >= n) idx = n - 1;
    double t = sorted[idx];
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < n && scores[order[i]] > t; ++i) (labels[order[i]] == 1 ? tp : fp)++;
    double v = static_cast<double>(tp) / P - static_cast<double>(fp) / Nn;
    if (k == 0 || v > best) best = v;
  }
  return best;
}

Metrics evaluate(const std::vector<double>& labels, const std::vector<double>& scores, double threshold) {
  Metrics m;
  m.n = labels.size();
  m.threshold = threshold;
  for (size_t i = 0; i < m.n; ++i) {
    bool pos = labels[i] == 1, pred = scores[i] > threshold;
    if (pos) ++m.positives;
    if (pos && pred) ++m.tp;
    else if (!pos && pred) ++m.fp;
    else if (!pos && !pred) ++m.tn;
    else ++m.fn;
  }
  m.auc = auc(labels, scores);
  m.ks = ks(labels, scores);
  m.accuracy = m.n ? static_cast<double>(m.tp + m.tn) / m.n : 0;
  m.precision = (m.tp + m.fp) ? static_cast<double>(m.tp) / (m.tp + m.fp) : 1.0;  // FATE: 1.0 when nothing flagged
  m.recall = (m.tp + m.fn) ? static_cast<double>(m.tp) / (m.tp + m.fn) : 0.0;
  double den = m.precision + m.recall;
  m.f1 = 2 * m.precision * m.recall / (den == 0 ? 1e-6 : den);
  return m;
}

YAML::Node Metrics::to_yaml() const {
  YAML::Node y;
  y["samples"] = n;
  y["positives"] = positives;
  y["auc"] = auc;
  y["ks"] = ks;
  y["accuracy"] = accuracy;
  y["precision"] = precision;
  y["recall"] = recall;
  y["f1"] = f1;
  y["threshold"] = threshold;
  y["confusion"]["tp"] = tp;
  y["confusion"]["fp"] = fp;
  y["confusion"]["tn"] = tn;
  y["confusion"]["fn"] = fn;
  return y;
}

}  // namespace fatectl::ml
