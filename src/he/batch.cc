// Vector operations on the thread pool: batch encrypt/decrypt/re-randomise, and the gradient
// kernel Σ_i x_ij·E(d_i) by multi-exponentiation with shared buckets.
#include <algorithm>
#include <cstring>
#include <limits>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "he/detail.h"
#include "he/montgomery.h"

namespace fatectl::he {

std::vector<Ciphertext> encrypt_batch(const PublicKey& pk, std::span<const int64_t> values, ThreadPool& pool) {
  std::vector<Ciphertext> out(values.size());
  pool.parallel_for(values.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) out[i] = pk.encrypt(values[i]);
  });
  return out;
}

std::vector<Ciphertext> encrypt_batch(const PublicKey& pk, std::span<const BigInt> values, ThreadPool& pool) {
  std::vector<Ciphertext> out(values.size());
  pool.parallel_for(values.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) out[i] = pk.encrypt(values[i]);
  });
  return out;
}

std::vector<Ciphertext> encrypt_batch(const PrivateKey& sk, std::span<const int64_t> values, ThreadPool& pool) {
  std::vector<Ciphertext> out(values.size());
  pool.parallel_for(values.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) out[i] = sk.encrypt(values[i]);
  });
  return out;
}

std::vector<BigInt> decrypt_batch(const PrivateKey& sk, std::span<const Ciphertext> cs, ThreadPool& pool) {
  std::vector<BigInt> out(cs.size());
  pool.parallel_for(cs.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) out[i] = sk.decrypt_signed(cs[i]);
  });
  return out;
}

void rerandomize_batch(const PublicKey& pk, std::span<Ciphertext> cs, ThreadPool& pool) {
  pool.parallel_for(cs.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) pk.rerandomize_inplace(cs[i]);
  });
}

std::vector<Ciphertext> weighted_sums_naive(const PublicKey& pk, std::span<const Ciphertext> cs,
                                            std::span<const int64_t> x, size_t cols, ThreadPool& pool) {
  if (cols == 0 || x.size() != cs.size() * cols)
    throw invalid("weighted_sums: matrix has " + std::to_string(x.size()) + " entries, expected " +
                  std::to_string(cs.size()) + " rows × " + std::to_string(cols) + " columns");
  std::vector<Ciphertext> out(cols);
  pool.parallel_for(cols, [&](size_t b, size_t e, unsigned) {
    for (size_t j = b; j < e; ++j) {
      Ciphertext acc;
      mpz_set_ui(acc.c.get(), 1);
      for (size_t i = 0; i < cs.size(); ++i) {
        int64_t k = x[i * cols + j];
        if (k == 0) continue;
        pk.add_inplace(acc, pk.mul_scalar(cs[i], k));
      }
      out[j] = std::move(acc);
    }
  });
  return out;
}

namespace {

using u128 = unsigned __int128;

/// Multi-exponentiation plan: offset exponents x' = x + 2^B ∈ [1, 2^(B+1)), split into T
/// windows of w bits; every (row, window) power c_i^(2^(w·t)) is precomputed once and shared
/// by all columns; each column drops them into 2^w - 1 buckets by digit and folds the buckets
/// with two running products. The offset is removed with (Π c_i)^(-2^B), also shared.
struct Plan {
  unsigned B = 0, w = 1, T = 1;
};

Plan choose_plan(size_t rows, size_t cols, unsigned B) {
  Plan best;
  double best_cost = std::numeric_limits<double>::max();
  for (unsigned w = 1; w <= 14; ++w) {
    unsigned T = (B + 1 + w - 1) / w;
    double cost = double(cols) * (double(rows) * T + 2.0 * double(1u << w)) + double(rows) * (T - 1) * w;
    if (cost < best_cost) {
      best_cost = cost;
      best = Plan{B, w, T};
    }
  }
  return best;
}

}  // namespace

