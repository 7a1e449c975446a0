// Vector operations on the thread pool: batch encrypt/decrypt/re-randomise, and the gradient
// kernel Σ_i x_ij·E(d_i) by multi-exponentiation with shared buckets. On CPUs with AVX-512 IFMA
// the kernel and fixed-base (DJN) batch encryption run on radix-2^52 vector products (below);
// elsewhere, and for other obfuscation modes, the GMP paths.
#include <immintrin.h>

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
// The same kernel on AVX-512 IFMA (52-bit digits, vpmadd52luq/huq), used when the CPU has it.
//
// Numbers mod N are D = 8·V digits of 52 bits (V 512-bit vectors). amm() is the "almost
// Montgomery" product a·b·2^(-52·D) mod N with inputs and output < 2N (R = 2^(52·D) > 4N).
// One product is latency-bound (~the speed of GMP's mpn Montgomery product); G independent
// products interleaved in one loop fill the multiplier, which is where the 2× comes from. The
// bucket kernel is organised so that there are always several independent products at hand:
// G columns share each row power (shared b), and rows are precomputed G at a time.
namespace {
namespace ifma {

constexpr uint64_t kMask = (uint64_t(1) << 52) - 1;
constexpr int kMaxG = 4;

bool cpu_has_ifma() {
  static const bool ok = [] {
    if (const char* e = std::getenv("FATECTL_HE_NO_IFMA"); e && *e && std::strcmp(e, "0") != 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
  }();
  return ok;
}

/// 64-byte aligned array of digits.
struct Buf {
  uint64_t* p = nullptr;
  Buf() = default;
  explicit Buf(size_t n, bool zero = false) {
    const size_t bytes = std::max<size_t>(64, (n * 8 + 63) / 64 * 64);
    p = static_cast<uint64_t*>(std::aligned_alloc(64, bytes));
    if (!p) throw std::bad_alloc();
    if (zero) std::memset(p, 0, bytes);
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  Buf(Buf&& o) noexcept : p(o.p) { o.p = nullptr; }
  Buf& operator=(Buf&& o) noexcept { std::swap(p, o.p); return *this; }
  ~Buf() { std::free(p); }
  uint64_t* operator+(size_t i) const { return p + i; }
};

// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined placeholders.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
/// r[g] ← a[g]·b[g]·R⁻¹ (mod N, < 2N) for g < G; b[g] all equal when SharedB. r may alias a or b.
template <int V, int G, bool SharedB>
__attribute__((target("avx512f,avx512ifma"))) void amm(uint64_t* const* r, const uint64_t* const* a,
                                                       const uint64_t* const* b, const uint64_t* n, uint64_t k0) {
  __m512i acc[G][V];
  __m512i bsh[SharedB ? V : 1];
  for (int g = 0; g < G; ++g)
    for (int v = 0; v < V; ++v) acc[g][v] = _mm512_setzero_si512();
  if constexpr (SharedB)
    for (int v = 0; v < V; ++v) bsh[v] = _mm512_load_si512(b[0] + 8 * v);
  const __m512i zero = _mm512_setzero_si512();
  const uint64_t n0 = n[0];
  for (int i = 0; i < 8 * V; ++i) {
    __m512i ai[G], mv[G];
    uint64_t c[G];
    for (int g = 0; g < G; ++g) {
      const uint64_t aig = a[g][i];
      ai[g] = _mm512_set1_epi64(static_cast<long long>(aig));
      uint64_t t0 = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(acc[g][0])));
      t0 += (aig * b[SharedB ? 0 : g][0]) & kMask;
      const uint64_t m = (t0 * k0) & kMask;
      mv[g] = _mm512_set1_epi64(static_cast<long long>(m));
      c[g] = (t0 + ((m * n0) & kMask)) >> 52;
    }
    for (int g = 0; g < G; ++g)
      for (int v = 0; v < V; ++v) {
        const __m512i bv = SharedB ? bsh[v] : _mm512_load_si512(b[g] + 8 * v);
        acc[g][v] = _mm512_madd52lo_epu64(acc[g][v], ai[g], bv);
        acc[g][v] = _mm512_madd52lo_epu64(acc[g][v], mv[g], _mm512_load_si512(n + 8 * v));
      }
    for (int g = 0; g < G; ++g) {
      for (int v = 0; v < V - 1; ++v) acc[g][v] = _mm512_alignr_epi64(acc[g][v + 1], acc[g][v], 1);
      acc[g][V - 1] = _mm512_alignr_epi64(zero, acc[g][V - 1], 1);
      acc[g][0] = _mm512_add_epi64(acc[g][0], _mm512_zextsi128_si512(_mm_cvtsi64_si128(static_cast<long long>(c[g]))));
    }
    for (int g = 0; g < G; ++g)
      for (int v = 0; v < V; ++v) {
        const __m512i bv = SharedB ? bsh[v] : _mm512_load_si512(b[g] + 8 * v);
        acc[g][v] = _mm512_madd52hi_epu64(acc[g][v], ai[g], bv);
        acc[g][v] = _mm512_madd52hi_epu64(acc[g][v], mv[g], _mm512_load_si512(n + 8 * v));
      }
  }
  for (int g = 0; g < G; ++g) {
    alignas(64) uint64_t t[8 * V];
    for (int v = 0; v < V; ++v) _mm512_store_si512(t + 8 * v, acc[g][v]);
    uint64_t cy = 0;
    for (int j = 0; j < 8 * V; ++j) {
      const uint64_t s = t[j] + cy;
      r[g][j] = s & kMask;
      cy = s >> 52;
    }
  }
}

#pragma GCC diagnostic pop

using MulFn = void (*)(uint64_t* const*, const uint64_t* const*, const uint64_t* const*, const uint64_t*, uint64_t);

struct Fns {
  MulFn shared[kMaxG + 1] = {};
  MulFn distinct[kMaxG + 1] = {};
};

template <int V>
Fns fns_for() {
  Fns f;
  f.shared[1] = &amm<V, 1, true>;
  f.shared[2] = &amm<V, 2, true>;
  f.shared[3] = &amm<V, 3, true>;
  f.shared[4] = &amm<V, 4, true>;
  f.distinct[1] = &amm<V, 1, false>;
  f.distinct[2] = &amm<V, 2, false>;
  f.distinct[3] = &amm<V, 3, false>;
  f.distinct[4] = &amm<V, 4, false>;
  return f;
}

/// Montgomery context mod an odd N in 52-bit digits.
class Ctx {
 public:
  explicit Ctx(mpz_srcptr N) {
    const size_t bits = mpz_sizeinbase(N, 2);
    const unsigned need = static_cast<unsigned>((bits + 2 + 52 * 8 - 1) / (52 * 8));  // R > 4N
    static const unsigned sizes[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20};
    V_ = 0;
    for (unsigned s : sizes)
      if (s >= need) {
        V_ = s;
        break;
      }
    if (V_ == 0) return;  // too wide: not supported
    D_ = 8 * V_;
    switch (V_) {
      case 1: f_ = fns_for<1>(); break;
      case 2: f_ = fns_for<2>(); break;
      case 3: f_ = fns_for<3>(); break;
      case 4: f_ = fns_for<4>(); break;
      case 5: f_ = fns_for<5>(); break;
      case 6: f_ = fns_for<6>(); break;
      case 8: f_ = fns_for<8>(); break;
      case 10: f_ = fns_for<10>(); break;
      case 12: f_ = fns_for<12>(); break;
      case 16: f_ = fns_for<16>(); break;
      default: f_ = fns_for<20>(); break;
    }
    mpz_init_set(N_, N);
    n_ = Buf(D_, true);
    r2_ = Buf(D_, true);
    unit_ = Buf(D_, true);
    one_ = Buf(D_, true);
    to_digits(n_.p, N);
    mpz_t t, m;
    mpz_inits(t, m, nullptr);
    mpz_setbit(m, 52);
    mpz_invert(t, N, m);
    mpz_sub(t, m, t);  // -N⁻¹ mod 2^52
    k0_ = mpz_get_ui(t);
    mpz_set_ui(t, 0);
    mpz_setbit(t, 2 * 52 * D_);
    mpz_mod(t, t, N);
    to_digits(r2_.p, t);
    mpz_set_ui(t, 0);
    mpz_setbit(t, 52 * D_);
    mpz_mod(t, t, N);
    to_digits(one_.p, t);
    unit_.p[0] = 1;
    mpz_clears(t, m, nullptr);
    ok_ = true;
  }
  ~Ctx() {
    if (ok_) mpz_clear(N_);
  }
  Ctx(const Ctx&) = delete;
  Ctx& operator=(const Ctx&) = delete;

