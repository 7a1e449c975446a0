// Hetero (vertical) logistic regression as FATE 1.11 runs it: guest (labels + features),
// host(s) (features), arbiter (Paillier key holder, optimizer, convergence). See
// docs/training.md for the message flow and what each party learns.
//
// Numbers: features enter every gradient product as round(x·2^P) (P = floating_point_precision),
// residuals as round(d·2^40); every gradient sum is therefore an exact integer at scale
// 2^(P+40), and the arbiter divides by 2^(P+40)·n after decryption. Because the integer
// arithmetic is exact, the result does not depend on the key or on any randomness.
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
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
#include "protocols.h"

namespace fatectl::ml::detail {
namespace {

using he::BigInt;
using he::Ciphertext;
constexpr int kDBits = 40;

std::string E(long e) { return "hlr/e" + std::to_string(e); }
std::string EB(long e, size_t b) { return E(e) + "/b" + std::to_string(b); }

int64_t quant(double v, int bits) {
  double s = std::nearbyint(std::ldexp(v, bits));
  if (!(std::fabs(s) < 0x1p62))
    throw failed("training diverged: a value of magnitude " + std::to_string(v) +
                 " does not fit the fixed-point encoding (lower learning_rate or standardise the features)");
  return static_cast<int64_t>(s);
}

BigInt big_from_double(double v, int bits) {
  BigInt b;
  mpz_set_d(b.get(), std::nearbyint(std::ldexp(v, bits)));
  return b;
}

double big_to_double(const BigInt& v, int bits) { return std::ldexp(v.to_double(), -bits); }

BigInt big_from_i128(__int128 v) {
  bool neg = v < 0;
  unsigned __int128 u = neg ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
  BigInt b;
  mpz_set_ui(b.get(), static_cast<unsigned long>(static_cast<uint64_t>(u >> 64)));
  mpz_mul_2exp(b.get(), b.get(), 64);
  mpz_add_ui(b.get(), b.get(), static_cast<unsigned long>(static_cast<uint64_t>(u)));
  if (neg) mpz_neg(b.get(), b.get());
  return b;
}

/// A uniform element of Z_n from OpenSSL (for gradient masks).
BigInt random_mod(const BigInt& n) {
  std::string bytes((n.bits() + 7) / 8 + 16, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(bytes.size())) != 1)
    throw failed("OpenSSL RAND_bytes failed");
  BigInt r = BigInt::from_bytes(bytes);
  mpz_mod(r.get(), r.get(), n.get());
  return r;
}

std::string pack_cts(const he::PublicKey& pk, const std::vector<Ciphertext>& cs) {
  return he::serialize_ciphertexts(pk, cs);
}
std::vector<Ciphertext> unpack_cts(const he::PublicKey& pk, const std::string& b, size_t expect, const std::string& what) {
  auto cs = he::parse_ciphertexts(pk, b);
  if (expect != static_cast<size_t>(-1) && cs.size() != expect)
    throw failed("message '" + what + "': expected " + std::to_string(expect) + " ciphertexts, got " + std::to_string(cs.size()));
  return cs;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += x + "\n";
  return s;
}
std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a < s.size()) {
    size_t b = s.find('\n', a);
    if (b == std::string::npos) b = s.size();
    out.push_back(s.substr(a, b - a));
    a = b + 1;
  }
  return out;
}

// ---- intersection (salted SHA-256 of ids; the guest learns which of its ids each host has) ----

Dataset guest_intersect(Party& p, const Dataset& d, const std::string& tag) {
  auto mine = hash_ids(d.ids, p.job.id + "/" + tag);
  std::unordered_map<std::string, size_t> row;
  for (size_t i = 0; i < mine.size(); ++i) row[mine[i]] = i;
  std::vector<char> keep(d.rows(), 1);
  for (long h : p.job.hosts) {
    auto theirs = split_lines(p.recv(h, "hlr/" + tag + "/ids"));
    std::vector<char> in(d.rows(), 0);
    for (auto& t : theirs) {
      auto it = row.find(t);
      if (it != row.end()) in[it->second] = 1;
    }
    for (size_t i = 0; i < keep.size(); ++i) keep[i] &= in[i];
  }
  std::vector<size_t> rows;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) rows.push_back(i);
  std::sort(rows.begin(), rows.end(), [&](size_t a, size_t b) { return d.ids[a] < d.ids[b]; });
  std::vector<std::string> order;
  for (size_t i : rows) order.push_back(mine[i]);
  for (long h : p.job.hosts) p.send(h, "hlr/" + tag + "/order", join_lines(order));
  if (rows.empty())
    throw invalid(d.file + ": no ids in common with the host data (check id columns: intersection is empty)");
  p.log("intersection (" + tag + "): " + std::to_string(rows.size()) + " of " + std::to_string(d.rows()) + " guest rows");
  return d.select(rows);
}

