#include "fatectl/ml/evaluation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/ml/metrics.h"

namespace fatectl::ml {
namespace {

YAML::Node seq(const std::vector<double>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (double x : v) n.push_back(x);
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}
YAML::Node seq(const std::vector<uint64_t>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (uint64_t x : v) n.push_back(x);
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}
YAML::Node curve_yaml(const Curve& c, const char* xname, const char* yname) {
  YAML::Node n;
  n[xname] = seq(c.x);
  n[yname] = seq(c.y);
  n["thresholds"] = seq(c.thresholds);
  return n;
}

// For every distinct x (in order of first appearance) the point with the highest y, as FATE's
// evaluation does before it saves lift, gain and PR curves.
Curve best_y_per_x(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& t) {
  Curve c;
  for (size_t i = 0; i < x.size(); ++i) {
    auto it = std::find(c.x.begin(), c.x.end(), x[i]);
    if (it == c.x.end()) {
      c.x.push_back(x[i]);
      c.y.push_back(y[i]);
      c.thresholds.push_back(t[i]);
    } else {
      size_t k = static_cast<size_t>(it - c.x.begin());
      if (c.y[k] < y[i]) {
        c.y[k] = y[i];
        c.thresholds[k] = t[i];
      }
    }
  }
  return c;
}

}  // namespace

ScoreIndex::ScoreIndex(const std::vector<double>& labels, const std::vector<double>& scores) {
  const size_t n = labels.size();
  if (scores.size() != n) throw failed("internal: labels and scores differ in length");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  desc_.resize(n);
  cum_pos_.assign(n + 1, 0);
  for (size_t k = 0; k < n; ++k) {
    desc_[k] = scores[order[k]];
    cum_pos_[k + 1] = cum_pos_[k] + (labels[order[k]] == 1 ? 1 : 0);
  }
  pos_ = cum_pos_[n];
  if (pos_ == 0 || pos_ == n)
    throw invalid("evaluation needs both classes: the data has " + std::to_string(pos_) + " positive and " +
                  std::to_string(n - pos_) + " negative rows");
}

std::pair<size_t, size_t> ScoreIndex::above(double t) const {
  // desc_ is descending: the first index whose score is not > t.
  size_t k = static_cast<size_t>(std::partition_point(desc_.begin(), desc_.end(), [&](double s) { return s > t; }) -
                                 desc_.begin());
  return {cum_pos_[k], k - cum_pos_[k]};
}

ConfusionTable ScoreIndex::confusion(const std::vector<double>& thresholds) const {
  ConfusionTable c;
  c.thresholds = thresholds;
  for (double t : thresholds) {
    auto [tp, fp] = above(t);
    c.tp.push_back(tp);
    c.fp.push_back(fp);
    c.fn.push_back(pos_ - tp);
    c.tn.push_back(negatives() - fp);
  }
  return c;
}

std::vector<double> ConfusionTable::f1() const {
  std::vector<double> out;
  for (size_t i = 0; i < tp.size(); ++i) {
    double p = tp[i] + fp[i] ? static_cast<double>(tp[i]) / static_cast<double>(tp[i] + fp[i]) : 1.0;
    double r = tp[i] + fn[i] ? static_cast<double>(tp[i]) / static_cast<double>(tp[i] + fn[i]) : 0.0;
    double den = p + r;
    out.push_back(2 * p * r / (den == 0 ? 1e-6 : den));
  }
  return out;
}

std::vector<double> ConfusionTable::ks() const {
  std::vector<double> out;
  for (size_t i = 0; i < tp.size(); ++i) {
    double P = static_cast<double>(tp[i] + fn[i]), N = static_cast<double>(fp[i] + tn[i]);
    out.push_back((P ? tp[i] / P : 0.0) - (N ? fp[i] / N : 0.0));
  }
  return out;
}

ConfusionTable confusion_table(const std::vector<double>& labels, const std::vector<double>& scores,
                               const std::vector<double>& thresholds) {
  ConfusionTable c;
  c.thresholds = thresholds;
  for (double t : thresholds) {
    uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < scores.size(); ++i) {
      bool pos = labels[i] == 1, pred = scores[i] > t;
      (pos ? (pred ? tp : fn) : (pred ? fp : tn))++;
    }
    c.tp.push_back(tp);
    c.fp.push_back(fp);
    c.fn.push_back(fn);
    c.tn.push_back(tn);
  }
  return c;
}

