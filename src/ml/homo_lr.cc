// Homo (horizontal) logistic regression: guest and hosts are clients with the same features,
// each trains on its own rows, and every aggregate_iters epochs the arbiter averages their
// models weighted by sample count through secure aggregation (pairwise X25519 pads), as FATE
// 1.11's homo_lr with secure_aggregate=True. Before training each client prepares its data
// (prep.h; statistics local as in FATE, or federated through secure sums: homo_aggregate.cc),
// weights its rows (sample_weight.h); validation and early stopping follow validation.h.
#include <algorithm>
#include <cstdio>
#include <cmath>
#include <numeric>
#include <sstream>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ml/data_checks.h"
#include "fatectl/ml/evaluation.h"
#include "fatectl/ml/metrics.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/secure_agg.h"
#include "fatectl/ml/wire.h"
#include "homo_common.h"
#include "outputs.h"
#include "protocols.h"

namespace fatectl::ml::detail {
namespace {

std::string E(long e) { return "homo/e" + std::to_string(e); }

bool aggregate_round(const LrParams& prm, long e) {
  return (e + 1) % prm.aggregate_iters == 0 || e + 1 == prm.max_iter;
}

/// Validation runs on the averaged model: at aggregation epochs that validation_freqs selects.
bool validation_round(const MlJob& job, long e) {
  return job.validation.enabled() && aggregate_round(job.params, e) && job.validation.need_run(e);
}

std::vector<long> clients(const MlJob& job) {
  std::vector<long> c{job.guest};
  c.insert(c.end(), job.hosts.begin(), job.hosts.end());
  return c;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += x + ",";
  return s;
}

std::vector<std::string> split_names(const std::string& joined) {  // inverse of join()
  std::vector<std::string> v;
  size_t a = 0;
  for (size_t c; (c = joined.find(',', a)) != std::string::npos; a = c + 1) v.push_back(joined.substr(a, c - a));
  return v;
}

std::vector<double> scores(const Dataset& d, const std::vector<double>& w, bool icpt) {
  std::vector<double> z(d.rows());
  for (size_t i = 0; i < d.rows(); ++i) {
    double s = icpt ? w[d.cols()] : 0.0;
    for (size_t j = 0; j < d.cols(); ++j) s += d.row(i)[j] * w[j];
    z[i] = sigmoid(s);
  }
  return z;
}

/// Which column makes |w·x| largest, for an error about a value too large to aggregate.
std::string largest_term(const Dataset& d, const std::vector<double>& w) {
  size_t best = 0;
  double top = -1;
  for (size_t j = 0; j < d.cols(); ++j)
    for (size_t i = 0; i < d.rows(); ++i) {
      double t = std::fabs(w[j] * d.row(i)[j]);
      if (t > top) {
        top = t;
        best = j;
      }
    }
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", top);
  return "column '" + d.feature_names[best] + "' makes |coefficient × value| reach " + b;
}

void client(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  Dataset d = p.training_data();
  if (std::string leak = label_copy_problem(d, job.label_column); !leak.empty()) throw invalid(leak);
  std::optional<Dataset> v;
  if (job.has_data(p.self, 1)) v = load_csv(job.data_spec(p.self, 1));
  if (v && v->feature_names != d.feature_names) throw invalid(v->file + ":1: the feature columns differ from the training file's");
  if (d.generated_ids) p.log("no id column '" + job.id_column + "': rows are numbered from 0");
  const size_t N = d.rows(), cols = d.cols();
  const bool icpt = prm.fit_intercept;
  const size_t nw = cols + (icpt ? 1 : 0);
  long have = p.opts.resume ? p.checkpoint_epochs() : 0;
  {
    WireWriter w;
    w.i64(have).u64(N).str(join(d.feature_names));
    p.send(job.arbiter, "homo/ready", w.take());
  }
  // Pairwise X25519 agreement, directly between clients (the arbiter never sees the keys).
  PadCipher pads;
  auto peers = clients(job);
  for (long q : peers)
    if (q != p.self) p.send(q, "homo/pub", pads.public_key());
  for (long q : peers)
    if (q != p.self) pads.add_peer(q, p.recv(q, "homo/pub"));
  // Preparation and weights, with the clients' statistics added up when they are federated.
  int rounds = 0;
  StatSum sum = local_sum();
  if (job.prep.statistics == StatsScope::Federated)
    sum = [&](const std::vector<double>& local, const std::string& what) {
      return homo::secure_sum(p, pads, "stat" + std::to_string(++rounds), local, what);
    };
  FittedPrep fp = fit_cells(job.prep, d, sum);
  fit_scale(job.prep, d, sum, fp);
  if (v) fp.apply(*v);
  WeightSummary ws;
  const std::vector<double> sw = sample_weights(job.weights, d, sum, &ws);
  if (rounds != homo::stat_rounds(job)) throw failed("internal: preparation took " + std::to_string(rounds) + " secure sums");
  WireReader sr(p.recv(job.arbiter, "homo/setup"), "setup");
  long start = sr.i64();
  uint64_t seed = sr.u64();
  bool converged = sr.u64() != 0;
  sr.done();

  std::vector<double> w;
  Optimizer opt(prm);
  BestModels best(job.validation.tracked().size());
  Verdict last;
  std::vector<HistoryEntry> history;
  if (start > 0) {
    YAML::Node ck = p.load_checkpoint(start);
    w = from_seq(ck["weights"]);
    opt.load_state(ck["optimizer"]);
    best.load_state(ck["validation"]["best"]);
    last = verdict_from(ck["validation"]["last"]);
    history = history_from(ck["history"]);
    p.log("resumed after epoch " + std::to_string(start));
  } else {
    w = init_weights(prm, seed, "homo", nw);
  }
  const size_t bs = prm.batch_size < 0 ? N : std::min<size_t>(static_cast<size_t>(prm.batch_size), N);
  long e = start;
  p.mark_loop_start();
  for (; e < prm.max_iter && !converged; ++e) {
    std::vector<size_t> order(N);
    std::iota(order.begin(), order.end(), 0);
    if (prm.shuffle && bs < N) {
      Rng r(seed, "shuffle/" + std::to_string(p.self) + "/epoch/" + std::to_string(e));
      r.shuffle(order);
    }
    double loss_sum = 0;
    size_t nb = 0;
    for (size_t a = 0; a < N; a += bs, ++nb) {
      size_t z = std::min(N, a + bs);
      std::vector<double> g(nw, 0.0);
      double loss = 0, wsum = 0;  // weighted: Σ w·∇l / Σ w and Σ w·l / Σ w (FATE's WeightedBCE)
      for (size_t k = a; k < z; ++k) {
        const double* x = d.row(order[k]);
        double s = icpt ? w[cols] : 0.0;
        for (size_t j = 0; j < cols; ++j) s += x[j] * w[j];
        double y = d.labels[order[k]];
        double wi = sw.empty() ? 1.0 : sw[order[k]];
        double r = wi * (sigmoid(s) - y);
        for (size_t j = 0; j < cols; ++j) g[j] += r * x[j];
        if (icpt) g[cols] += r;
        double t = (y == 1 ? 1.0 : -1.0) * s;  // log(1 + e^-t), stable
        loss += wi * (std::max(-t, 0.0) + std::log1p(std::exp(-std::fabs(t))));
        wsum += wi;
      }
      const double den = wsum > 0 ? wsum : 1.0;
      auto pg = penalty_gradient(w, prm, icpt);
      for (size_t j = 0; j < nw; ++j) g[j] = g[j] / den + pg[j];
      loss_sum += loss / den + penalty_value(w, prm, icpt);
      auto delta = opt.step(g, e);
      apply_update(w, delta, prm, e, icpt);
    }
    double epoch_loss = loss_sum / static_cast<double>(nb);
    bool has_loss = false;
    double agg_loss = 0;
    if (aggregate_round(prm, e)) {
      std::vector<uint64_t> vec;
      for (size_t j = 0; j < w.size(); ++j)
        vec.push_back(homo::model_fixed(w[j] * static_cast<double>(N),
                                        j < cols ? "coefficient of column '" + d.feature_names[j] + "'" : "intercept"));
      const double loss_n = epoch_loss * static_cast<double>(N);
      vec.push_back(homo::model_fixed(loss_n, std::fabs(std::ldexp(loss_n, 32)) < 0x1p62 ? "training loss"
                                                                                     : "training loss (" + largest_term(d, w) + ")"));
      WireWriter aw;
      aw.u64(N).u64s(pads.mask(p.self, job.id, e, vec));
      p.send(job.arbiter, E(e) + "/agg", aw.take());
      WireReader r(p.recv(job.arbiter, E(e) + "/model"), "model");
      w = r.f64s();
      agg_loss = r.f64();
      converged = r.u64() != 0;
      r.done();
      if (w.size() != nw) throw failed("arbiter sent a model of the wrong size");
      has_loss = true;
    }
    HistoryEntry he;
    he.epoch = e + 1;
    if (has_loss) he.loss = agg_loss;
    if (validation_round(job, e)) {
      std::vector<double> local(3, 0.0);  // Σ n·auc, Σ n·ks, n: the arbiter learns the weighted means only
      if (v && !v->labels.empty()) {
        auto vs = scores(*v, w, icpt);
        size_t pos = 0;
        for (double y : v->labels) pos += (y == 1);
        if (pos > 0 && pos < v->rows()) {
          he.local = validation_metrics(v->labels, vs);
          double nv = static_cast<double>(v->rows());
          local = {nv * he.local["auc"], nv * he.local["ks"], nv};
        }
      }
      homo::send_padded(p, pads, "valid" + std::to_string(e), local, "validation metrics");
      WireReader r(p.recv(job.arbiter, E(e) + "/verdict"), "verdict");
      last = decode_verdict(r.str());
      he.validate["auc"] = r.f64();
      he.validate["ks"] = r.f64();
      r.done();
      best.record(last, w, e);
      if (last.stop) converged = true;
    }
    history.push_back(he);
    YAML::Node ck;
    ck["weights"] = to_seq(w);
    ck["optimizer"] = opt.state();
    ck["validation"]["best"] = best.state();
    ck["validation"]["last"] = verdict_yaml(last);
    ck["history"] = history_yaml(history);
    p.save_checkpoint(e + 1, ck);
    p.report_epoch(e + 1, has_loss, agg_loss, converged);
    p.maybe_stop(e + 1);
  }
  long best_epoch = -1;
  if (job.validation.early_stopping_rounds > 0)
    if (const auto* bw = best.final(last, &best_epoch)) w = *bw;
  double thr = prm.threshold;
  std::vector<double> vs;
  if (v) vs = scores(*v, w, icpt);
  if (job.validation.threshold != ThresholdRule::Fixed) {
    // Every client's confusion counts at FATE's thresholds, added up: the pooled validation table.
    auto t = threshold_candidates();
    std::vector<double> local(4 * t.size(), 0.0);
    if (v) local = flatten(confusion_table(v->labels, vs, t));
    thr = choose_threshold(unflatten(homo::secure_sum(p, pads, "threshold", local, "confusion counts"), t),
                           job.validation.threshold);
    p.log("threshold " + std::to_string(thr) + " (" + to_string(job.validation.threshold) + " on the validation data)");
  }
  YAML::Node metrics = metrics_head(job, e, converged, last, best_epoch, thr, ws);
  metrics["train"] = evaluation_yaml(d.labels, scores(d, w, icpt), thr);
  if (v) metrics["validate"] = evaluation_yaml(v->labels, vs, thr);
  metrics["history"] = history_yaml(history);
  YAML::Node m;
  m["format"] = "fatectl-lr-model/1";
  m["algorithm"] = "homo_lr";
  m["job"] = yaml::str(job.id);
  m["role"] = job.role_of(p.self);
  m["party"] = p.self;
  m["epochs"] = e;
  m["converged"] = converged;
  m["fit_intercept"] = icpt;
  m["threshold"] = thr;
  if (best_epoch >= 0) m["best_iteration"] = best_epoch + 1;
  m["id_column"] = yaml::str(job.id_column);
  m["label_column"] = yaml::str(job.label_column);
  YAML::Node f(YAML::NodeType::Sequence);
  for (auto& s : d.feature_names) f.push_back(yaml::str(s));
  m["features"] = f;
  m["coef"] = to_seq(std::vector<double>(w.begin(), w.begin() + cols));
  if (icpt) m["intercept"] = to_seq({w.back()})[0];
  m["preparation"] = fp.to_yaml();
  m["sample_weight"] = ws.to_yaml();
  p.write_file("model.json", yaml::to_json(m) + "\n");
  p.write_file("metrics.json", yaml::to_json(metrics) + "\n");
  p.log("done");
}

void arbiter(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  auto cs = clients(job);
  long start = -1;
  std::string features;
  std::vector<uint64_t> rows;
  for (long q : cs) {
    WireReader r(p.recv(q, "homo/ready"), "ready");
    long have = r.i64();
    rows.push_back(r.u64());
    std::string f = r.str();
    r.done();
    if (features.empty()) features = f;
    else if (f != features)
      throw invalid(job.file + ": homo_lr: compared with " + job.role_of(cs[0]) + " " + std::to_string(cs[0]) + " (" +
                    job.data.at(cs[0]).at(0) + "), " +
                    column_difference(split_names(features), split_names(f),
                                      job.role_of(q) + " " + std::to_string(q) + " (" + job.data.at(q).at(0) + ")"));
    start = start < 0 ? have : std::min(start, have);
  }
  start = std::min(start, p.opts.resume ? p.checkpoint_epochs() : 0L);
  for (int k = 1; k <= homo::stat_rounds(job); ++k) homo::serve_sum(p, cs, "stat" + std::to_string(k));
  uint64_t seed = prm.random_seed ? *prm.random_seed : fresh_seed();
  bool converged = false;
  std::vector<double> losses, prev_w;
  EarlyStopping stopper(job.validation);
  Verdict last;
  std::vector<HistoryEntry> validations;
  if (start > 0) {
    YAML::Node ck = p.load_checkpoint(start);
    seed = ck["seed"].as<uint64_t>();
    converged = ck["converged"].as<bool>();
    losses = from_seq(ck["losses"]);
    prev_w = from_seq(ck["prev_w"]);
    stopper.load_state(ck["validation"]["stopper"]);
    last = verdict_from(ck["validation"]["last"]);
    validations = history_from(ck["validation"]["history"]);
  }
  WireWriter sw;
  sw.i64(start).u64(seed).u64(converged);
  std::string s = sw.take();
  for (long q : cs) p.send(q, "homo/setup", s);
  long e = start;
  p.mark_loop_start();
  for (; e < prm.max_iter && !converged; ++e) {
    bool has_loss = false;
    double loss = 0;
    if (aggregate_round(prm, e)) {
      std::vector<uint64_t> sum;
      uint64_t total = 0;
      for (long q : cs) {
        WireReader r(p.recv(q, E(e) + "/agg"), "agg");
        total += r.u64();
        auto v = r.u64s();
        r.done();
        if (sum.empty()) sum.assign(v.size(), 0);
        if (v.size() != sum.size()) throw failed("party " + std::to_string(q) + " sent a model of a different size");
        for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
      }
      std::vector<double> w(sum.size() - 1);
      for (size_t i = 0; i < w.size(); ++i) w[i] = from_fixed(sum[i]) / static_cast<double>(total);
      loss = from_fixed(sum.back()) / static_cast<double>(total);
      has_loss = true;
      switch (prm.early_stop) {
        case EarlyStop::Diff: converged = !losses.empty() && std::fabs(loss - losses.back()) < prm.tol; break;
        case EarlyStop::Abs: converged = loss <= prm.tol; break;
        case EarlyStop::WeightDiff: {
          if (!prev_w.empty()) {
            double d2 = 0, n2 = 0;
            for (size_t i = 0; i < w.size(); ++i) {
              d2 += (w[i] - prev_w[i]) * (w[i] - prev_w[i]);
              n2 += w[i] * w[i];
            }
            converged = std::sqrt(d2) < prm.tol * std::max(std::sqrt(n2), 1.0);
          }
          break;
        }
      }
      losses.push_back(loss);
      prev_w = w;
      WireWriter mw;
      mw.f64s(w).f64(loss).u64(converged);
      std::string m = mw.take();
      for (long q : cs) p.send(q, E(e) + "/model", m);
    }
    if (validation_round(job, e)) {
      auto s = homo::collect_sum(p, cs, "valid" + std::to_string(e));
      if (!(s[2] > 0))
        throw invalid(job.file + ": validation_freqs: no client has validation rows with both labels (data: [train, validate])");
      HistoryEntry he;
      he.epoch = e + 1;
      he.validate = {{"auc", s[0] / s[2]}, {"ks", s[1] / s[2]}};
      last = stopper.update(e, he.validate);
      validations.push_back(he);
      if (last.stop) converged = true;
      std::string vm = WireWriter().str(encode(last)).f64(he.validate["auc"]).f64(he.validate["ks"]).take();
      for (long q : cs) p.send(q, E(e) + "/verdict", vm);
    }
    YAML::Node ck;
    ck["seed"] = seed;
    ck["converged"] = converged;
    ck["losses"] = to_seq(losses);
    ck["prev_w"] = to_seq(prev_w);
    ck["validation"]["stopper"] = stopper.state();
    ck["validation"]["last"] = verdict_yaml(last);
    ck["validation"]["history"] = history_yaml(validations);
    p.save_checkpoint(e + 1, ck);
    p.report_epoch(e + 1, has_loss, loss, converged);
    p.maybe_stop(e + 1);
  }
  if (job.validation.threshold != ThresholdRule::Fixed) homo::serve_sum(p, cs, "threshold");
  YAML::Node summary;
  summary["job"] = yaml::str(job.id);
  summary["role"] = "arbiter";
  summary["epochs"] = e;
  summary["converged"] = converged;
  summary["seed"] = seed;
  summary["losses"] = to_seq(losses);
  if (job.validation.enabled()) {
    summary["early_stopped"] = last.stop;
    summary["validation"] = history_yaml(validations);
  }
  p.write_file("summary.json", yaml::to_json(summary) + "\n");
  p.log("done");
}

}  // namespace

void homo_train(Party& p) {
  if (p.self == p.job.arbiter) arbiter(p);
  else client(p);
}

void homo_predict(Party& p, const std::string& model_dir) {
  const MlJob& job = p.job;
  if (p.self == job.arbiter) return;
  std::string path = model_dir + "/model.json";
  YAML::Node m = yaml::load_file(path);
  if (!m["format"] || m["format"].Scalar() != "fatectl-lr-model/1") throw invalid(path + ": not a fatectl model file");
  size_t which = job.has_data(p.self, 1) ? 1 : 0;
  FittedPrep fp = FittedPrep::from_yaml(m["preparation"], path);
  Dataset d = load_for_predict(job, p.self, which, fp);
  std::vector<std::string> names;
  for (const auto& f : m["features"]) names.push_back(f.Scalar());
  if (names != d.feature_names) throw invalid(d.file + ":1: the feature columns differ from the model's (" + path + ")");
  if (!fp.cols.empty()) fp.apply(d);
  std::vector<double> w = from_seq(m["coef"]);
  bool icpt = m["intercept"].IsDefined();
  if (icpt) w.push_back(std::strtod(m["intercept"].Scalar().c_str(), nullptr));
  double thr = m["threshold"] ? m["threshold"].as<double>() : 0.5;
  write_predictions(p, d.ids, scores(d, w, icpt), thr, d.labels);
}

}  // namespace fatectl::ml::detail