Dataset host_intersect(Party& p, const Dataset& d, const std::string& tag) {
  auto mine = hash_ids(d.ids, p.job.id + "/" + tag);
  p.send(p.job.guest, "hlr/" + tag + "/ids", join_lines(mine));
  std::unordered_map<std::string, size_t> row;
  for (size_t i = 0; i < mine.size(); ++i) row[mine[i]] = i;
  auto order = split_lines(p.recv(p.job.guest, "hlr/" + tag + "/order"));
  if (order.empty()) throw invalid(d.file + ": no ids in common with the guest data (intersection is empty)");
  std::vector<size_t> rows;
  rows.reserve(order.size());
  for (auto& h : order) {
    auto it = row.find(h);
    if (it == row.end()) throw failed("intersection: the guest named an id this host does not have");
    rows.push_back(it->second);
  }
  p.log("intersection (" + tag + "): " + std::to_string(rows.size()) + " of " + std::to_string(d.rows()) + " host rows");
  return d.select(rows);
}

std::vector<int64_t> quantize(const Dataset& d, int bits) {
  std::vector<int64_t> q(d.x.size());
  for (size_t i = 0; i < q.size(); ++i) q[i] = quant(d.x[i], bits);
  return q;
}

/// Σ_k X[k·cols + j]·v[k] for every column j, exact in 128 bits, read row by row (rows split
/// over the pool). The plaintext half of a gradient: Xᵀ·v.
std::vector<__int128> plain_products(std::span<const int64_t> X, size_t cols, std::span<const int64_t> v,
                                     ThreadPool& pool) {
  const size_t rows = v.size();
  const size_t blocks = std::max<size_t>(1, std::min<size_t>(rows / 1024, 4 * static_cast<size_t>(pool.size())));
  std::vector<std::vector<__int128>> part(blocks, std::vector<__int128>(cols, 0));
  pool.parallel_for(blocks, [&](size_t b, size_t e, unsigned) {
    for (size_t blk = b; blk < e; ++blk) {
      __int128* acc = part[blk].data();
      for (size_t k = rows * blk / blocks, k1 = rows * (blk + 1) / blocks; k < k1; ++k) {
        const int64_t* x = X.data() + k * cols;
        const __int128 vk = v[k];
        for (size_t j = 0; j < cols; ++j) acc[j] += static_cast<__int128>(x[j]) * vk;
      }
    }
  });
  for (size_t blk = 1; blk < blocks; ++blk)
    for (size_t j = 0; j < cols; ++j) part[0][j] += part[blk][j];
  return std::move(part[0]);
}

/// Batches of the guest: shuffled positions of the aligned rows, cut into batch_size chunks.
std::vector<std::vector<size_t>> plan_batches(const LrParams& prm, uint64_t seed, long epoch, size_t N) {
  std::vector<size_t> order(N);
  std::iota(order.begin(), order.end(), 0);
  size_t bs = prm.batch_size < 0 ? N : std::min<size_t>(static_cast<size_t>(prm.batch_size), N);
  if (prm.shuffle && bs < N) {
    Rng r(seed, "shuffle/epoch/" + std::to_string(epoch));
    r.shuffle(order);
  }
  std::vector<std::vector<size_t>> out;
  for (size_t a = 0; a < N; a += bs) out.emplace_back(order.begin() + a, order.begin() + std::min(N, a + bs));
  return out;
}

/// FATE 1.11 masked batches: the hosts get the batch rows plus masked_rate decoys per row.
std::vector<size_t> host_list(const LrParams& prm, uint64_t seed, long epoch, size_t b,
                              const std::vector<size_t>& batch, size_t N) {
  if (prm.masked_rate == 0 || batch.size() == N) return batch;
  std::vector<char> in(N, 0);
  for (size_t i : batch) in[i] = 1;
  std::vector<size_t> others;
  for (size_t i = 0; i < N; ++i)
    if (!in[i]) others.push_back(i);
  Rng r(seed, "decoys/epoch/" + std::to_string(epoch) + "/batch/" + std::to_string(b));
  r.shuffle(others);
  size_t k = std::min(others.size(), batch.size() * static_cast<size_t>(prm.masked_rate));
  std::vector<size_t> list(batch);
  list.insert(list.end(), others.begin(), others.begin() + k);
  r.shuffle(list);
  return list;
}

