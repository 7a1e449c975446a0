// Hetero LR, a host's training loop: features only; aligns ids with the guest, sends its forward
// values, computes its encrypted gradient from the guest's encrypted residuals, and writes its
// model part. Message flow: docs/training.md.
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
#include "fatectl/ml/metrics.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/wire.h"
#include "hetero_lr_common.h"
#include "outputs.h"

namespace fatectl::ml::detail::hlr {

void host(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  const int P = prm.floating_point_precision, S = P + kDBits;
  const int hidx = job.host_index(p.self);
  Dataset raw = p.training_data();
  FittedPrep fp = fit_cells(job.prep, raw, local_sum());  // FATE's data_transform: before the intersection
  std::optional<Dataset> vraw;
  if (job.has_data(p.self, 1)) {
    vraw = load_csv(job.data_spec(p.self, 1));
    if (vraw->feature_names != raw.feature_names)
      throw invalid(vraw->file + ":1: the feature columns differ from the training file's");
    fp.apply_cells(*vraw);
  }
  Dataset d = host_intersect(p, raw, "train");
  fit_scale(job.prep, d, local_sum(), fp);  // FATE's feature_scale: after it
  std::optional<Dataset> v;
  {
    WireReader vr(p.recv(job.guest, "hlr/eval/validate"), "validate");
    bool guest_validates = vr.u64() != 0;
    vr.done();
    if (guest_validates) {
      if (!vraw)
        throw invalid(job.file + ": parties[" + std::to_string(p.self) +
                      "].data: the guest has a validation file (data[1]) but this host has none");
      v = host_intersect(p, *vraw, "validate");
      fp.apply_scale(*v);
    }
  }
  const size_t N = d.rows(), ch = d.cols();
  const bool one_host = job.hosts.size() == 1;
  const bool masked = masked_batches(prm, N);
  const bool wtd = weighted(job);  // the guest's rows carry weights: [[fw]] at fw_bits(true)
  const bool async = one_host && !masked && !wtd;
  const bool with_loss = one_host;

  long have = p.opts.resume ? p.checkpoint_epochs() : 0;
  Setup st = party_setup(p, have, ch);
  const he::PublicKey& pk = st.pk;
  std::vector<double> w;
  Optimizer opt(prm);
  BestModels best(job.validation.tracked().size());
  Verdict last;
  if (st.start > 0) {
    YAML::Node ck = p.load_checkpoint(st.start);
    w = from_seq(ck["weights"]);
    if (ck["optimizer"]) opt.load_state(ck["optimizer"]);
    best.load_state(ck["validation"]["best"]);
    last = verdict_from(ck["validation"]["last"]);
    p.log("resumed after epoch " + std::to_string(st.start));
  } else {
    w = init_weights(prm, st.seed, "host/" + std::to_string(hidx), ch);
  }
  // X_h·w_h of aligned rows to the guest, in the clear (as FATE's validation and prediction).
  auto send_wx = [&](const Dataset& data, const std::string& tag) {
    std::vector<double> z(data.rows());
    for (size_t i = 0; i < data.rows(); ++i) {
      const double* x = data.row(i);
      double s = 0;
      for (size_t j = 0; j < ch; ++j) s += x[j] * w[j];
      z[i] = s;
    }
    p.send(job.guest, "hlr/" + tag + "/wx", WireWriter().f64s(z).take());
  };
  std::vector<int64_t> xq = quantize(d, P);

  long e = st.start;
  bool converged = st.converged;
  p.mark_loop_start();
  for (; e < prm.max_iter && !converged; ++e) {
    WireReader pr(p.recv(job.guest, E(e) + "/plan"), "plan");
    size_t nb = pr.u64();
    std::vector<size_t> sizes;
    std::vector<std::vector<size_t>> lists;
    for (size_t b = 0; b < nb; ++b) {
      sizes.push_back(pr.u64());
      auto l = pr.u64s();
      for (auto v : l)
        if (v >= N) throw failed("guest sent a batch row out of range");
      lists.emplace_back(l.begin(), l.end());
    }
    pr.done();
    std::vector<double> delta_sum(ch, 0.0);
    for (size_t b = 0; b < nb; ++b) {
      const auto& list = lists[b];
      const size_t m = list.size(), n = sizes[b];
      std::vector<double> wxh(m);
      std::vector<int64_t> fwq(m);
      for (size_t k = 0; k < m; ++k) {
        const double* x = d.row(list[k]);
        double s = 0;
        for (size_t j = 0; j < ch; ++j) s += x[j] * w[j];
        wxh[k] = s;
        fwq[k] = quant(0.25 * s, fw_bits(wtd));
      }
      std::vector<Ciphertext> fwc;
      {
        Party::Timer t{p, "encrypt"};
        fwc = he::encrypt_batch(pk, std::span<const int64_t>(fwq), p.pool);
      }
      {
        Party::Timer t{p, "serialize"};
        std::string fb = pack_cts(pk, fwc);
        fwc.clear();
        p.send(job.guest, EB(e, b) + "/fw", std::move(fb));
      }
      if (with_loss) {
        std::vector<Ciphertext> sq;
        if (!masked && !wtd) {
          double s = 0;
          for (double v : wxh) s += v * v;
          BigInt v = he::to_plaintext(pk, big_from_double(s, S));
          sq = he::encrypt_batch(pk, std::span<const BigInt>(&v, 1), p.pool);
        } else {
          std::vector<BigInt> v;
          for (double x : wxh) v.push_back(big_from_double(x * x, wtd ? S - kWBits : S));  // the guest weights them
          sq = he::encrypt_batch(pk, std::span<const BigInt>(v), p.pool);
        }
        BigInt nv = he::to_plaintext(pk, big_from_double(penalty_value(w, prm, false), S));
        Ciphertext norm = he::encrypt_batch(pk, std::span<const BigInt>(&nv, 1), p.pool)[0];
        WireWriter lw;
        lw.str(pack_cts(pk, sq)).str(pack_cts(pk, {norm}));
        p.send(job.guest, EB(e, b) + "/lossh", lw.take());
      }
      // The batch's rows of the quantised features: the whole table as it is when the batch is
      // every row in order (full batch), else a gathered copy.
      bool identity = m == N;
      for (size_t k = 0; identity && k < m; ++k) identity = list[k] == k;
      std::vector<int64_t> Xcopy;
      if (!identity) {
        Xcopy.resize(m * ch);
        for (size_t k = 0; k < m; ++k)
          std::copy(xq.data() + list[k] * ch, xq.data() + (list[k] + 1) * ch, Xcopy.data() + k * ch);
      }
      std::span<const int64_t> X = identity ? std::span<const int64_t>(xq) : std::span<const int64_t>(Xcopy);
      std::vector<Ciphertext> G;
      if (async) {
        // The plaintext half Xᵀ·fw while the guest encrypts its residuals.
        std::vector<__int128> plain;
        {
          Party::Timer t{p, "plain"};
          plain = plain_products(X, ch, fwq, p.pool);
        }
        std::string hb = p.recv(job.guest, EB(e, b) + "/hd");
        std::vector<Ciphertext> hdc;
        {
          Party::Timer t{p, "serialize"};
          hdc = unpack_cts(pk, hb, m, "hd");
          hb = std::string();
        }
        std::vector<Ciphertext> K;
        {
          Party::Timer t{p, "kernel"};
          K = he::weighted_sums(pk, hdc, X, ch, p.pool);
        }
        for (size_t j = 0; j < ch; ++j) G.push_back(pk.add_plain(K[j], big_from_i128(plain[j])));
      } else {
        auto dc = unpack_cts(pk, p.recv(job.guest, EB(e, b) + "/d"), m, "d");
        Party::Timer t{p, "kernel"};
        G = he::weighted_sums(pk, dc, X, ch, p.pool);
      }
      auto pg = penalty_gradient(w, prm, false);
      for (size_t j = 0; j < ch; ++j)
        if (pg[j] != 0) G[j] = pk.add_plain(G[j], big_from_double(static_cast<double>(n) * pg[j], S));
      auto res = exchange_gradient(p, pk, e, b, std::move(G), n, nullptr, S);
      std::vector<double> delta = res.is_delta ? res.values : opt.step(res.values, e);
      for (size_t j = 0; j < ch; ++j) delta_sum[j] += delta[j];
      apply_update(w, delta, prm, e, false);
    }
    if (v && job.validation.enabled() && job.validation.need_run(e)) {
      send_wx(*v, "e" + std::to_string(e) + "/validate");
      last = decode_verdict(p.recv(job.guest, E(e) + "/verdict"));
      best.record(last, w, e);
    }
    converged = end_epoch(p, prm, e, w, delta_sum, opt, [&](const Status&, YAML::Node& ck) {
                  ck["validation"]["best"] = best.state();
                  ck["validation"]["last"] = verdict_yaml(last);
                }).converged;
  }
  long best_epoch = -1;
  if (job.validation.early_stopping_rounds > 0)
    if (const auto* bw = best.final(last, &best_epoch)) w = *bw;
  send_wx(d, "train");
  if (v) send_wx(*v, "validate");
  YAML::Node model = model_yaml(job, "host", p.self, d.feature_names, w, false, e, converged);
  if (best_epoch >= 0) model["best_iteration"] = best_epoch + 1;
  model["preparation"] = fp.to_yaml();
  p.write_file("model.json", yaml::to_json(model) + "\n");
  p.write_timings();
  p.log("done");
}

}  // namespace fatectl::ml::detail::hlr