std::vector<double> flatten(const ConfusionTable& t) {
  std::vector<double> v;
  for (auto* col : {&t.tp, &t.fp, &t.fn, &t.tn})
    for (uint64_t x : *col) v.push_back(static_cast<double>(x));
  return v;
}

ConfusionTable unflatten(const std::vector<double>& v, const std::vector<double>& thresholds) {
  const size_t k = thresholds.size();
  if (v.size() != 4 * k) throw failed("internal: confusion table of the wrong size");
  ConfusionTable t;
  t.thresholds = thresholds;
  for (size_t i = 0; i < k; ++i) {
    t.tp.push_back(static_cast<uint64_t>(std::llround(v[i])));
    t.fp.push_back(static_cast<uint64_t>(std::llround(v[k + i])));
    t.fn.push_back(static_cast<uint64_t>(std::llround(v[2 * k + i])));
    t.tn.push_back(static_cast<uint64_t>(std::llround(v[3 * k + i])));
  }
  return t;
}

std::vector<double> fixed_thresholds() {
  std::vector<double> t;
  for (int i = 0; i < 100; ++i) t.push_back(static_cast<double>(i) * 0.01);
  return t;
}

std::vector<double> step_thresholds(const ScoreIndex& s) {
  std::vector<double> distinct;
  for (double v : s.sorted())
    if (distinct.empty() || distinct.back() != v) distinct.push_back(v);
  std::vector<double> out;
  const double size = static_cast<double>(distinct.size());
  for (int i = 0; i < 100; ++i) out.push_back(distinct[static_cast<size_t>(size * (static_cast<double>(i) * 0.01))]);
  return out;
}

std::vector<double> index_thresholds(const ScoreIndex& s) {
  std::vector<double> out;
  const double n = static_cast<double>(s.size());
  for (int k = 0; k < 100; ++k) out.push_back(s.sorted()[static_cast<size_t>(n * (k / 100.0))]);
  return out;
}

Curve roc_curve(const ScoreIndex& s) {
  const auto& d = s.sorted();
  const auto& cp = s.cum_pos();
  const size_t n = d.size();
  // scikit-learn's _binary_clf_curve: one point per distinct score.
  std::vector<double> tps, fps, thr;
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n && d[i + 1] == d[i]) continue;
    tps.push_back(static_cast<double>(cp[i + 1]));
    fps.push_back(static_cast<double>(i + 1 - cp[i + 1]));
    thr.push_back(d[i]);
  }
  // drop_intermediate: keep the ends and every point where the curve bends.
  if (tps.size() > 2) {
    std::vector<double> t2, f2, h2;
    for (size_t i = 0; i < tps.size(); ++i) {
      bool keep = i == 0 || i + 1 == tps.size() || fps[i + 1] - 2 * fps[i] + fps[i - 1] != 0 ||
                  tps[i + 1] - 2 * tps[i] + tps[i - 1] != 0;
      if (keep) {
        t2.push_back(tps[i]);
        f2.push_back(fps[i]);
        h2.push_back(thr[i]);
      }
    }
    tps.swap(t2);
    fps.swap(f2);
    thr.swap(h2);
  }
  tps.insert(tps.begin(), 0.0);
  fps.insert(fps.begin(), 0.0);
  thr.insert(thr.begin(), thr.front() + 1);
  const double P = tps.back(), N = fps.back();
  // FATE: 100 of these thresholds (step cut), duplicates removed, (1, 1) appended.
  Curve c;
  const double size = static_cast<double>(thr.size());
  std::set<std::tuple<double, double, double>> seen;
  for (int i = 0; i < 100; ++i) {
    size_t k = static_cast<size_t>(size * (static_cast<double>(i) * 0.01));
    double fpr = fps[k] / N, tpr = tps[k] / P;
    if (!seen.insert({fpr, tpr, thr[k]}).second) continue;
    c.x.push_back(fpr);
    c.y.push_back(tpr);
    c.thresholds.push_back(thr[k]);
  }
  c.x.push_back(1.0);
  c.y.push_back(1.0);
  c.thresholds.push_back(1.0);
  return c;
}