bool masked_batches(const LrParams& prm, size_t N) {
  return prm.batch_size > 0 && static_cast<size_t>(prm.batch_size) < N && prm.masked_rate > 0;
}

struct Setup {
  long start = 0;
  uint64_t seed = 0;
  bool converged = false;
  he::PublicKey pk;
  std::shared_ptr<const he::PublicKey> shared;  ///< keeps the in-process key cache entry alive
};

/// Parties of one process (train --local, bench lr) that receive the same public key share one
/// parsed copy, so per-key precomputation (the fixed-base encryption table) happens once.
he::PublicKey shared_public_key(const std::string& text, std::shared_ptr<const he::PublicKey>& hold) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const he::PublicKey>> cache;
  std::lock_guard<std::mutex> l(mu);
  for (auto it = cache.begin(); it != cache.end();) it = it->second.expired() ? cache.erase(it) : std::next(it);
  auto& slot = cache[text];
  hold = slot.lock();
  if (!hold) {
    hold = std::make_shared<const he::PublicKey>(he::PublicKey::parse(text, "public key from the arbiter"));
    slot = hold;
  }
  return *hold;
}

Setup party_setup(Party& p, long have, size_t nfeatures) {
  WireWriter w;
  w.i64(have).u64(nfeatures);
  p.send(p.job.arbiter, "hlr/ready", w.take());
  WireReader r(p.recv(p.job.arbiter, "hlr/setup"), "hlr/setup");
  Setup s;
  s.start = r.i64();
  s.seed = r.u64();
  s.converged = r.u64() != 0;
  s.pk = shared_public_key(r.str(), s.shared);
  s.pk.set_obfuscation(he::parse_obfuscation(p.job.params.obfuscation));
  r.done();
  {
    // One-time per key, like key generation: build the encryption tables now, not in epoch 1.
    Party::Timer t{p, "setup"};
    const int64_t zero = 0;
    (void)he::encrypt_batch(s.pk, std::span<const int64_t>(&zero, 1), p.pool);
  }
  return s;
}

/// Sends [[G]] (+ optional loss ciphertext) to the arbiter and returns the plaintext gradient
/// of this party (÷ 2^S·n) — unmasked by the party itself in mask_gradients mode — or, in
/// the normal mode, the arbiter's step Δ. `is_delta` tells which came back.
struct GradResult {
  std::vector<double> values;
  bool is_delta = true;
};

GradResult exchange_gradient(Party& p, const he::PublicKey& pk, long e, size_t b, std::vector<Ciphertext> G,
                             size_t n, const Ciphertext* loss, int S) {
  const bool mask = p.job.params.mask_gradients;
  std::vector<BigInt> R;
  if (mask) {
    R.reserve(G.size());
    for (auto& c : G) {
      R.push_back(random_mod(pk.n()));
      c = pk.add_plain(c, R.back());
    }
  }
  WireWriter w;
  w.u64(n).str(pack_cts(pk, G)).u64(loss ? 1 : 0);
  if (loss) w.str(pack_cts(pk, {*loss}));
  p.send(p.job.arbiter, EB(e, b) + "/grad", w.take());
  GradResult out;
  if (!mask) {
    WireReader r(p.recv(p.job.arbiter, EB(e, b) + "/delta"), "delta");
    out.values = r.f64s();
    r.done();
    if (out.values.size() != G.size()) throw failed("arbiter sent a step of the wrong size");
    return out;
  }
  WireReader r(p.recv(p.job.arbiter, EB(e, b) + "/plain"), "plain");
  uint64_t k = r.u64();
  if (k != G.size()) throw failed("arbiter sent the wrong number of decrypted values");
  out.is_delta = false;
  for (size_t j = 0; j < k; ++j) {
    BigInt m = BigInt::from_hex(r.str());
    mpz_sub(m.get(), m.get(), R[j].get());
    mpz_mod(m.get(), m.get(), pk.n().get());
    BigInt v = he::from_plaintext(pk, m);
    out.values.push_back(big_to_double(v, S) / static_cast<double>(n));
  }
  r.done();
  return out;
}