  bool ok() const { return ok_; }
  size_t digits() const { return D_; }
  const uint64_t* one() const { return one_.p; }  ///< R mod N (Montgomery 1)

  /// r[g] ← a[g]·b (shared b), g < k ≤ kMaxG.
  void mul_shared(uint64_t* const* r, const uint64_t* const* a, const uint64_t* b, int k) const {
    if (k <= 0) return;
    const uint64_t* bb[1] = {b};
    f_.shared[k](r, a, bb, n_.p, k0_);
  }
  /// r[g] ← a[g]·b[g], g < k ≤ kMaxG.
  void mul(uint64_t* const* r, const uint64_t* const* a, const uint64_t* const* b, int k) const {
    if (k <= 0) return;
    f_.distinct[k](r, a, b, n_.p, k0_);
  }
  void mul1(uint64_t* r, const uint64_t* a, const uint64_t* b) const {
    uint64_t* rr[1] = {r};
    const uint64_t* aa[1] = {a};
    const uint64_t* bb[1] = {b};
    f_.distinct[1](rr, aa, bb, n_.p, k0_);
  }
  /// Digits of x (0 ≤ x < 2^(52·D)).
  void to_digits(uint64_t* d, mpz_srcptr x) const {
    const mp_limb_t* l = mpz_limbs_read(x);
    const size_t nl = mpz_size(x);
    for (size_t j = 0; j < D_; ++j) {
      const size_t bit = 52 * j, li = bit / 64, off = bit % 64;
      uint64_t v = li < nl ? l[li] >> off : 0;
      if (off > 12 && li + 1 < nl) v |= l[li + 1] << (64 - off);
      d[j] = v & kMask;
    }
  }
  /// x ← the number with digits d (each < 2^52).
  void from_digits(mpz_ptr x, const uint64_t* d) const {
    const size_t nl = (52 * D_ + 63) / 64;
    mp_limb_t* l = mpz_limbs_write(x, static_cast<mp_size_t>(nl));
    std::memset(l, 0, nl * sizeof(mp_limb_t));
    for (size_t j = 0; j < D_; ++j) {
      const size_t bit = 52 * j, li = bit / 64, off = bit % 64;
      l[li] |= d[j] << off;
      if (off > 12) l[li + 1] |= d[j] >> (64 - off);
    }
    size_t sz = nl;
    while (sz > 0 && l[sz - 1] == 0) --sz;
    mpz_limbs_finish(x, static_cast<mp_size_t>(sz));
  }
  /// r ← x·R mod N for 0 ≤ x < N (Montgomery form).
  void to_mont(uint64_t* r, mpz_srcptr x) const {
    alignas(64) uint64_t t[8 * 20];
    to_digits(t, x);
    mul1(r, t, r2_.p);
  }
  /// out ← a·R⁻¹ mod N, fully reduced.
  void from_mont(mpz_ptr out, const uint64_t* a) const {
    alignas(64) uint64_t t[8 * 20];
    mul1(t, a, unit_.p);
    from_digits(out, t);
    if (mpz_cmp(out, N_) >= 0) mpz_sub(out, out, N_);
  }

