#pragma once
// Hetero (vertical) logistic regression as FATE 1.11 runs it: guest (labels + features),
// host(s) (features), arbiter (Paillier key holder, optimizer, convergence). See
// docs/training.md for the message flow and what each party learns.
//
// This header is private to ml/ and joins the files of the protocol:
//   hetero_lr.cc          entry points (train: dispatch by role; predict)
//   hetero_lr_common.cc   what several roles use: message names, fixed-point encoding,
//                         ciphertext packing, batch plans, setup, gradient exchange, epoch end, model
//   hetero_lr_align.cc    id alignment of guest and host rows (the intersection)
//   hetero_lr_guest.cc    the guest's training loop
//   hetero_lr_host.cc     the host's training loop
//   hetero_lr_arbiter.cc  the arbiter's training loop
//
// Numbers: features enter every gradient product as round(x·2^P) (P = floating_point_precision),
// residuals as round(d·2^40); every gradient sum is therefore an exact integer at scale
// 2^(P+40), and the arbiter divides by 2^(P+40)·n after decryption. Because the integer
// arithmetic is exact, the result does not depend on the key or on any randomness.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "fatectl/core/thread_pool.h"
#include "fatectl/he/paillier.h"
#include "fatectl/ml/data.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/params.h"
#include "protocols.h"