struct Status {
  bool converged = false, has_loss = false;
  double loss = 0;
};

Status recv_status(Party& p, long e) {
  WireReader r(p.recv(p.job.arbiter, E(e) + "/status"), "status");
  Status s;
  s.converged = r.u64() != 0;
  s.has_loss = r.u64() != 0;
  s.loss = r.f64();
  r.done();
  return s;
}

// Guest and host at the end of an epoch: the weight change for the arbiter's weight_diff check
// (masked gradients: only the parties know it), the arbiter's verdict, then checkpoint and report.
// Returns whether training converged.
bool end_epoch(Party& p, const LrParams& prm, long e, const std::vector<double>& w,
               const std::vector<double>& delta_sum, const Optimizer& opt) {
  if (prm.mask_gradients && prm.early_stop == EarlyStop::WeightDiff) {
    double sq = 0;
    for (double x : delta_sum) sq += x * x;
    p.send(p.job.arbiter, E(e) + "/wdiff", WireWriter().f64(sq).take());
  }
  Status s = recv_status(p, e);
  YAML::Node ck;
  ck["weights"] = to_seq(w);
  if (prm.mask_gradients) ck["optimizer"] = opt.state();
  p.save_checkpoint(e + 1, ck);
  p.report_epoch(e + 1, s.has_loss, s.loss, s.converged);
  p.maybe_stop(e + 1);
  return s.converged;
}

YAML::Node model_yaml(const MlJob& job, const std::string& role, long party, const std::vector<std::string>& names,
                      const std::vector<double>& w, bool intercept, long epochs, bool converged) {
  YAML::Node m;
  m["format"] = "fatectl-lr-model/1";
  m["algorithm"] = job.algorithm == Algorithm::HeteroLr ? "hetero_lr" : "homo_lr";
  m["job"] = yaml::str(job.id);
  m["role"] = role;
  m["party"] = party;
  m["epochs"] = epochs;
  m["converged"] = converged;
  m["fit_intercept"] = intercept;
  m["threshold"] = job.params.threshold;
  m["id_column"] = yaml::str(job.id_column);
  m["label_column"] = yaml::str(job.label_column);
  YAML::Node f(YAML::NodeType::Sequence), c(YAML::NodeType::Sequence);
  for (auto& s : names) f.push_back(yaml::str(s));
  m["features"] = f;
  size_t nc = intercept ? w.size() - 1 : w.size();
  m["coef"] = to_seq(std::vector<double>(w.begin(), w.begin() + nc));
  if (intercept) m["intercept"] = to_seq({w.back()})[0];
  return m;
}

// ================================================= guest ======================================