KsCurve ks_curve(const ScoreIndex& s) {
  KsCurve k;
  k.thresholds = index_thresholds(s);
  auto table = s.confusion(k.thresholds);
  const double P = static_cast<double>(s.positives()), N = static_cast<double>(s.negatives());
  for (int i = 0; i < 100; ++i) {
    k.cuts.push_back(i / 100.0);
    k.tpr.push_back(static_cast<double>(table.tp[i]) / P);
    k.fpr.push_back(static_cast<double>(table.fp[i]) / N);
    double v = k.tpr.back() - k.fpr.back();
    if (i == 0 || v > k.value) k.value = v;
  }
  k.cuts.push_back(1.0);
  k.tpr.push_back(1.0);
  k.fpr.push_back(1.0);
  return k;
}

Curve pr_curve(const ScoreIndex& s) {
  auto t = step_thresholds(s);
  t.push_back(*std::min_element(t.begin(), t.end()) - 0.001);
  auto table = s.confusion(t);
  std::vector<double> recall, precision;
  for (size_t i = 0; i < t.size(); ++i) {
    uint64_t flagged = table.tp[i] + table.fp[i];
    precision.push_back(flagged ? static_cast<double>(table.tp[i]) / static_cast<double>(flagged) : 1.0);
    recall.push_back(static_cast<double>(table.tp[i]) / static_cast<double>(s.positives()));
  }
  return best_y_per_x(recall, precision, t);
}

namespace {
Curve lift_or_gain(const ScoreIndex& s, bool lift) {
  auto t = step_thresholds(s);
  auto table = s.confusion(t);
  const double n = static_cast<double>(s.size()), P = static_cast<double>(s.positives());
  std::vector<double> x, y;
  for (size_t i = 0; i < t.size(); ++i) {
    double flagged = static_cast<double>(table.tp[i] + table.fp[i]);
    x.push_back(flagged / n);
    if (lift) {
      double precision = flagged ? static_cast<double>(table.tp[i]) / flagged : 1.0;
      y.push_back(precision / (P / n));
    } else {
      y.push_back(static_cast<double>(table.tp[i]) / P);
    }
  }
  Curve c = best_y_per_x(x, y, t);
  c.x.push_back(1.0);
  c.y.push_back(1.0);
  c.thresholds.push_back(0.0);
  return c;
}
}  // namespace

Curve lift_curve(const ScoreIndex& s) { return lift_or_gain(s, true); }
Curve gain_curve(const ScoreIndex& s) { return lift_or_gain(s, false); }

double average_precision(const ScoreIndex& s) {
  const auto& d = s.sorted();
  const auto& cp = s.cum_pos();
  const double P = static_cast<double>(s.positives());
  double ap = 0, prev_recall = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i + 1 < d.size() && d[i + 1] == d[i]) continue;
    double tp = static_cast<double>(cp[i + 1]);
    double recall = tp / P, precision = tp / static_cast<double>(i + 1);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  return ap;
}

double roc_auc(const ScoreIndex& s) {
  // Trapezoids between consecutive distinct scores: exact, ties count half.
  const auto& d = s.sorted();
  const auto& cp = s.cum_pos();
  double area = 0, tp0 = 0, fp0 = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i + 1 < d.size() && d[i + 1] == d[i]) continue;
    double tp = static_cast<double>(cp[i + 1]), fp = static_cast<double>(i + 1 - cp[i + 1]);
    area += (fp - fp0) * (tp + tp0) / 2;
    tp0 = tp;
    fp0 = fp;
  }
  return area / (static_cast<double>(s.positives()) * static_cast<double>(s.negatives()));
}

