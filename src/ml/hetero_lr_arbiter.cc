// Hetero LR, the arbiter's training loop: generates the Paillier key, decrypts gradients (or
// masked gradients), runs the optimizer step, and decides convergence. It never sees data.
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
#include "fatectl/ml/validation.h"
#include "fatectl/ml/wire.h"
#include "hetero_lr_common.h"

namespace fatectl::ml::detail::hlr {

void arbiter(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  const int S = prm.floating_point_precision + kDBits;
  // Wait until every party has loaded and checked its data: no key before that.
  arbiter_alignment(p);
  std::vector<long> parties(job.hosts);
  parties.push_back(job.guest);
  long start = -1;
  std::vector<size_t> nfeat;
  for (long q : parties) {
    WireReader r(p.recv(q, "hlr/ready"), "ready");
    long have = r.i64();
    nfeat.push_back(r.u64());
    r.done();
    start = start < 0 ? have : std::min(start, have);
  }
  long mine = p.opts.resume ? p.checkpoint_epochs() : 0;
  start = std::min(start, mine);
  Optimizer opt(prm);
  std::vector<double> losses;
  uint64_t seed = prm.random_seed ? *prm.random_seed : fresh_seed();
  bool converged = false, early_stopped = false;
  if (start > 0) {
    YAML::Node ck = p.load_checkpoint(start);
    opt.load_state(ck["optimizer"]);
    losses = from_seq(ck["losses"]);
    seed = ck["seed"].as<uint64_t>();
    converged = ck["converged"].as<bool>();
  }
  he::KeyOptions ko;
  ko.bits = prm.key_length;
  ko.allow_insecure = prm.allow_insecure_key_size;
  ko.obfuscation = he::parse_obfuscation(prm.obfuscation);
  p.log("generating a " + std::to_string(prm.key_length) + "-bit Paillier key");
  he::KeyPair kp = [&] {
    Party::Timer t{p, "keygen"};
    return he::KeyPair::generate(ko);
  }();
  const he::PrivateKey& sk = kp.priv;
  {
    WireWriter w;
    w.i64(start).u64(seed).u64(converged ? 1 : 0).str(kp.pub.serialize());
    std::string s = w.take();
    for (long q : parties) p.send(q, "hlr/setup", s);
  }
  p.log("training starts at epoch " + std::to_string(start + 1) + ", seed " + std::to_string(seed));
  long e = start;
  p.mark_loop_start();
  for (; e < prm.max_iter && !converged; ++e) {
    WireReader pr(p.recv(job.guest, E(e) + "/plan"), "plan");
    size_t nb = pr.u64();
    std::vector<double> batch_losses;
    std::vector<double> delta_sum;
    for (size_t b = 0; b < nb; ++b) {
      size_t n_expect = pr.u64();
      std::vector<std::vector<Ciphertext>> grads;
      std::optional<Ciphertext> loss;
      size_t n = 0;
      for (size_t k = 0; k < parties.size(); ++k) {
        WireReader r(p.recv(parties[k], EB(e, b) + "/grad"), "grad");
        n = r.u64();
        grads.push_back(unpack_cts(kp.pub, r.str(), static_cast<size_t>(-1), "grad"));
        if (r.u64()) loss = unpack_cts(kp.pub, r.str(), 1, "grad")[0];
        r.done();
        if (n != n_expect || n == 0) throw failed("party " + std::to_string(parties[k]) + " reported a wrong batch size");
      }
      if (loss) batch_losses.push_back(big_to_double(sk.decrypt_signed(*loss), S) / (8.0 * static_cast<double>(n)));
      if (prm.mask_gradients) {
        for (size_t k = 0; k < parties.size(); ++k) {
          std::vector<BigInt> m(grads[k].size());
          p.pool.parallel_for(m.size(), [&](size_t a, size_t z, unsigned) {
            for (size_t j = a; j < z; ++j) m[j] = sk.decrypt(grads[k][j]);
          });
          WireWriter w;
          w.u64(m.size());
          for (auto& v : m) w.str(v.hex());
          p.send(parties[k], EB(e, b) + "/plain", w.take());
        }
        continue;
      }
      std::vector<double> g;
      std::vector<size_t> sizes;
      for (auto& gc : grads) {
        std::vector<BigInt> v;
        {
          Party::Timer t{p, "decrypt"};
          v = he::decrypt_batch(sk, gc, p.pool);
        }
        for (auto& x : v) g.push_back(big_to_double(x, S) / static_cast<double>(n));
        sizes.push_back(v.size());
      }
      auto delta = opt.step(g, e);
      if (delta_sum.empty()) delta_sum.assign(delta.size(), 0.0);
      for (size_t j = 0; j < delta.size(); ++j) delta_sum[j] += delta[j];
      size_t off = 0;
      for (size_t k = 0; k < parties.size(); ++k) {
        std::vector<double> slice(delta.begin() + off, delta.begin() + off + sizes[k]);
        off += sizes[k];
        p.send(parties[k], EB(e, b) + "/delta", WireWriter().f64s(slice).take());
      }
    }
    pr.done();
    // The guest's validation verdict (validation_freqs): early stopping ends training like convergence.
    bool early_stop = false;
    if (job.validation.enabled() && job.validation.need_run(e) && job.has_data(job.guest, 1))
      early_stop = decode_verdict(p.recv(job.guest, E(e) + "/verdict")).stop;
    Status s;
    s.has_loss = !batch_losses.empty();
    if (s.has_loss) s.loss = std::accumulate(batch_losses.begin(), batch_losses.end(), 0.0) / batch_losses.size();
    switch (prm.early_stop) {
      case EarlyStop::Diff:
        s.converged = s.has_loss && !losses.empty() && std::fabs(s.loss - losses.back()) < prm.tol;
        break;
      case EarlyStop::Abs: s.converged = s.has_loss && s.loss <= prm.tol; break;
      case EarlyStop::WeightDiff: {
        double norm2 = 0;
        if (prm.mask_gradients) {
          for (long q : parties) norm2 += WireReader(p.recv(q, E(e) + "/wdiff"), "wdiff").f64();
        } else {
          for (double x : delta_sum) norm2 += x * x;
        }
        s.converged = std::sqrt(norm2) < prm.tol;
        break;
      }
    }
    if (early_stop) {
      s.converged = true;
      early_stopped = true;
    }
    if (s.has_loss) losses.push_back(s.loss);
    converged = s.converged;
    WireWriter w;
    w.u64(s.converged).u64(s.has_loss).f64(s.loss);
    std::string sb = w.take();
    for (long q : parties) p.send(q, E(e) + "/status", sb);
    YAML::Node ck;
    ck["optimizer"] = opt.state();
    ck["losses"] = to_seq(losses);
    ck["seed"] = seed;
    ck["converged"] = converged;
    p.save_checkpoint(e + 1, ck);
    p.report_epoch(e + 1, s.has_loss, s.loss, s.converged);
    p.maybe_stop(e + 1);
  }
  YAML::Node summary;
  summary["job"] = yaml::str(job.id);
  summary["role"] = "arbiter";
  summary["epochs"] = e;
  summary["converged"] = converged;
  summary["seed"] = seed;
  summary["key_length"] = prm.key_length;
  summary["losses"] = to_seq(losses);
  if (job.validation.enabled()) summary["early_stopped"] = early_stopped;
  p.write_file("summary.json", yaml::to_json(summary) + "\n");
  p.write_timings();
  p.log("done");
}

}  // namespace fatectl::ml::detail::hlr