 private:
  bool ok_ = false;
  unsigned V_ = 0;
  size_t D_ = 0;
  Fns f_;
  mpz_t N_;
  Buf n_, r2_, unit_, one_;
  uint64_t k0_ = 0;
};

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
  static thread_local std::unique_ptr<Ctx> cache_ctx;
  static thread_local BigInt cache_n2;
  if (!cache_ctx || !(cache_n2 == d.n2)) {
    cache_ctx = std::make_unique<Ctx>(d.n2.get());
    cache_n2 = d.n2;
  }
  const Ctx& ctx = *cache_ctx;
  const size_t D = ctx.digits();
  const Plan plan = choose_plan(rows, cols, B, pool.size(), D);
  const unsigned w = plan.w, T = plan.T;
  const size_t nb = (size_t(1) << w) - 1;

  // P[(i·T + t)·D] = c_i^(2^(w·t)) in Montgomery form; rows G at a time (independent products).
  Buf P(rows * T * D);
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
  Buf corr(D);
  {
    const size_t blocks = std::min<size_t>(rows, 4 * static_cast<size_t>(pool.size()));
    Buf part(blocks * D);
    pool.parallel_for(blocks, [&](size_t b, size_t e, unsigned) {
      for (size_t blk = b; blk < e; ++blk) {
        const size_t i0 = rows * blk / blocks, i1 = rows * (blk + 1) / blocks;
        uint64_t* acc = part + blk * D;
        std::memcpy(acc, P + i0 * T * D, D * 8);
        for (size_t i = i0 + 1; i < i1; ++i) ctx.mul1(acc, acc, P + i * T * D);
      }
    });
    for (size_t blk = 1; blk < blocks; ++blk) ctx.mul1(part.p, part.p, part + blk * D);
    BigInt prod;
    ctx.from_mont(prod.get(), part.p);
    if (mpz_invert(prod.get(), prod.get(), d.n2.get()) == 0) throw invalid("weighted_sums: a ciphertext is not a unit");
    ctx.to_mont(corr.p, prod.get());
    for (unsigned r = 0; r < B; ++r) ctx.mul1(corr.p, corr.p, corr.p);
  }