void guest(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  const int P = prm.floating_point_precision, S = P + kDBits;
  Dataset raw = p.training_data();
  std::optional<Dataset> vraw;
  if (job.has_data(p.self, 1)) vraw = load_csv(job.data_spec(p.self, 1));
  Dataset d = guest_intersect(p, raw, "train");
  const size_t N = d.rows(), cg = d.cols();
  const bool icpt = prm.fit_intercept;
  const size_t nw = cg + (icpt ? 1 : 0);
  const bool one_host = job.hosts.size() == 1;
  const bool masked = masked_batches(prm, N);
  const bool async = one_host && !masked;
  const bool with_loss = one_host;

  long have = p.opts.resume ? p.checkpoint_epochs() : 0;
  Setup st = party_setup(p, have, cg);
  const he::PublicKey& pk = st.pk;
  std::vector<double> w;
  Optimizer opt(prm);
  if (st.start > 0) {
    YAML::Node ck = p.load_checkpoint(st.start);
    w = from_seq(ck["weights"]);
    if (ck["optimizer"]) opt.load_state(ck["optimizer"]);
    p.log("resumed after epoch " + std::to_string(st.start));
  } else {
    w = init_weights(prm, st.seed, "guest", nw);
  }
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
          Party::Timer t{p, "encrypt"};
          hdc = he::encrypt_batch(pk, std::span<const int64_t>(hdq), p.pool);
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
          for (size_t i = a; i < z; ++i) dcs[i] = pk.add_plain(dcs[i], BigInt(static_cast<long>(hdq[i])));
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
        auto [X, cols] = build_x(false);
        {
          Party::Timer t{p, "kernel"};
          G = he::weighted_sums(pk, dcs, X, cols, p.pool);
        }
        if (with_loss) {
          std::vector<int64_t> X2(n * 2);
          for (size_t i = 0; i < n; ++i) {
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
        if (sq.size() == 1) sqsum = sq[0];
        else {
          const auto& list = lists[b];
          std::unordered_set<size_t> real(rows.begin(), rows.end());
          std::vector<Ciphertext> pick;
          for (size_t k = 0; k < list.size(); ++k)
            if (real.count(list[k])) pick.push_back(sq[k]);
          sqsum = pk.sum(pick);
        }
        double sy = 0, s2 = 0;
        for (size_t i = 0; i < n; ++i) {
          sy += ypm[rows[i]] * wx[i];
          s2 += wx[i] * wx[i];
        }
        double nd = static_cast<double>(n);
        double plain = 8 * nd * std::log(2.0) - 4 * sy + s2 + 8 * nd * penalty_value(w, prm, icpt);
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
    }
    converged = end_epoch(p, prm, e, w, delta_sum, opt);
  }
  // ---- evaluation: hosts send X_h·w_h in the clear (as FATE's predict does) ----
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
      auto v = r.f64s();
      if (v.size() != z.size()) throw failed("host " + std::to_string(h) + " sent the wrong number of scores");
      for (size_t i = 0; i < z.size(); ++i) z[i] += v[i];
    }
    for (auto& x : z) x = sigmoid(x);
    return z;
  };
  YAML::Node metrics;
  metrics["job"] = yaml::str(job.id);
  metrics["epochs"] = e;
  metrics["converged"] = converged;
  auto tr = scores_for(d, "train");
  metrics["train"] = evaluate(d.labels, tr, prm.threshold).to_yaml();
  for (long h : job.hosts) p.send(h, "hlr/eval/validate", WireWriter().u64(vraw ? 1 : 0).take());
  if (vraw) {
    Dataset v = guest_intersect(p, *vraw, "validate");
    auto vs = scores_for(v, "validate");
    metrics["validate"] = evaluate(v.labels, vs, prm.threshold).to_yaml();
  }
  p.write_file("model.json", yaml::to_json(model_yaml(job, "guest", p.self, d.feature_names, w, icpt, e, converged)) + "\n");
  p.write_file("metrics.json", yaml::to_json(metrics) + "\n");
  p.write_timings();
  p.log("done: train AUC " + std::to_string(metrics["train"]["auc"].as<double>()));
}

// ================================================= host =======================================

void host(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  const int P = prm.floating_point_precision, S = P + kDBits;
  const int hidx = job.host_index(p.self);
  Dataset raw = p.training_data();
  std::optional<Dataset> vraw;
  if (job.has_data(p.self, 1)) vraw = load_csv(job.data_spec(p.self, 1));
  Dataset d = host_intersect(p, raw, "train");
  const size_t N = d.rows(), ch = d.cols();
  const bool one_host = job.hosts.size() == 1;
  const bool masked = masked_batches(prm, N);
  const bool async = one_host && !masked;
  const bool with_loss = one_host;

  long have = p.opts.resume ? p.checkpoint_epochs() : 0;
  Setup st = party_setup(p, have, ch);
  const he::PublicKey& pk = st.pk;
  std::vector<double> w;
  Optimizer opt(prm);
  if (st.start > 0) {
    YAML::Node ck = p.load_checkpoint(st.start);
    w = from_seq(ck["weights"]);
    if (ck["optimizer"]) opt.load_state(ck["optimizer"]);
    p.log("resumed after epoch " + std::to_string(st.start));
  } else {
    w = init_weights(prm, st.seed, "host/" + std::to_string(hidx), ch);
  }
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
        fwq[k] = quant(0.25 * s, kDBits);
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
        if (!masked) {
          double s = 0;
          for (double v : wxh) s += v * v;
          BigInt v = he::to_plaintext(pk, big_from_double(s, S));
          sq = he::encrypt_batch(pk, std::span<const BigInt>(&v, 1), p.pool);
        } else {
          std::vector<BigInt> v;
          for (double x : wxh) v.push_back(big_from_double(x * x, S));
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
    converged = end_epoch(p, prm, e, w, delta_sum, opt);
  }
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
  send_wx(d, "train");
  WireReader vr(p.recv(job.guest, "hlr/eval/validate"), "validate");
  if (vr.u64()) {
    if (!vraw)
      throw invalid(job.file + ": parties[" + std::to_string(p.self) +
                    "].data: the guest has a validation file (data[1]) but this host has none");
    Dataset v = host_intersect(p, *vraw, "validate");
    send_wx(v, "validate");
  }
  p.write_file("model.json", yaml::to_json(model_yaml(job, "host", p.self, d.feature_names, w, false, e, converged)) + "\n");
  p.write_timings();
  p.log("done");
}