const char* to_string(ThresholdRule r) {
  switch (r) {
    case ThresholdRule::Fixed: return "fixed";
    case ThresholdRule::MaxF1: return "max_f1";
    case ThresholdRule::MaxKs: return "max_ks";
  }
  return "?";
}

std::vector<double> threshold_candidates() {
  std::vector<double> t = fixed_thresholds();
  for (int k = -200; k <= 200; ++k) t.push_back(sigmoid(k / 20.0));
  std::sort(t.begin(), t.end());
  t.erase(std::unique(t.begin(), t.end()), t.end());
  return t;
}

double choose_threshold(const ConfusionTable& table, ThresholdRule rule) {
  if (table.thresholds.empty()) throw failed("internal: no thresholds to choose from");
  auto v = rule == ThresholdRule::MaxKs ? table.ks() : table.f1();
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[best]) best = i;
  return table.thresholds[best];
}

YAML::Node evaluation_yaml(const std::vector<double>& labels, const std::vector<double>& scores, double threshold) {
  size_t pos = 0;
  for (double y : labels) pos += (y == 1);
  if (pos == 0 || pos == labels.size()) {
    // A homo client may legitimately hold one class: accuracy and the confusion counts still mean
    // something, AUC, KS and the curves do not.
    size_t flagged = 0;
    for (double sc : scores) flagged += (sc > threshold);
    YAML::Node y;
    y["samples"] = labels.size();
    y["positives"] = pos;
    y["one_class"] = true;
    y["threshold"] = threshold;
    y["note"] = "one class only: AUC, KS and the curves need positive and negative rows";
    y["accuracy"] = labels.empty() ? 0.0 : double(pos ? flagged : labels.size() - flagged) / double(labels.size());
    y["confusion"]["tp"] = pos ? flagged : 0;
    y["confusion"]["fp"] = pos ? 0 : flagged;
    y["confusion"]["tn"] = pos ? 0 : labels.size() - flagged;
    y["confusion"]["fn"] = pos ? labels.size() - flagged : 0;
    return y;
  }
  ScoreIndex s(labels, scores);
  YAML::Node y = evaluate(labels, scores, threshold).to_yaml();
  y["average_precision"] = average_precision(s);
  YAML::Node c;
  c["roc"] = curve_yaml(roc_curve(s), "fpr", "tpr");
  KsCurve k = ks_curve(s);
  c["ks"]["cuts"] = seq(k.cuts);
  c["ks"]["tpr"] = seq(k.tpr);
  c["ks"]["fpr"] = seq(k.fpr);
  c["ks"]["thresholds"] = seq(k.thresholds);
  c["pr"] = curve_yaml(pr_curve(s), "recall", "precision");
  c["lift"] = curve_yaml(lift_curve(s), "x", "lift");
  c["gain"] = curve_yaml(gain_curve(s), "x", "gain");
  ConfusionTable t = s.confusion(fixed_thresholds());
  c["confusion_mat"]["thresholds"] = seq(t.thresholds);
  c["confusion_mat"]["tp"] = seq(t.tp);
  c["confusion_mat"]["fp"] = seq(t.fp);
  c["confusion_mat"]["fn"] = seq(t.fn);
  c["confusion_mat"]["tn"] = seq(t.tn);
  c["confusion_mat"]["f1"] = seq(t.f1());
  constexpr int kBins = 50;
  std::vector<uint64_t> hp(kBins, 0), hn(kBins, 0);
  std::vector<double> edges;
  for (int b = 0; b <= kBins; ++b) edges.push_back(static_cast<double>(b) / kBins);
  for (size_t i = 0; i < scores.size(); ++i) {
    int b = std::clamp(static_cast<int>(std::floor(scores[i] * kBins)), 0, kBins - 1);
    (labels[i] == 1 ? hp : hn)[b]++;
  }
  c["histogram"]["edges"] = seq(edges);
  c["histogram"]["positive"] = seq(hp);
  c["histogram"]["negative"] = seq(hn);
  y["curves"] = c;
  return y;
}

}  // namespace fatectl::ml
