// Hetero LR, the guest's training loop: labels and its own features; aligns ids with the hosts,
// computes residuals, encrypts them for the hosts, sends its gradient to the arbiter, evaluates
// and writes its model part. Message flow: docs/training.md.
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/core/yaml.h"
#include "fatectl/he/paillier.h"
#include "fatectl/ml/evaluation.h"
#include "fatectl/ml/metrics.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/wire.h"
#include "hetero_lr_common.h"
#include "outputs.h"

namespace fatectl::ml::detail::hlr {

void guest(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  const int P = prm.floating_point_precision, S = P + kDBits;
  Dataset raw = p.training_data();
  FittedPrep fp = fit_cells(job.prep, raw, local_sum());  // FATE's data_transform: before the intersection
  std::optional<Dataset> vraw;
  if (job.has_data(p.self, 1)) {
    vraw = load_csv(job.data_spec(p.self, 1));
    if (vraw->feature_names != raw.feature_names)
      throw invalid(vraw->file + ":1: the feature columns differ from the training file's");
    fp.apply_cells(*vraw);
  }
  Dataset d = guest_intersect(p, raw, "train");
  fit_scale(job.prep, d, local_sum(), fp);  // FATE's feature_scale: after it
  WeightSummary ws;
  std::vector<double> sw = sample_weights(job.weights, d, local_sum(), &ws);
  if (!sw.empty()) scale_to_mean_one(sw);  // FATE's scale_sample_weight
  // Validation rows are aligned before training: validation_freqs scores them during it.
  for (long h : job.hosts) p.send(h, "hlr/eval/validate", WireWriter().u64(vraw ? 1 : 0).take());
  std::optional<Dataset> v;
  if (vraw) {
    v = guest_intersect(p, *vraw, "validate");
    fp.apply_scale(*v);
  }
  const size_t N = d.rows(), cg = d.cols();
  const bool icpt = prm.fit_intercept;
  const size_t nw = cg + (icpt ? 1 : 0);
  const bool one_host = job.hosts.size() == 1;
  const bool masked = masked_batches(prm, N);
  const bool wtd = weighted(job);
  const bool async = one_host && !masked && !wtd;  // FATE: weights take the centralised path
  const bool with_loss = one_host;
  std::vector<int64_t> wq;  // round(w·2^kWBits)
  for (double x : sw) wq.push_back(quant(x, kWBits));

  long have = p.opts.resume ? p.checkpoint_epochs() : 0;
  Setup st = party_setup(p, have, cg);
  const he::PublicKey& pk = st.pk;
  std::vector<double> w;
  Optimizer opt(prm);
  EarlyStopping stopper(job.validation);
  BestModels best(job.validation.tracked().size());
  Verdict last;
  std::vector<HistoryEntry> history;
  if (st.start > 0) {
    YAML::Node ck = p.load_checkpoint(st.start);
    w = from_seq(ck["weights"]);
    if (ck["optimizer"]) opt.load_state(ck["optimizer"]);
    stopper.load_state(ck["validation"]["stopper"]);
    best.load_state(ck["validation"]["best"]);
    last = verdict_from(ck["validation"]["last"]);
    history = history_from(ck["history"]);
    p.log("resumed after epoch " + std::to_string(st.start));
  } else {
    w = init_weights(prm, st.seed, "guest", nw);
  }
  // Scores of aligned rows: the guest's part plus every host's X_h·w_h (sent in the clear, as FATE).
  auto scores_for = [&](const Dataset& data, const std::string& tag) {
    std::vector<double> z(data.rows());
    for (size_t i = 0; i < data.rows(); ++i) {
      double s = icpt ? w[cg] : 0.0;
      const double* x = data.row(i);
      for (size_t j = 0; j < cg; ++j) s += x[j] * w[j];
      z[i] = s;
    }
    for (long h : job.hosts) {
      WireReader r(p.recv(h, "hlr/" + tag + "/wx"), "wx");
      auto hv = r.f64s();
      if (hv.size() != z.size()) throw failed("host " + std::to_string(h) + " sent the wrong number of scores");
      for (size_t i = 0; i < z.size(); ++i) z[i] += hv[i];
    }
    for (auto& x : z) x = sigmoid(x);
    return z;
  };
  std::vector<int64_t> xq = quantize(d, P);
  std::vector<double> ypm(N);
  for (size_t i = 0; i < N; ++i) ypm[i] = d.labels[i] == 1 ? 1.0 : -1.0;
  const int64_t one_q = int64_t(1) << P;

  long e = st.start;
  bool converged = st.converged;
  p.mark_loop_start();
  for (; e < prm.max_iter && !converged; ++e) {
    auto batches = plan_batches(prm, st.seed, e, N);
    std::vector<std::vector<size_t>> lists;
    {
      WireWriter hw, aw;
      hw.u64(batches.size());
      aw.u64(batches.size());
      for (size_t b = 0; b < batches.size(); ++b) {
        lists.push_back(masked ? host_list(prm, st.seed, e, b, batches[b], N) : batches[b]);
        hw.u64(batches[b].size());
        hw.u64s(std::vector<uint64_t>(lists[b].begin(), lists[b].end()));
        aw.u64(batches[b].size());
      }
      std::string hs = hw.take();
      for (long h : job.hosts) p.send(h, E(e) + "/plan", hs);
      p.send(job.arbiter, E(e) + "/plan", aw.take());
    }
    std::vector<double> delta_sum(nw, 0.0);
    size_t rows_total = 0, rows_done = 0;  // rows the guest encrypts this epoch (progress)
    for (size_t b = 0; b < batches.size(); ++b) rows_total += async ? batches[b].size() : lists[b].size();
    p.report_progress(e, 0, batches.size(), 0, rows_total);
    for (size_t b = 0; b < batches.size(); ++b) {
      const auto& rows = batches[b];
      const size_t n = rows.size();
      std::vector<double> wx(n), hd(n);
      std::vector<int64_t> hdq(n), wxq(n);
      for (size_t i = 0; i < n; ++i) {
        const double* x = d.row(rows[i]);
        double s = icpt ? w[cg] : 0.0;
        for (size_t j = 0; j < cg; ++j) s += x[j] * w[j];
        wx[i] = s;
        hd[i] = 0.25 * s - 0.5 * ypm[rows[i]];
        if (wtd) hd[i] *= sw[rows[i]];
        hdq[i] = quant(hd[i], kDBits);
        wxq[i] = quant(s, P);
      }
      // Kernel columns: coefficients, intercept (as the constant 1), then wx_g and y for the loss.
      const size_t gcols = nw;
      std::vector<Ciphertext> G;
      std::optional<Ciphertext> K_wx, K_y;
      auto build_x = [&](bool with_loss_cols) {
        size_t cols = gcols + (with_loss_cols ? 2 : 0);
        std::vector<int64_t> X(n * cols);
        for (size_t i = 0; i < n; ++i) {
          int64_t* o = X.data() + i * cols;
          const int64_t* q = xq.data() + rows[i] * cg;
          std::copy(q, q + cg, o);
          if (icpt) o[cg] = one_q;
          if (with_loss_cols) {
            o[gcols] = wxq[i];
            o[gcols + 1] = ypm[rows[i]] > 0 ? one_q : -one_q;
          }
        }
        return std::make_pair(X, cols);
      };
      std::vector<Ciphertext> fw_real;  // [[fw_h]] on the batch rows (single host)
      std::vector<BigInt> sq_parts;
      if (async) {
        std::vector<Ciphertext> hdc;
        {
          // in chunks, so that a long batch shows its progress
          Party::Timer t{p, "encrypt"};
          constexpr size_t kChunk = 4096;
          hdc.reserve(n);
          for (size_t at = 0; at < n; at += kChunk) {
            size_t k = std::min(kChunk, n - at);
            auto part = he::encrypt_batch(pk, std::span<const int64_t>(hdq.data() + at, k), p.pool);
            for (auto& c : part) hdc.push_back(std::move(c));
            rows_done += k;
            p.report_progress(e, b, batches.size(), rows_done, rows_total);
          }
        }
        {
          Party::Timer t{p, "serialize"};
          std::string hb = pack_cts(pk, hdc);
          hdc.clear();
          p.send(job.hosts[0], EB(e, b) + "/hd", std::move(hb));
        }
        // The plaintext half while the host encrypts its forward values.
        std::vector<int64_t> X;
        size_t cols = 0;
        std::vector<__int128> plain;
        {
          Party::Timer t{p, "plain"};
          std::tie(X, cols) = build_x(with_loss);
          plain = plain_products(X, cols, hdq, p.pool);
        }
        std::string fwb = p.recv(job.hosts[0], EB(e, b) + "/fw");
        {
          Party::Timer t{p, "serialize"};
          fw_real = unpack_cts(pk, fwb, n, "fw");
          fwb = std::string();
        }
        std::vector<Ciphertext> K;
        {
          Party::Timer t{p, "kernel"};
          K = he::weighted_sums(pk, fw_real, X, cols, p.pool);
        }
        for (size_t j = 0; j < gcols; ++j) G.push_back(pk.add_plain(K[j], big_from_i128(plain[j])));
        if (with_loss) {
          K_wx = K[gcols];
          K_y = K[gcols + 1];
        }
      } else {
        const auto& list = lists[b];
        std::unordered_map<size_t, size_t> pos;
        for (size_t k = 0; k < list.size(); ++k) pos[list[k]] = k;
        std::vector<Ciphertext> dcs(n);
        for (size_t i = 0; i < n; ++i) dcs[i] = pk.encrypt_raw(BigInt(0L));
        bool first = true;
        for (long h : job.hosts) {
          auto fw = unpack_cts(pk, p.recv(h, EB(e, b) + "/fw"), list.size(), "fw");
          for (size_t i = 0; i < n; ++i) {
            const Ciphertext& c = fw[pos.at(rows[i])];
            if (first) dcs[i] = c;
            else pk.add_inplace(dcs[i], c);
          }
          if (one_host) {
            fw_real.resize(n);
            for (size_t i = 0; i < n; ++i) fw_real[i] = fw[pos.at(rows[i])];
          }
          first = false;
        }
        p.pool.parallel_for(n, [&](size_t a, size_t z, unsigned) {
          for (size_t i = a; i < z; ++i) {
            if (wtd) dcs[i] = pk.mul_scalar(dcs[i], wq[rows[i]]);  // w·[[fw]]: 2^kFwWBits · 2^kWBits
            dcs[i] = pk.add_plain(dcs[i], BigInt(static_cast<long>(hdq[i])));
          }
        });
        {
          Party::Timer t{p, "encrypt"};
          he::rerandomize_batch(pk, dcs, p.pool);
        }
        // The hosts' view: [[d]] on real rows, fresh E(0) on decoys.
        std::vector<Ciphertext> hv(list.size());
        std::vector<int64_t> zeros(list.size() - n, 0);
        std::vector<Ciphertext> zc;
        {
          Party::Timer t{p, "encrypt"};
          zc = he::encrypt_batch(pk, std::span<const int64_t>(zeros), p.pool);
        }
        size_t zi = 0;
        std::unordered_map<size_t, size_t> real_idx;
        for (size_t i = 0; i < n; ++i) real_idx[rows[i]] = i;
        for (size_t k = 0; k < list.size(); ++k) {
          auto it = real_idx.find(list[k]);
          hv[k] = it != real_idx.end() ? dcs[it->second] : zc[zi++];
        }
        std::string hvb = pack_cts(pk, hv);
        for (long h : job.hosts) p.send(h, EB(e, b) + "/d", hvb);
        rows_done += list.size();
        p.report_progress(e, b, batches.size(), rows_done, rows_total);
        auto [X, cols] = build_x(false);
        {
          Party::Timer t{p, "kernel"};
          G = he::weighted_sums(pk, dcs, X, cols, p.pool);
        }
        if (with_loss) {
          std::vector<int64_t> X2(n * 2);
          for (size_t i = 0; i < n; ++i) {
            if (wtd) {  // w·wx_g and w·y against [[fw]] at 2^kFwWBits: columns at 2^(P+kWBits)
              double wi = sw[rows[i]];
              X2[2 * i] = quant(wi * wx[i], P + kWBits);
              X2[2 * i + 1] = quant(wi * ypm[rows[i]], P + kWBits);
              continue;
            }
            X2[2 * i] = wxq[i];
            X2[2 * i + 1] = ypm[rows[i]] > 0 ? one_q : -one_q;
          }
          Party::Timer t{p, "kernel"};
          auto K = he::weighted_sums(pk, fw_real, X2, 2, p.pool);
          K_wx = K[0];
          K_y = K[1];
        }
      }
      // L2 on the encrypted gradient: + n·α·coef at scale 2^S (the arbiter divides by n).
      auto pg = penalty_gradient(w, prm, icpt);
      for (size_t j = 0; j < cg; ++j)
        if (pg[j] != 0) G[j] = pk.add_plain(G[j], big_from_double(static_cast<double>(n) * pg[j], S));
      // Loss (single host): 8n·loss at scale 2^S, see docs/training.md.
      std::optional<Ciphertext> L;
      if (with_loss) {
        WireReader r(p.recv(job.hosts[0], EB(e, b) + "/lossh"), "lossh");
        auto sq = unpack_cts(pk, r.str(), static_cast<size_t>(-1), "lossh");
        auto norm = unpack_cts(pk, r.str(), 1, "lossh");
        r.done();
        Ciphertext sqsum;
        if (wtd) {  // Σ w·[[wx_h²]]: squares at 2^(S−kWBits), weights at 2^kWBits
          const auto& list = lists[b];
          std::unordered_map<size_t, size_t> at;
          for (size_t k = 0; k < list.size(); ++k) at[list[k]] = k;
          std::vector<Ciphertext> pick;
          std::vector<int64_t> wcol;
          for (size_t i = 0; i < n; ++i) {
            pick.push_back(sq.at(at.at(rows[i])));
            wcol.push_back(wq[rows[i]]);
          }
          sqsum = he::weighted_sums(pk, pick, wcol, 1, p.pool)[0];
        } else if (sq.size() == 1) sqsum = sq[0];
        else {
          const auto& list = lists[b];
          std::unordered_set<size_t> real(rows.begin(), rows.end());
          std::vector<Ciphertext> pick;
          for (size_t k = 0; k < list.size(); ++k)
            if (real.count(list[k])) pick.push_back(sq[k]);
          sqsum = pk.sum(pick);
        }
        double sy = 0, s2 = 0, sw1 = 0;  // weighted: Σ w·y·wx, Σ w·wx², Σ w
        for (size_t i = 0; i < n; ++i) {
          double wi = wtd ? sw[rows[i]] : 1.0;
          sy += wi * ypm[rows[i]] * wx[i];
          s2 += wi * wx[i] * wx[i];
          sw1 += wi;
        }
        double nd = static_cast<double>(n);
        double plain = 8 * sw1 * std::log(2.0) - 4 * sy + s2 + 8 * nd * penalty_value(w, prm, icpt);
        Ciphertext c = pk.encrypt_raw(he::to_plaintext(pk, big_from_double(plain, S)));
        pk.add_inplace(c, pk.mul_scalar(*K_y, int64_t(-16)));
        pk.add_inplace(c, pk.mul_scalar(*K_wx, int64_t(8)));
        pk.add_inplace(c, sqsum);
        pk.add_inplace(c, pk.mul_scalar(norm[0], static_cast<int64_t>(8 * n)));
        L = c;
      }
      auto res = exchange_gradient(p, pk, e, b, std::move(G), n, L ? &*L : nullptr, S);
      std::vector<double> delta = res.is_delta ? res.values : opt.step(res.values, e);
      for (size_t j = 0; j < nw; ++j) delta_sum[j] += delta[j];
      apply_update(w, delta, prm, e, icpt);
      p.report_progress(e, b + 1, batches.size(), rows_done, rows_total);
    }
    // ---- validation: hosts send X_h·w_h of the validation rows (as FATE's validation does) ----
    HistoryEntry he;
    he.epoch = e + 1;
    if (v && job.validation.enabled() && job.validation.need_run(e)) {
      he.validate = validation_metrics(v->labels, scores_for(*v, "e" + std::to_string(e) + "/validate"));
      last = stopper.update(e, he.validate);
      best.record(last, w, e);
      std::string vm = encode(last);
      for (long h : job.hosts) p.send(h, E(e) + "/verdict", vm);
      p.send(job.arbiter, E(e) + "/verdict", vm);
      p.log("validation after epoch " + std::to_string(e + 1) + ": auc " + std::to_string(he.validate["auc"]) + " ks " +
            std::to_string(he.validate["ks"]) + (last.stop ? " (early stopping)" : ""));
    }
    Status s = end_epoch(p, prm, e, w, delta_sum, opt, [&](const Status& st, YAML::Node& ck) {
      if (st.has_loss) he.loss = st.loss;
      history.push_back(he);
      ck["validation"]["stopper"] = stopper.state();
      ck["validation"]["best"] = best.state();
      ck["validation"]["last"] = verdict_yaml(last);
      ck["history"] = history_yaml(history);
    });
    converged = s.converged;
  }
  // ---- the model to keep (best iteration with early stopping), threshold, evaluation ----
  long best_epoch = -1;
  if (job.validation.early_stopping_rounds > 0)
    if (const auto* bw = best.final(last, &best_epoch)) w = *bw;
  auto tr = scores_for(d, "train");
  std::vector<double> vs;
  if (v) vs = scores_for(*v, "validate");
  double thr = prm.threshold;
  if (job.validation.threshold != ThresholdRule::Fixed)
    thr = choose_threshold(confusion_table(v->labels, vs, threshold_candidates()), job.validation.threshold);
  YAML::Node metrics = metrics_head(job, e, converged, last, best_epoch, thr, ws);
  metrics["train"] = evaluation_yaml(d.labels, tr, thr);
  if (v) metrics["validate"] = evaluation_yaml(v->labels, vs, thr);
  metrics["history"] = history_yaml(history);
  YAML::Node model = model_yaml(job, "guest", p.self, d.feature_names, w, icpt, e, converged);
  model["threshold"] = thr;
  if (best_epoch >= 0) model["best_iteration"] = best_epoch + 1;
  model["preparation"] = fp.to_yaml();
  model["sample_weight"] = ws.to_yaml();
  p.write_file("model.json", yaml::to_json(model) + "\n");
  p.write_file("metrics.json", yaml::to_json(metrics) + "\n");
  p.write_timings();
  p.log("done: train AUC " + (metrics["train"]["auc"] ? metrics["train"]["auc"].Scalar() : std::string("n/a")));
}

}  // namespace fatectl::ml::detail::hlr