namespace fatectl::ml::detail::hlr {

using he::BigInt;
using he::Ciphertext;
/// Fixed-point bits of residuals d (features use floating_point_precision).
constexpr int kDBits = 40;

// ---- message names ----------------------------------------------------------------------------
/// "hlr/e<epoch>": prefix of an epoch's messages.
std::string E(long e);
/// "hlr/e<epoch>/b<batch>": prefix of a batch's messages.
std::string EB(long e, size_t b);

// ---- fixed-point encoding -----------------------------------------------------------------------
/// round(v·2^bits) as int64; throws Failed ("training diverged") when it does not fit.
int64_t quant(double v, int bits);
BigInt big_from_double(double v, int bits);  ///< round(v·2^bits) as a big integer
double big_to_double(const BigInt& v, int bits);  ///< v·2^-bits
BigInt big_from_i128(__int128 v);
/// A uniform element of Z_n from OpenSSL (for gradient masks).
BigInt random_mod(const BigInt& n);
/// Every feature of `d` quantized with quant(x, bits), row-major.
std::vector<int64_t> quantize(const Dataset& d, int bits);
/// Σ_k X[k·cols + j]·v[k] for every column j, exact in 128 bits, read row by row (rows split
/// over the pool). The plaintext half of a gradient: Xᵀ·v.
std::vector<__int128> plain_products(std::span<const int64_t> X, size_t cols, std::span<const int64_t> v,
                                     ThreadPool& pool);

// ---- ciphertexts and lists on the wire ----------------------------------------------------------
std::string pack_cts(const he::PublicKey& pk, const std::vector<Ciphertext>& cs);
/// Parses ciphertexts; `expect` (size_t(-1): any) is checked, the error names message `what`.
std::vector<Ciphertext> unpack_cts(const he::PublicKey& pk, const std::string& b, size_t expect, const std::string& what);
std::string join_lines(const std::vector<std::string>& v);
std::vector<std::string> split_lines(const std::string& s);

// ---- id alignment (hetero_lr_align.cc) ----------------------------------------------------------
// The one place where the guest and the hosts agree on common rows: private set intersection
// (src/psi, job.intersect.method), counts, and the checks that refuse a job on every party.
// `tag` separates alignments of one job ("train", "validate", "predict"); "train" also runs the
// data checks and tells the arbiter the verdict (docs/psi.md).
/// The guest's side: its rows that every host has, in the agreed order (ids sorted as strings).
Dataset guest_intersect(Party& p, const Dataset& d, const std::string& tag);
/// A host's side: its rows in the order the guest sent.
Dataset host_intersect(Party& p, const Dataset& d, const std::string& tag);
/// The arbiter's side of training alignment: waits for the guest's verdict (Invalid if refused).
void arbiter_alignment(Party& p);

// ---- batches ------------------------------------------------------------------------------------
/// Batches of the guest: shuffled positions of the aligned rows, cut into batch_size chunks.
std::vector<std::vector<size_t>> plan_batches(const LrParams& prm, uint64_t seed, long epoch, size_t N);
/// FATE 1.11 masked batches: the hosts get the batch rows plus masked_rate decoys per row.
std::vector<size_t> host_list(const LrParams& prm, uint64_t seed, long epoch, size_t b,
                              const std::vector<size_t>& batch, size_t N);
/// Whether batches are masked with decoy rows (mini-batches and masked_rate > 0).
bool masked_batches(const LrParams& prm, size_t N);

// ---- guest and host: setup, gradient, epoch end -------------------------------------------------
/// What the arbiter tells a guest or host at the start: where to start, the seed, the key.
struct Setup {
  long start = 0;
  uint64_t seed = 0;
  bool converged = false;
  he::PublicKey pk;
  std::shared_ptr<const he::PublicKey> shared;  ///< keeps the in-process key cache entry alive
};
/// Parties of one process (train --local, bench lr) that receive the same public key share one
/// parsed copy, so per-key precomputation (the fixed-base encryption table) happens once.
he::PublicKey shared_public_key(const std::string& text, std::shared_ptr<const he::PublicKey>& hold);
/// Tells the arbiter how many epochs this party has checkpointed and its feature count; returns
/// the arbiter's setup (and builds the key's encryption tables).
Setup party_setup(Party& p, long have, size_t nfeatures);

/// The answer to a gradient: the plaintext gradient (masked mode) or the arbiter's step Δ.
struct GradResult {
  std::vector<double> values;
  bool is_delta = true;
};
/// Sends [[G]] (+ optional loss ciphertext) to the arbiter and returns the plaintext gradient
/// of this party (÷ 2^S·n) — unmasked by the party itself in mask_gradients mode — or, in
/// the normal mode, the arbiter's step Δ. `is_delta` tells which came back.
GradResult exchange_gradient(Party& p, const he::PublicKey& pk, long e, size_t b, std::vector<Ciphertext> G,
                             size_t n, const Ciphertext* loss, int S);

/// The arbiter's verdict at the end of an epoch.
struct Status {
  bool converged = false, has_loss = false;
  double loss = 0;
};
Status recv_status(Party& p, long e);
/// Guest and host at the end of an epoch: the weight change for the arbiter's weight_diff check
/// (masked gradients: only the parties know it), the arbiter's verdict, then checkpoint and report.
/// `extra` adds to the checkpoint (validation state) once the status is known. Returns the status.
Status end_epoch(Party& p, const LrParams& prm, long e, const std::vector<double>& w,
                 const std::vector<double>& delta_sum, const Optimizer& opt,
                 const std::function<void(const Status&, YAML::Node& checkpoint)>& extra = {});

// ---- sample weights -------------------------------------------------------------------
// With sample weights the guest runs FATE's centralised path: hosts send [[fw_h]] at 2^kFwWBits,
// the guest multiplies each row by its weight round(w·2^kWBits) and adds w·half_d at 2^kDBits,
// so [[d]] keeps the usual scale 2^kDBits and nothing else changes for hosts or arbiter.
constexpr int kWBits = 20;
constexpr int kFwWBits = kDBits - kWBits;
/// Bits of the host's forward values: kDBits, or kFwWBits with sample weights.
inline int fw_bits(bool weighted) { return weighted ? kFwWBits : kDBits; }
/// Whether the job trains with sample weights (every party knows this from the job file).
bool weighted(const MlJob& job);

// ---- model files --------------------------------------------------------------------------------
/// model.json of a guest or host (fatectl-lr-model/1).
YAML::Node model_yaml(const MlJob& job, const std::string& role, long party, const std::vector<std::string>& names,
                      const std::vector<double>& w, bool intercept, long epochs, bool converged);
/// Reads <dir>/model.json and checks it is a model of `role`.
YAML::Node load_model(const std::string& dir, long party, const std::string& role);
/// Throws Invalid when the data's feature columns differ from the model's.
void check_features(const YAML::Node& m, const Dataset& d, const std::string& model_path);

// ---- the roles' training loops ------------------------------------------------------------------
void guest(Party& p);    ///< hetero_lr_guest.cc
void host(Party& p);     ///< hetero_lr_host.cc
void arbiter(Party& p);  ///< hetero_lr_arbiter.cc

}  // namespace fatectl::ml::detail::hlr