  // Column groups of nearly equal size.
  std::vector<size_t> gstart(plan.groups + 1);
  for (size_t g = 0; g <= plan.groups; ++g) gstart[g] = cols * g / plan.groups;
  const size_t chunks = plan.chunks;
  Buf partial(chunks * cols * D);  // per (chunk, column) result in Montgomery form
  const unsigned __int128 offset = static_cast<unsigned __int128>(1) << B;
  // One task per thread pulling units one at a time (parallel_for's chunks would hand a thread
  // several units at once and leave a long tail on the last one).
  const size_t units = chunks * plan.groups;
  std::atomic<size_t> next_unit{0};
  pool.parallel_for(std::min<size_t>(units, pool.size()), [&](size_t, size_t, unsigned) {
    Buf buckets(kMaxG * nb * D), run(kMaxG * D);
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
    Buf acc(D);
    for (size_t j = b; j < e; ++j) {
      std::memcpy(acc.p, corr.p, D * 8);
      for (size_t ch = 0; ch < chunks; ++ch) ctx.mul1(acc.p, acc.p, partial + (ch * cols + j) * D);
      ctx.from_mont(out[j].c.get(), acc.p);
    }
  });
  return out;
}


/// h_s^(d·2^(w·i)) for every window i and digit d, in Montgomery form mod n²: the DJN mask for a
/// random exponent a costs one product per non-zero w-bit digit of a.
struct FixedBase {
  std::unique_ptr<Ctx> ctx;
  unsigned bits = 0, w = 0, windows = 0;
  size_t per = 0;
  Buf table;
  const uint64_t* entry(unsigned i, unsigned dgt) const { return table + ((size_t(i) * per) + (dgt - 1)) * ctx->digits(); }
};

std::shared_ptr<const FixedBase> build_fixed_base(const PublicKeyData& d, unsigned bits, ThreadPool& pool) {
  auto fb = std::make_shared<FixedBase>();
  fb->ctx = std::make_unique<Ctx>(d.n2.get());
  if (!fb->ctx->ok()) return nullptr;
  const Ctx& ctx = *fb->ctx;
  const size_t D = ctx.digits();
  unsigned w = 9;
  for (; w > 4; --w) {
    size_t windows = (bits + w - 1) / w;
    if (windows * ((size_t(1) << w) - 1) * D * 8 <= (size_t(48) << 20)) break;
  }
  fb->bits = bits;
  fb->w = w;
  fb->windows = (bits + w - 1) / w;
  fb->per = (size_t(1) << w) - 1;
  fb->table = Buf(size_t(fb->windows) * fb->per * D);
  const unsigned W = fb->windows;
  const size_t per = fb->per;
  uint64_t* tab = fb->table.p;
  auto row = [&](unsigned i) { return tab + size_t(i) * per * D; };
  // First entry of every window: h_s^(2^(w·i)).
  ctx.to_mont(row(0), d.hs.get());
  for (unsigned i = 1; i < W; ++i) {
    std::memcpy(row(i), row(i - 1), D * 8);
    for (unsigned s = 0; s < w; ++s) ctx.mul1(row(i), row(i), row(i));
  }
  pool.parallel_for((W + kMaxG - 1) / kMaxG, [&](size_t b, size_t e, unsigned) {
    for (size_t blk = b; blk < e; ++blk) {
      const unsigned i0 = static_cast<unsigned>(blk * kMaxG);
      const int k = static_cast<int>(std::min<unsigned>(kMaxG, W - i0));
      uint64_t* r[kMaxG];
      const uint64_t* a[kMaxG];
      const uint64_t* bb[kMaxG];
      for (size_t dg = 1; dg < per; ++dg) {
        for (int g = 0; g < k; ++g) {
          r[g] = row(i0 + g) + dg * D;
          a[g] = row(i0 + g) + (dg - 1) * D;
          bb[g] = row(i0 + g);
        }
        ctx.mul(r, a, bb, k);
      }
    }
  });
  return fb;
}

/// The table for this key and exponent size, built once per process and shared (a few keys kept).
std::shared_ptr<const FixedBase> fixed_base(const PublicKeyData& d, unsigned bits, ThreadPool& pool) {
  struct Entry {
    BigInt n2, hs;
    unsigned bits;
    std::shared_ptr<const FixedBase> fb;
  };
  static std::mutex mu;
  static std::vector<Entry> cache;
  std::lock_guard<std::mutex> l(mu);
  for (auto& e : cache)
    if (e.bits == bits && e.n2 == d.n2 && e.hs == d.hs) return e.fb;
  auto fb = build_fixed_base(d, bits, pool);
  if (cache.size() >= 2) cache.erase(cache.begin());
  cache.push_back(Entry{d.n2, d.hs, bits, fb});
  return fb;
}

/// out[k] ← E(m_k) = h_s^a·(1 + m_k·n) mod n² with fresh a of `bits` bits (m_k in [0, n));
/// with `rerandomize`, out[k] ← in[k]·h_s^a instead. Four at a time through the IFMA products.
void fixed_base_batch(const PublicKeyData& d, const FixedBase& fb, size_t count,
                      const std::function<void(size_t, mpz_ptr)>& input, std::vector<Ciphertext>& out,
                      ThreadPool& pool) {
  const Ctx& ctx = *fb.ctx;
  const size_t D = ctx.digits();
  pool.parallel_for((count + kMaxG - 1) / kMaxG, [&](size_t b, size_t e, unsigned) {
    Buf acc(kMaxG * D), in(kMaxG * D);
    mpz_t a[kMaxG], t;
    for (auto& z : a) mpz_init(z);
    mpz_init(t);
    try {
      for (size_t blk = b; blk < e; ++blk) {
        const size_t k0 = blk * kMaxG, k = std::min<size_t>(kMaxG, count - k0);
        bool set[kMaxG] = {};
        for (size_t g = 0; g < k; ++g) detail::random_bits(a[g], fb.bits);
        uint64_t* r[kMaxG];
        const uint64_t* aa[kMaxG];
        const uint64_t* bb[kMaxG];
        for (unsigned i = 0; i < fb.windows; ++i) {
          int n = 0;
          const size_t bit = size_t(i) * fb.w, limb = bit / 64, off = bit % 64;
          for (size_t g = 0; g < k; ++g) {
            const mp_size_t en = static_cast<mp_size_t>(mpz_size(a[g]));
            if (static_cast<mp_size_t>(limb) >= en) continue;
            const mp_limb_t* el = mpz_limbs_read(a[g]);
            mp_limb_t v = el[limb] >> off;
            if (off + fb.w > 64 && static_cast<mp_size_t>(limb + 1) < en) v |= el[limb + 1] << (64 - off);
            const unsigned dg = static_cast<unsigned>(v & fb.per);
            if (!dg) continue;
            uint64_t* ag = acc + g * D;
            if (!set[g]) {
              std::memcpy(ag, fb.entry(i, dg), D * 8);
              set[g] = true;
            } else {
              r[n] = ag;
              aa[n] = ag;
              bb[n] = fb.entry(i, dg);
              ++n;
            }
          }
          ctx.mul(r, aa, bb, n);
        }
        // acc·R⁻¹·x = h_s^a·x in normal form, x = (1 + m·n) or the ciphertext to re-randomise.
        int n = 0;
        for (size_t g = 0; g < k; ++g) {
          if (!set[g]) std::memcpy(acc + g * D, ctx.one(), D * 8);
          input(k0 + g, t);
          ctx.to_digits(in + g * D, t);
          r[n] = acc + g * D;
          aa[n] = acc + g * D;
          bb[n] = in + g * D;
          ++n;
        }
        ctx.mul(r, aa, bb, n);
        for (size_t g = 0; g < k; ++g) {
          mpz_ptr c = out[k0 + g].c.get();
          ctx.from_digits(c, acc + g * D);
          if (mpz_cmp(c, d.n2.get()) >= 0) mpz_sub(c, c, d.n2.get());
        }
      }
    } catch (...) {
      for (auto& z : a) mpz_clear(z);
      mpz_clear(t);
      throw;
    }
    for (auto& z : a) mpz_clear(z);
    mpz_clear(t);
  });
}

/// Whether the IFMA fixed-base path applies to this key and mode.
bool fixed_base_applies(const PublicKey& pk) {
  return cpu_has_ifma() && pk.obfuscation() == Obfuscation::FixedBase && pk.exponent_bits() > 0 &&
         mpz_sizeinbase(pk.data().n2.get(), 2) + 2 <= 52 * 8 * 20;
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
  if (ifma::cpu_has_ifma() && mpz_sizeinbase(d.n2.get(), 2) + 2 <= 52 * 8 * 20) {
    const unsigned B = 64 - static_cast<unsigned>(__builtin_clzll(maxabs));  // |x| < 2^B
    return ifma::weighted_sums(d, cs, x, cols, B, pool);
  }
  return weighted_sums_gmp(pk, cs, x, cols, pool);
}

}  // namespace fatectl::he