// ================================================ arbiter =====================================

void arbiter(Party& p) {
  const MlJob& job = p.job;
  const LrParams& prm = job.params;
  const int S = prm.floating_point_precision + kDBits;
  // Wait until every party has loaded and checked its data: no key before that.
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
  bool converged = false;
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
  p.write_file("summary.json", yaml::to_json(summary) + "\n");
  p.write_timings();
  p.log("done");
}

YAML::Node load_model(const std::string& dir, long party, const std::string& role) {
  std::string path = dir + "/model.json";
  YAML::Node m = yaml::load_file(path);
  if (!m["format"] || m["format"].Scalar() != "fatectl-lr-model/1")
    throw invalid(path + ": not a fatectl model file (format: fatectl-lr-model/1)");
  if (m["role"].Scalar() != role) throw invalid(path + ": model of a " + m["role"].Scalar() + ", this party is the " + role);
  return m;
}

void check_features(const YAML::Node& m, const Dataset& d, const std::string& model_path) {
  std::vector<std::string> names;
  for (const auto& f : m["features"]) names.push_back(f.Scalar());
  if (names != d.feature_names)
    throw invalid(d.file + ":1: the feature columns differ from the model's (" + model_path + ")");
}

}  // namespace

void hetero_train(Party& p) {
  std::string role = p.job.role_of(p.self);
  if (role == "guest") guest(p);
  else if (role == "host") host(p);
  else arbiter(p);
}

void hetero_predict(Party& p, const std::string& model_dir) {
  const MlJob& job = p.job;
  std::string role = job.role_of(p.self);
  if (role == "arbiter") return;
  size_t which = job.has_data(p.self, 1) ? 1 : 0;
  YAML::Node m = load_model(model_dir, p.self, role);
  std::vector<double> coef = from_seq(m["coef"]);
  if (role == "host") {
    Dataset d = load_csv(job.data_spec(p.self, which));
    check_features(m, d, model_dir + "/model.json");
    Dataset a = host_intersect(p, d, "predict");
    std::vector<double> z(a.rows());
    for (size_t i = 0; i < a.rows(); ++i) {
      double s = 0;
      for (size_t j = 0; j < coef.size(); ++j) s += a.row(i)[j] * coef[j];
      z[i] = s;
    }
    p.send(job.guest, "hlr/predict/wx", WireWriter().f64s(z).take());
    return;
  }
  DataSpec spec = job.data_spec(p.self, which);
  Dataset d;
  try {
    d = load_csv(spec);
  } catch (const Error&) {
    spec.with_label = false;  // prediction data may come without labels
    d = load_csv(spec);
  }
  check_features(m, d, model_dir + "/model.json");
  Dataset a = guest_intersect(p, d, "predict");
  double b = m["intercept"] ? std::strtod(m["intercept"].Scalar().c_str(), nullptr) : 0.0;
  std::vector<double> z(a.rows(), b);
  for (size_t i = 0; i < a.rows(); ++i)
    for (size_t j = 0; j < coef.size(); ++j) z[i] += a.row(i)[j] * coef[j];
  for (long h : job.hosts) {
    WireReader r(p.recv(h, "hlr/predict/wx"), "wx");
    auto v = r.f64s();
    if (v.size() != z.size()) throw failed("host " + std::to_string(h) + " sent the wrong number of scores");
    for (size_t i = 0; i < z.size(); ++i) z[i] += v[i];
  }
  double thr = m["threshold"] ? m["threshold"].as<double>() : 0.5;
  std::vector<double> scores(z.size());
  for (size_t i = 0; i < z.size(); ++i) scores[i] = sigmoid(z[i]);
  write_predictions(p, a.ids, scores, thr, a.labels);
  p.log("wrote predictions.csv (" + std::to_string(z.size()) + " rows)");
}

}  // namespace fatectl::ml::detail
