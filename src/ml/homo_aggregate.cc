// Homo LR: secure sums of statistics through the arbiter (see homo_common.h).
#include <cmath>
#include <cstdio>

#include "fatectl/core/error.h"
#include "fatectl/ml/wire.h"
#include "homo_common.h"

namespace fatectl::ml::detail::homo {

namespace {

std::string padded_payload(Party& p, const PadCipher& pads, const std::string& tag, const std::vector<double>& v,
                           const std::string& what) {
  std::vector<unsigned __int128> q;
  q.reserve(v.size());
  for (double x : v) q.push_back(to_fixed128(x, what));
  q = pads.mask128(p.self, p.job.id, tag, std::move(q));
  std::vector<uint64_t> words;
  words.reserve(2 * q.size());
  for (auto x : q) {
    words.push_back(static_cast<uint64_t>(x));
    words.push_back(static_cast<uint64_t>(x >> 64));
  }
  return WireWriter().u64s(words).take();
}

}  // namespace

std::vector<double> secure_sum(Party& p, const PadCipher& pads, const std::string& tag, const std::vector<double>& v,
                               const std::string& what) {
  send_padded(p, pads, tag, v, what);
  WireReader r(p.recv(p.job.arbiter, "homo/" + tag + "/sum"), tag + " sum");
  auto total = r.f64s();
  r.done();
  if (total.size() != v.size()) throw failed("arbiter sent a sum of the wrong size for " + what);
  return total;
}

void send_padded(Party& p, const PadCipher& pads, const std::string& tag, const std::vector<double>& v,
                 const std::string& what) {
  p.send(p.job.arbiter, "homo/" + tag + "/agg", padded_payload(p, pads, tag, v, what));
}

std::vector<double> collect_sum(Party& p, const std::vector<long>& clients, const std::string& tag) {
  std::vector<unsigned __int128> sum;
  bool first = true;
  for (long q : clients) {
    WireReader r(p.recv(q, "homo/" + tag + "/agg"), tag);
    auto words = r.u64s();
    r.done();
    if (words.size() % 2) throw failed("party " + std::to_string(q) + " sent a malformed " + tag + " sum");
    if (first) sum.assign(words.size() / 2, 0);
    first = false;
    if (words.size() / 2 != sum.size()) throw failed("party " + std::to_string(q) + " sent a " + tag + " sum of another size");
    for (size_t i = 0; i < sum.size(); ++i)
      sum[i] += (static_cast<unsigned __int128>(words[2 * i + 1]) << 64) | words[2 * i];
  }
  std::vector<double> out;
  for (auto x : sum) out.push_back(from_fixed128(x));
  return out;
}

void serve_sum(Party& p, const std::vector<long>& clients, const std::string& tag) {
  std::string m = WireWriter().f64s(collect_sum(p, clients, tag)).take();
  for (long q : clients) p.send(q, "homo/" + tag + "/sum", m);
}

int stat_rounds(const MlJob& job) {
  const PrepParams& pp = job.prep;
  if (pp.statistics != StatsScope::Federated) return 0;
  int n = 0;
  if (pp.missing_fill && uses_mean(pp.missing_fill_method, pp.col_missing_fill_method)) ++n;
  if (pp.outlier_replace && uses_mean(pp.outlier_replace_method, pp.col_outlier_replace_method)) ++n;
  if (pp.scale == ScaleMethod::Standard) n += 2;
  const SampleWeightParams& w = job.weights;
  if (!w.sample_weight_name.empty() ? w.normalize : w.class_weight == SampleWeightParams::Mode::Balanced) ++n;
  return n;
}

uint64_t model_fixed(double x, const std::string& what) {
  double s = std::ldexp(x, 32);
  if (std::fabs(s) < 0x1p62) return to_fixed(x);
  char v[32];
  std::snprintf(v, sizeof v, "%.3g", x);
  throw failed("secure aggregation: the " + what + " times this client's row count is " + v +
               ", too large for the aggregation's 2^-32 fixed point (|value| < 2^30); the features are probably on "
               "very different scales: scale them (algorithm.params.feature_scale: {method: standard_scale}) or lower "
               "learning_rate");
}

}  // namespace fatectl::ml::detail::homo
