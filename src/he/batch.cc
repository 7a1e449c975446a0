// Vector operations on the thread pool: batch encrypt/decrypt/re-randomise, and the gradient
// kernel Σ_i x_ij·E(d_i) by multi-exponentiation with shared buckets. On CPUs with AVX-512 IFMA
// the kernel and fixed-base (DJN) batch encryption run on the radix-2^52 engine of he/ifma.h;
// elsewhere, and for other obfuscation modes, the GMP paths.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "he/detail.h"
#include "he/ifma.h"
#include "he/montgomery.h"

namespace fatectl::he {

static std::vector<Ciphertext> encrypt_batch_lib(const PublicKey& pk, std::span<const int64_t> values, ThreadPool& pool) {
  std::vector<Ciphertext> out(values.size());
  pool.parallel_for(values.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) out[i] = pk.encrypt(values[i]);
  });
  return out;
}

static std::vector<Ciphertext> encrypt_batch_lib(const PublicKey& pk, std::span<const BigInt> values, ThreadPool& pool) {
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

static void rerandomize_batch_lib(const PublicKey& pk, std::span<Ciphertext> cs, ThreadPool& pool) {
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

static std::vector<Ciphertext> weighted_sums_gmp(const PublicKey& pk, std::span<const Ciphertext> cs,
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
  std::atomic<size_t> next_col{0};  // columns handed out one at a time (no long tail)
  pool.parallel_for(std::min<size_t>(cols, pool.size()), [&](size_t, size_t, unsigned) {
    std::vector<mp_limb_t> buckets(nb * k), s(sl), run(k), acc(k);
    std::vector<char> used(nb);
    for (size_t j; (j = next_col.fetch_add(1)) < cols;) {
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


// ---------------------------------------------------------------------------------------------
// The same kernel on the IFMA engine (he/ifma.h), used when the CPU has it.
//
// One product is latency-bound (~the speed of GMP's mpn Montgomery product); G ≤ 4 independent
// products interleaved in one call (Ifma52::mul, mul_shared) fill the multiplier, which is where
// the 2× comes from. The bucket kernel is organised so that there are always several independent
// products at hand: G columns share each row power (shared b), and rows are precomputed G at a
// time.
namespace {
namespace ifma {

constexpr int kMaxG = Ifma52::kMaxWays;

/// Work split and window: row chunks × column groups (≤ kMaxG columns each), window w.
struct Plan {
  unsigned B = 0, w = 1, T = 1;
  size_t chunks = 1, groups = 1;
};

Plan choose_plan(size_t rows, size_t cols, unsigned B, unsigned threads, size_t digits) {
  Plan p;
  p.B = B;
  p.groups = (cols + kMaxG - 1) / kMaxG;
  // Split rows only when there are too few column groups to keep every thread busy; each chunk
  // repeats the bucket folding, so keep chunks large.
  size_t want = 2 * static_cast<size_t>(std::max(1u, threads));
  p.chunks = 1;
  if (p.groups < want) p.chunks = std::min((want + p.groups - 1) / p.groups, std::max<size_t>(1, rows / 512));
  const double crows = double(rows) / double(p.chunks);
  // Lanes per group: products in a group of g columns cost about 1/(speedup(g)) each.
  const double gsize = double(cols) / double(p.groups);
  const double lane_cost = gsize >= 3.5 ? 1.0 : gsize >= 2.5 ? 1.12 : gsize >= 1.5 ? 1.4 : 2.1;
  double best = std::numeric_limits<double>::max();
  for (unsigned w = 1; w <= 16; ++w) {
    const size_t nb = (size_t(1) << w) - 1;
    if (nb * digits * 8 * kMaxG > (size_t(96) << 20)) break;  // bucket memory per thread
    const unsigned T = (B + 1 + w - 1) / w;
    const double per_col = crows * T + 2.0 * double(nb);
    const double cost = lane_cost * double(cols) * double(p.chunks) * per_col + 1.4 * double(rows) * ((T - 1) * w + 1);
    if (cost < best) {
      best = cost;
      p.w = w;
      p.T = T;
    }
  }
  return p;
}

std::vector<Ciphertext> weighted_sums(const PublicKeyData& d, std::span<const Ciphertext> cs, std::span<const int64_t> x,
                                      size_t cols, unsigned B, ThreadPool& pool) {
  const size_t rows = cs.size();
  static thread_local std::unique_ptr<Ifma52> cache_ctx;
  static thread_local BigInt cache_n2;
  if (!d.ifma_n2 && (!cache_ctx || !(cache_n2 == d.n2))) {
    cache_ctx = std::make_unique<Ifma52>(d.n2.get());
    cache_n2 = d.n2;
  }
  const Ifma52& ctx = d.ifma_n2 ? *d.ifma_n2 : *cache_ctx;
  const size_t D = ctx.digits();
  const Plan plan = choose_plan(rows, cols, B, pool.size(), D);
  const unsigned w = plan.w, T = plan.T;
  const size_t nb = (size_t(1) << w) - 1;

  // P[(i·T + t)·D] = c_i^(2^(w·t)) in Montgomery form; rows G at a time (independent products).
  Ifma52Digits P(rows * T * D);
  pool.parallel_for((rows + kMaxG - 1) / kMaxG, [&](size_t b, size_t e, unsigned) {
    for (size_t blk = b; blk < e; ++blk) {
      const size_t i0 = blk * kMaxG, k = std::min<size_t>(kMaxG, rows - i0);
      uint64_t* r[kMaxG];
      const uint64_t* a[kMaxG];
      for (size_t g = 0; g < k; ++g) {
        const size_t i = i0 + g;
        mpz_srcptr c = cs[i].c.get();
        if (mpz_sgn(c) <= 0 || mpz_cmp(c, d.n2.get()) >= 0)
          throw invalid("weighted_sums: ciphertext " + std::to_string(i) + " is out of range");
        ctx.to_mont(P + i * T * D, c);
      }
      for (unsigned t = 1; t < T; ++t) {
        for (size_t g = 0; g < k; ++g) {
          r[g] = P + ((i0 + g) * T + t) * D;
          a[g] = P + ((i0 + g) * T + t - 1) * D;
        }
        ctx.mul(r, a, a, static_cast<int>(k));
        for (size_t g = 0; g < k; ++g) a[g] = r[g];
        for (unsigned s = 1; s < w; ++s) ctx.mul(r, a, a, static_cast<int>(k));
      }
    }
  });

  // Offset correction (Π c_i)^(-2^B): partial products per block of rows, then one inversion.
  Ifma52Digits corr(D);
  {
    const size_t blocks = std::min<size_t>(rows, 4 * static_cast<size_t>(pool.size()));
    Ifma52Digits part(blocks * D);
    pool.parallel_for(blocks, [&](size_t b, size_t e, unsigned) {
      for (size_t blk = b; blk < e; ++blk) {
        const size_t i0 = rows * blk / blocks, i1 = rows * (blk + 1) / blocks;
        uint64_t* acc = part + blk * D;
        std::memcpy(acc, P + i0 * T * D, D * 8);
        for (size_t i = i0 + 1; i < i1; ++i) ctx.mul(acc, acc, P + i * T * D);
      }
    });
    for (size_t blk = 1; blk < blocks; ++blk) ctx.mul(part.data(), part.data(), part + blk * D);
    BigInt prod;
    ctx.from_mont(prod.get(), part.data());
    if (mpz_invert(prod.get(), prod.get(), d.n2.get()) == 0) throw invalid("weighted_sums: a ciphertext is not a unit");
    ctx.to_mont(corr.data(), prod.get());
    for (unsigned r = 0; r < B; ++r) ctx.mul(corr.data(), corr.data(), corr.data());
  }

  // Column groups of nearly equal size.
  std::vector<size_t> gstart(plan.groups + 1);
  for (size_t g = 0; g <= plan.groups; ++g) gstart[g] = cols * g / plan.groups;
  const size_t chunks = plan.chunks;
  Ifma52Digits partial(chunks * cols * D);  // per (chunk, column) result in Montgomery form
  const unsigned __int128 offset = static_cast<unsigned __int128>(1) << B;
  // One task per thread pulling units one at a time (parallel_for's chunks would hand a thread
  // several units at once and leave a long tail on the last one).
  const size_t units = chunks * plan.groups;
  std::atomic<size_t> next_unit{0};
  pool.parallel_for(std::min<size_t>(units, pool.size()), [&](size_t, size_t, unsigned) {
    Ifma52Digits buckets(kMaxG * nb * D), run(kMaxG * D);
    std::vector<char> used(kMaxG * nb);
    for (size_t u; (u = next_unit.fetch_add(1)) < units;) {
      const size_t ch = u / plan.groups, grp = u % plan.groups;
      const size_t j0 = gstart[grp], G = gstart[grp + 1] - j0;
      const size_t i0 = rows * ch / chunks, i1 = rows * (ch + 1) / chunks;
      std::fill(used.begin(), used.end(), 0);
      uint64_t* r[kMaxG];
      const uint64_t* a[kMaxG];
      const uint64_t* bb[kMaxG];
      for (size_t i = i0; i < i1; ++i) {
        unsigned __int128 v[kMaxG];
        for (size_t g = 0; g < G; ++g)
          v[g] = static_cast<unsigned __int128>(static_cast<__int128>(x[i * cols + j0 + g]) + static_cast<__int128>(offset));
        for (unsigned t = 0; t < T; ++t) {
          const uint64_t* base = P + (i * T + t) * D;
          int k = 0;
          for (size_t g = 0; g < G; ++g) {
            const size_t dg = static_cast<size_t>(v[g] & nb);
            v[g] >>= w;
            if (!dg) continue;
            const size_t slot = g * nb + (dg - 1);
            uint64_t* bk = buckets + slot * D;
            if (!used[slot]) {
              std::memcpy(bk, base, D * 8);
              used[slot] = 1;
            } else {
              r[k] = bk;
              a[k] = bk;
              ++k;
            }
          }
          ctx.mul_shared(r, a, base, k);
        }
      }
      // Π_d bucket[d]^d by running products, the G columns side by side.
      bool run_set[kMaxG] = {}, acc_set[kMaxG] = {};
      uint64_t* acc[kMaxG];
      for (size_t g = 0; g < G; ++g) acc[g] = partial + (ch * cols + j0 + g) * D;
      for (size_t dg = nb; dg >= 1; --dg) {
        int k = 0;
        for (size_t g = 0; g < G; ++g) {
          const size_t slot = g * nb + (dg - 1);
          if (!used[slot]) continue;
          uint64_t* rg = run + g * D;
          if (run_set[g]) {
            r[k] = rg;
            a[k] = rg;
            bb[k] = buckets + slot * D;
            ++k;
          } else {
            std::memcpy(rg, buckets + slot * D, D * 8);
            run_set[g] = true;
          }
        }
        ctx.mul(r, a, bb, k);
        k = 0;
        for (size_t g = 0; g < G; ++g) {
          if (!run_set[g]) continue;
          if (acc_set[g]) {
            r[k] = acc[g];
            a[k] = acc[g];
            bb[k] = run + g * D;
            ++k;
          } else {
            std::memcpy(acc[g], run + g * D, D * 8);
            acc_set[g] = true;
          }
        }
        ctx.mul(r, a, bb, k);
      }
      for (size_t g = 0; g < G; ++g)
        if (!acc_set[g]) std::memcpy(acc[g], ctx.one(), D * 8);
    }
  });

  std::vector<Ciphertext> out(cols);
  pool.parallel_for(cols, [&](size_t b, size_t e, unsigned) {
    Ifma52Digits acc(D);
    for (size_t j = b; j < e; ++j) {
      std::memcpy(acc.data(), corr.data(), D * 8);
      for (size_t ch = 0; ch < chunks; ++ch) ctx.mul(acc.data(), acc.data(), partial + (ch * cols + j) * D);
      ctx.from_mont(out[j].c.get(), acc.data());
    }
  });
  return out;
}


/// The DJN table of h_s mod n² for exponents of `bits` bits (h_s^(d·2^(w·i)), window ≤ 9 within
/// 48 MiB): a mask costs one product per non-zero digit. Built once per process on the pool and
/// shared (a few keys kept).
std::shared_ptr<const Ifma52FixedBase> fixed_base(const PublicKeyData& d, unsigned bits, ThreadPool& pool) {
  struct Entry {
    BigInt n2, hs;
    unsigned bits;
    std::shared_ptr<const Ifma52FixedBase> fb;
  };
  static std::mutex mu;
  static std::vector<Entry> cache;
  std::lock_guard<std::mutex> l(mu);
  for (auto& e : cache)
    if (e.bits == bits && e.n2 == d.n2 && e.hs == d.hs) return e.fb;
  auto fb = std::make_shared<const Ifma52FixedBase>(d.hs.get(), d.n2.get(), bits, 0, size_t(48) << 20, &pool);
  if (cache.size() >= 2) cache.erase(cache.begin());
  cache.push_back(Entry{d.n2, d.hs, bits, fb});
  return fb;
}

/// out[k] ← E(m_k) = h_s^a·(1 + m_k·n) mod n² with fresh a of `bits` bits (m_k in [0, n));
/// with `rerandomize`, out[k] ← in[k]·h_s^a instead. Four at a time through the IFMA products.
void fixed_base_batch(const PublicKeyData& d, const Ifma52FixedBase& fb, size_t count,
                      const std::function<void(size_t, mpz_ptr)>& input, std::vector<Ciphertext>& out,
                      ThreadPool& pool) {
  const Ifma52& ctx = fb.modulus();
  const size_t D = ctx.digits();
  pool.parallel_for((count + kMaxG - 1) / kMaxG, [&](size_t b, size_t e, unsigned) {
    Ifma52Digits acc(kMaxG * D), in(kMaxG * D);
    BigInt a[kMaxG], t;
    mpz_srcptr ex[kMaxG];
    uint64_t* r[kMaxG];
    const uint64_t* aa[kMaxG];
    const uint64_t* bb[kMaxG];
    for (size_t blk = b; blk < e; ++blk) {
      const size_t k0 = blk * kMaxG;
      const int k = static_cast<int>(std::min<size_t>(kMaxG, count - k0));
      for (int g = 0; g < k; ++g) {
        detail::random_bits(a[g].get(), fb.max_bits());
        ex[g] = a[g].get();
        r[g] = acc + g * D;
        aa[g] = r[g];
        bb[g] = in + g * D;
      }
      fb.pow_mont(r, ex, k);
      // acc·R⁻¹·x = h_s^a·x in normal form, x = (1 + m·n) or the ciphertext to re-randomise.
      for (int g = 0; g < k; ++g) {
        input(k0 + g, t.get());
        ctx.to_digits(in + g * D, t.get());
      }
      ctx.mul(r, aa, bb, k);
      for (int g = 0; g < k; ++g) {
        mpz_ptr c = out[k0 + g].c.get();
        ctx.from_digits(c, acc + g * D);
        if (mpz_cmp(c, d.n2.get()) >= 0) mpz_sub(c, c, d.n2.get());
      }
    }
  });
}

/// Whether the IFMA fixed-base path applies to this key and mode.
bool fixed_base_applies(const PublicKey& pk) {
  return Ifma52::available() && pk.obfuscation() == Obfuscation::FixedBase && pk.exponent_bits() > 0 &&
         Ifma52::fits_products(mpz_sizeinbase(pk.data().n2.get(), 2));
}

/// E(m_k) for plaintexts m_k in [0, n) given by `plain`.
std::vector<Ciphertext> encrypt_fixed_base(const PublicKey& pk, size_t count,
                                           const std::function<void(size_t, mpz_ptr)>& plain, ThreadPool& pool) {
  const PublicKeyData& d = pk.data();
  std::vector<Ciphertext> out(count);
  if (count == 0) return out;
  auto fb = fixed_base(d, pk.exponent_bits(), pool);
  fixed_base_batch(d, *fb, count,
                   [&](size_t k, mpz_ptr x) {
                     plain(k, x);  // m in [0, n)
                     mpz_mul(x, x, d.n.get());
                     mpz_add_ui(x, x, 1);  // 1 + m·n < n²
                   },
                   out, pool);
  return out;
}

}  // namespace ifma
}  // namespace

std::vector<Ciphertext> encrypt_batch(const PublicKey& pk, std::span<const int64_t> values, ThreadPool& pool) {
  if (!ifma::fixed_base_applies(pk)) return encrypt_batch_lib(pk, values, pool);
  // Range checks first, as PublicKey::encrypt does (to_plaintext throws on overflow).
  std::vector<BigInt> m(values.size());
  for (size_t i = 0; i < values.size(); ++i) m[i] = to_plaintext(pk, BigInt::from_i64(values[i]));
  return ifma::encrypt_fixed_base(pk, m.size(), [&](size_t k, mpz_ptr x) { mpz_set(x, m[k].get()); }, pool);
}

std::vector<Ciphertext> encrypt_batch(const PublicKey& pk, std::span<const BigInt> values, ThreadPool& pool) {
  if (!ifma::fixed_base_applies(pk)) return encrypt_batch_lib(pk, values, pool);
  for (const auto& v : values)
    if (v.sign() < 0 || !(v < pk.n())) return encrypt_batch_lib(pk, values, pool);  // let it throw as before
  return ifma::encrypt_fixed_base(pk, values.size(), [&](size_t k, mpz_ptr x) { mpz_set(x, values[k].get()); }, pool);
}

void rerandomize_batch(const PublicKey& pk, std::span<Ciphertext> cs, ThreadPool& pool) {
  if (!ifma::fixed_base_applies(pk) || cs.empty()) return rerandomize_batch_lib(pk, cs, pool);
  const PublicKeyData& d = pk.data();
  for (const auto& c : cs)
    if (mpz_sgn(c.c.get()) < 0 || mpz_cmp(c.c.get(), d.n2.get()) >= 0) return rerandomize_batch_lib(pk, cs, pool);
  auto fb = ifma::fixed_base(d, pk.exponent_bits(), pool);
  std::vector<Ciphertext> out(cs.size());
  ifma::fixed_base_batch(d, *fb, cs.size(), [&](size_t k, mpz_ptr x) { mpz_set(x, cs[k].c.get()); }, out, pool);
  for (size_t i = 0; i < cs.size(); ++i) cs[i] = std::move(out[i]);
}

std::vector<Ciphertext> weighted_sums(const PublicKey& pk, std::span<const Ciphertext> cs, std::span<const int64_t> x,
                                      size_t cols, ThreadPool& pool) {
  const size_t rows = cs.size();
  if (cols == 0 || x.size() != rows * cols)
    throw invalid("weighted_sums: matrix has " + std::to_string(x.size()) + " entries, expected " +
                  std::to_string(rows) + " rows × " + std::to_string(cols) + " columns");
  uint64_t maxabs = 0;
  for (int64_t v : x) {
    uint64_t a = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
    maxabs = std::max(maxabs, a);
  }
  if (rows == 0 || maxabs == 0) {
    std::vector<Ciphertext> out(cols);
    for (auto& c : out) mpz_set_ui(c.c.get(), 1);
    return out;
  }
  const PublicKeyData& d = pk.data();
  if (Ifma52::available() && Ifma52::fits_products(mpz_sizeinbase(d.n2.get(), 2))) {
    const unsigned B = 64 - static_cast<unsigned>(__builtin_clzll(maxabs));  // |x| < 2^B
    return ifma::weighted_sums(d, cs, x, cols, B, pool);
  }
  return weighted_sums_gmp(pk, cs, x, cols, pool);
}

}  // namespace fatectl::he
