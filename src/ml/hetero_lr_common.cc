// Hetero LR: the parts more than one role uses — message names, fixed-point encoding, ciphertext
// packing, batch plans, the guest/host setup with the arbiter, the gradient exchange, the end of
// an epoch and model files. The protocol and its number format: hetero_lr_common.h.
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

namespace fatectl::ml::detail::hlr {

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
// Returns the status.
Status end_epoch(Party& p, const LrParams& prm, long e, const std::vector<double>& w,
                 const std::vector<double>& delta_sum, const Optimizer& opt,
                 const std::function<void(const Status&, YAML::Node& checkpoint)>& extra) {
  if (prm.mask_gradients && prm.early_stop == EarlyStop::WeightDiff) {
    double sq = 0;
    for (double x : delta_sum) sq += x * x;
    p.send(p.job.arbiter, E(e) + "/wdiff", WireWriter().f64(sq).take());
  }
  Status s = recv_status(p, e);
  YAML::Node ck;
  ck["weights"] = to_seq(w);
  if (prm.mask_gradients) ck["optimizer"] = opt.state();
  if (extra) extra(s, ck);
  p.save_checkpoint(e + 1, ck);
  p.report_epoch(e + 1, s.has_loss, s.loss, s.converged);
  p.maybe_stop(e + 1);
  return s;
}

bool weighted(const MlJob& job) { return job.weights.any(); }

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

}  // namespace fatectl::ml::detail::hlr