std::vector<Ciphertext> weighted_sums(const PublicKey& pk, std::span<const Ciphertext> cs,
                                      std::span<const int64_t> x, size_t cols, ThreadPool& pool) {
  const size_t rows = cs.size();
  if (cols == 0 || x.size() != rows * cols)
    throw invalid("weighted_sums: matrix has " + std::to_string(x.size()) + " entries, expected " +
                  std::to_string(rows) + " rows × " + std::to_string(cols) + " columns");
  const PublicKeyData& d = pk.data();
  std::vector<Ciphertext> out(cols);
  uint64_t maxabs = 0;
  for (int64_t v : x) {
    uint64_t a = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
    maxabs = std::max(maxabs, a);
  }
  if (rows == 0 || maxabs == 0) {
    for (auto& c : out) mpz_set_ui(c.c.get(), 1);
    return out;
  }
  unsigned B = 64 - static_cast<unsigned>(__builtin_clzll(maxabs));  // |x| < 2^B
  Plan plan = choose_plan(rows, cols, B);
  const unsigned w = plan.w, T = plan.T;
  const size_t nb = (size_t(1) << w) - 1;  // buckets 1..2^w-1

  Montgomery mont(d.n2.get());
  const size_t k = mont.limbs();
  const size_t sl = mont.scratch_limbs();

  // P[(i·T + t)·k] = c_i^(2^(w·t)) in Montgomery form.
  std::vector<mp_limb_t> P(rows * T * k);
  pool.parallel_for(rows, [&](size_t b, size_t e, unsigned) {
    std::vector<mp_limb_t> s(sl);
    for (size_t i = b; i < e; ++i) {
      mp_ptr base = P.data() + i * T * k;
      if (mpz_sgn(cs[i].c.get()) <= 0 || mpz_cmp(cs[i].c.get(), d.n2.get()) >= 0)
        throw invalid("weighted_sums: ciphertext " + std::to_string(i) + " is out of range");
      mont.to_mont(base, cs[i].c.get());
      for (unsigned t = 1; t < T; ++t) {
        mp_ptr prev = base + (t - 1) * k, cur = base + t * k;
        mont.sqr(cur, prev, s.data());
        for (unsigned r = 1; r < w; ++r) mont.sqr(cur, cur, s.data());
      }
    }
  });

  // Offset correction: (Π c_i)^(-2^B).
  std::vector<mp_limb_t> corr(k);
  {
    std::vector<mp_limb_t> s(sl), acc(k);
    std::memcpy(acc.data(), P.data(), k * sizeof(mp_limb_t));
    for (size_t i = 1; i < rows; ++i) mont.mul(acc.data(), acc.data(), P.data() + i * T * k, s.data());
    BigInt prod;
    mont.from_mont(prod.get(), acc.data(), s.data());
    if (mpz_invert(prod.get(), prod.get(), d.n2.get()) == 0) throw invalid("weighted_sums: a ciphertext is not a unit");
    mont.to_mont(corr.data(), prod.get());
    for (unsigned r = 0; r < B; ++r) mont.sqr(corr.data(), corr.data(), s.data());
  }

  const u128 offset = u128(1) << B;
  pool.parallel_for(cols, [&](size_t b, size_t e, unsigned) {
    std::vector<mp_limb_t> buckets(nb * k), s(sl), run(k), acc(k);
    std::vector<char> used(nb);
    for (size_t j = b; j < e; ++j) {
      std::fill(used.begin(), used.end(), 0);
      for (size_t i = 0; i < rows; ++i) {
        u128 v = u128(static_cast<__int128>(x[i * cols + j]) + static_cast<__int128>(offset));
        const mp_limb_t* row = P.data() + i * T * k;
        for (unsigned t = 0; t < T && v; ++t, v >>= w) {
          size_t dgt = static_cast<size_t>(v & nb);
          if (!dgt) continue;
          mp_ptr bk = buckets.data() + (dgt - 1) * k;
          if (!used[dgt - 1]) {
            std::memcpy(bk, row + t * k, k * sizeof(mp_limb_t));
            used[dgt - 1] = 1;
          } else {
            mont.mul(bk, bk, row + t * k, s.data());
          }
        }
      }
      // Π_d bucket[d]^d = Π_d (Π_{d' ≥ d} bucket[d']) via a running product.
      bool run_set = false, acc_set = false;
      for (size_t dgt = nb; dgt >= 1; --dgt) {
        if (used[dgt - 1]) {
          if (run_set) mont.mul(run.data(), run.data(), buckets.data() + (dgt - 1) * k, s.data());
          else std::memcpy(run.data(), buckets.data() + (dgt - 1) * k, k * sizeof(mp_limb_t));
          run_set = true;
        }
        if (run_set) {
          if (acc_set) mont.mul(acc.data(), acc.data(), run.data(), s.data());
          else std::memcpy(acc.data(), run.data(), k * sizeof(mp_limb_t));
          acc_set = true;
        }
      }
      if (!acc_set) std::memcpy(acc.data(), mont.one(), k * sizeof(mp_limb_t));
      mont.mul(acc.data(), acc.data(), corr.data(), s.data());
      mont.from_mont(out[j].c.get(), acc.data(), s.data());
    }
  });
  return out;
}

}  // namespace fatectl::he
