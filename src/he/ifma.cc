// The radix-2^52 IFMA engine: almost-Montgomery products with AVX-512 IFMA, fixed-window
// exponentiation and fixed-base tables on top of them.
//
// A number is D = 8·V digits of 52 bits held in V vectors of 8 lanes. One product (a·b·R⁻¹,
// R = 2^(52·D)) walks the digits b_i of b: it adds a·b_i and y·N (y chosen to clear the low
// digit) to the accumulator, then shifts it down one digit. The low halves (vpmadd52luq) land in
// the digit's own lane and the high halves (vpmadd52huq) in the next one, i.e. in the same lane
// after the shift. Lanes are only normalised to 52 bits at the end (each lane stays below
// 2^61). The low digit is tracked in a scalar register too, so the carry out of the dropped
// digit never has to go back into a vector inside the loop. Inputs and outputs are < 2N, which
// is why 2^(52·D) must exceed 4N (an almost-Montgomery product stays below 2N).
//
// Two product kernels: amm/amm2 keep the chain short (one product, or the two CRT halves, are
// latency-bound: the next digit's y only waits for the low digit), and amm_ways interleaves up
// to four products mod the same N (throughput: several independent chains fill the multiplier),
// optionally with one shared b (the bucket kernel's row power). Both compute the same value.
#include "he/ifma.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "fatectl/core/cpu.h"
#include "fatectl/core/thread_pool.h"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's AVX-512 headers seed some intrinsics with _mm512_undefined_epi32(), which
// -Wuninitialized reports once they are inlined into a target("avx512f") function.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define FATECTL_HE_HAVE_IFMA 1
#define FATECTL_IFMA_FN __attribute__((target("avx512f,avx512ifma")))
#else
#define FATECTL_HE_HAVE_IFMA 0
#endif

namespace fatectl::he {

namespace {

/// A per-thread temporary mpz (cleared when the thread ends).
struct ScratchMpz {
  mpz_t v;
  ScratchMpz() { mpz_init(v); }
  ~ScratchMpz() { mpz_clear(v); }
  operator mpz_ptr() { return v; }
};

constexpr uint64_t kMask52 = (uint64_t(1) << 52) - 1;

/// 64-byte aligned per-thread scratch (grown once, reused).
[[maybe_unused]] uint64_t* aligned_scratch(size_t slot, size_t words) {
  thread_local std::vector<std::vector<uint64_t>> buffers;
  if (buffers.size() <= slot) buffers.resize(slot + 1);
  auto& b = buffers[slot];
  if (b.size() < words + 8) b.resize(words + 8);
  uintptr_t p = reinterpret_cast<uintptr_t>(b.data());
  return reinterpret_cast<uint64_t*>((p + 63) & ~uintptr_t(63));
}

/// Bits [pos, pos + w) of e (w ≤ 16); zero beyond its top.
[[maybe_unused]] unsigned window_bits(mpz_srcptr e, size_t pos, unsigned w) {
  const mp_size_t n = mpz_size(e);
  const mp_srcptr l = mpz_limbs_read(e);
  size_t limb = pos / 64, off = pos % 64;
  if (static_cast<mp_size_t>(limb) >= n) return 0;
  mp_limb_t v = l[limb] >> off;
  if (off + w > 64 && static_cast<mp_size_t>(limb + 1) < n) v |= l[limb + 1] << (64 - off);
  return static_cast<unsigned>(v & ((mp_limb_t(1) << w) - 1));
}

/// Fixed window for an exponent of `bits` bits: minimises bits/w + 2^w (the squarings do not
/// depend on w).
[[maybe_unused]] unsigned pick_window(size_t bits) {
  unsigned best = 1;
  double cost = 1e300;
  for (unsigned w = 1; w <= 6; ++w) {
    double c = double(bits) / w + double(1u << w);
    if (c < cost) cost = c, best = w;
  }
  return best;
}

#if FATECTL_HE_HAVE_IFMA
/// Carries lanes above 52 bits into the next digit; r holds V vectors, `carry` goes into digit 0.
template <unsigned V>
FATECTL_IFMA_FN inline void normalise(__m512i* R, uint64_t carry, uint64_t* out) {
  const __m512i mask = _mm512_set1_epi64(static_cast<long long>(kMask52));
  const __m512i zero = _mm512_setzero_si512();
  R[0] = _mm512_mask_add_epi64(R[0], 1, R[0], _mm512_set1_epi64(static_cast<long long>(carry)));
  __m512i C[V];
  #pragma GCC unroll 16
  for (unsigned j = 0; j < V; ++j) {
    C[j] = _mm512_srli_epi64(R[j], 52);
    R[j] = _mm512_and_si512(R[j], mask);
  }
  __mmask8 over = 0;
  #pragma GCC unroll 16
  for (unsigned j = 0; j < V; ++j) {
    R[j] = _mm512_add_epi64(R[j], _mm512_alignr_epi64(C[j], j ? C[j - 1] : zero, 7));
    over |= _mm512_cmpgt_epu64_mask(R[j], mask);
  }
  #pragma GCC unroll 16
  for (unsigned j = 0; j < V; ++j) _mm512_store_si512(reinterpret_cast<__m512i*>(out + 8 * j), R[j]);
  if (over) {  // a second carry (probability about 2^-40 per digit): finish in scalar
    uint64_t c = 0;
    #pragma GCC unroll 16
    for (unsigned j = 0; j < 8 * V; ++j) {
      uint64_t v = out[j] + c;
      out[j] = v & kMask52;
      c = v >> 52;
    }
  }
}

/// r ← a·b·R⁻¹ mod N (almost: r < 2N for a, b < 2N). r may alias a or b. All 64-byte aligned.
template <unsigned V>
FATECTL_IFMA_FN inline void amm(uint64_t* r, const uint64_t* a, const uint64_t* b, const uint64_t* m, uint64_t k0) {
  __m512i R[V], A[V], M[V];
  #pragma GCC unroll 16
  for (unsigned j = 0; j < V; ++j) {
    R[j] = _mm512_setzero_si512();
    A[j] = _mm512_load_si512(reinterpret_cast<const __m512i*>(a + 8 * j));
    M[j] = _mm512_load_si512(reinterpret_cast<const __m512i*>(m + 8 * j));
  }
  const __m512i zero = _mm512_setzero_si512();
  const uint64_t a0 = a[0], m0 = m[0];
  uint64_t carry = 0;
  for (unsigned i = 0; i < 8 * V; ++i) {
    const uint64_t bi = b[i];
    const __m512i B = _mm512_set1_epi64(static_cast<long long>(bi));
    const uint64_t t = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(R[0]))) + carry + ((a0 * bi) & kMask52);
    const uint64_t y = (t * k0) & kMask52;
    carry = (t + ((m0 * y) & kMask52)) >> 52;
    const __m512i Y = _mm512_set1_epi64(static_cast<long long>(y));
    __m512i H[V];
    #pragma GCC unroll 16
    for (unsigned j = 0; j < V; ++j) {
      R[j] = _mm512_madd52lo_epu64(R[j], A[j], B);
      H[j] = _mm512_madd52hi_epu64(zero, A[j], B);
    }
    #pragma GCC unroll 16
    for (unsigned j = 0; j < V; ++j) {
      R[j] = _mm512_madd52lo_epu64(R[j], M[j], Y);
      H[j] = _mm512_madd52hi_epu64(H[j], M[j], Y);
    }
    #pragma GCC unroll 16
    for (unsigned j = 0; j + 1 < V; ++j) R[j] = _mm512_add_epi64(_mm512_alignr_epi64(R[j + 1], R[j], 1), H[j]);
    R[V - 1] = _mm512_add_epi64(_mm512_alignr_epi64(zero, R[V - 1], 1), H[V - 1]);
  }
  normalise<V>(R, carry, r);
}

/// Two independent products in one loop (the two chains hide each other's latency).
template <unsigned V>
FATECTL_IFMA_FN inline void amm2(uint64_t* r1, const uint64_t* a1, const uint64_t* b1, const uint64_t* m1, uint64_t k1,
                                 uint64_t* r2, const uint64_t* a2, const uint64_t* b2, const uint64_t* m2, uint64_t k2) {
  __m512i R[V], S[V];
  #pragma GCC unroll 16
  for (unsigned j = 0; j < V; ++j) R[j] = S[j] = _mm512_setzero_si512();
  const __m512i zero = _mm512_setzero_si512();
  const uint64_t a10 = a1[0], m10 = m1[0], a20 = a2[0], m20 = m2[0];
  uint64_t c1 = 0, c2 = 0;
  const __m512i* A1 = reinterpret_cast<const __m512i*>(a1);
  const __m512i* M1 = reinterpret_cast<const __m512i*>(m1);
  const __m512i* A2 = reinterpret_cast<const __m512i*>(a2);
  const __m512i* M2 = reinterpret_cast<const __m512i*>(m2);
  for (unsigned i = 0; i < 8 * V; ++i) {
    const uint64_t x1 = b1[i], x2 = b2[i];
    const __m512i B1 = _mm512_set1_epi64(static_cast<long long>(x1));
    const __m512i B2 = _mm512_set1_epi64(static_cast<long long>(x2));
    const uint64_t t1 = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(R[0]))) + c1 + ((a10 * x1) & kMask52);
    const uint64_t t2 = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(S[0]))) + c2 + ((a20 * x2) & kMask52);
    const uint64_t y1 = (t1 * k1) & kMask52, y2 = (t2 * k2) & kMask52;
    c1 = (t1 + ((m10 * y1) & kMask52)) >> 52;
    c2 = (t2 + ((m20 * y2) & kMask52)) >> 52;
    const __m512i Y1 = _mm512_set1_epi64(static_cast<long long>(y1));
    const __m512i Y2 = _mm512_set1_epi64(static_cast<long long>(y2));
    __m512i H[V], G[V];
    #pragma GCC unroll 16
    for (unsigned j = 0; j < V; ++j) {
      R[j] = _mm512_madd52lo_epu64(R[j], _mm512_load_si512(A1 + j), B1);
      S[j] = _mm512_madd52lo_epu64(S[j], _mm512_load_si512(A2 + j), B2);
      H[j] = _mm512_madd52hi_epu64(zero, _mm512_load_si512(A1 + j), B1);
      G[j] = _mm512_madd52hi_epu64(zero, _mm512_load_si512(A2 + j), B2);
    }
    #pragma GCC unroll 16
    for (unsigned j = 0; j < V; ++j) {
      R[j] = _mm512_madd52lo_epu64(R[j], _mm512_load_si512(M1 + j), Y1);
      S[j] = _mm512_madd52lo_epu64(S[j], _mm512_load_si512(M2 + j), Y2);
      H[j] = _mm512_madd52hi_epu64(H[j], _mm512_load_si512(M1 + j), Y1);
      G[j] = _mm512_madd52hi_epu64(G[j], _mm512_load_si512(M2 + j), Y2);
    }
    #pragma GCC unroll 16
    for (unsigned j = 0; j + 1 < V; ++j) {
      R[j] = _mm512_add_epi64(_mm512_alignr_epi64(R[j + 1], R[j], 1), H[j]);
      S[j] = _mm512_add_epi64(_mm512_alignr_epi64(S[j + 1], S[j], 1), G[j]);
    }
    R[V - 1] = _mm512_add_epi64(_mm512_alignr_epi64(zero, R[V - 1], 1), H[V - 1]);
    S[V - 1] = _mm512_add_epi64(_mm512_alignr_epi64(zero, S[V - 1], 1), G[V - 1]);
  }
  normalise<V>(R, c1, r1);
  normalise<V>(S, c2, r2);
}

/// r[g] ← a[g]·b[g]·R⁻¹ (mod N, < 2N) for g < G; b[g] all equal when SharedB. r may alias a or b.
template <int V, int G, bool SharedB>
FATECTL_IFMA_FN void amm_ways(uint64_t* const* r, const uint64_t* const* a, const uint64_t* const* b, const uint64_t* n,
                              uint64_t k0) {
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
      t0 += (aig * b[SharedB ? 0 : g][0]) & kMask52;
      const uint64_t m = (t0 * k0) & kMask52;
      mv[g] = _mm512_set1_epi64(static_cast<long long>(m));
      c[g] = (t0 + ((m * n0) & kMask52)) >> 52;
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
      r[g][j] = s & kMask52;
      cy = s >> 52;
    }
  }
}


/// One fixed-window exponentiation: `x` (D digits, Montgomery form, < 2N) to the power e;
/// result in Montgomery form (< 2N) in `acc`. `one` is R mod N. tab: 2^w·D words of scratch.
template <unsigned V>
FATECTL_IFMA_FN void pow_x1(uint64_t* acc, const uint64_t* x, mpz_srcptr e, const uint64_t* one, const uint64_t* m,
                            uint64_t k0, uint64_t* tab) {
  constexpr unsigned D = 8 * V;
  const size_t bits = mpz_sgn(e) == 0 ? 0 : mpz_sizeinbase(e, 2);
  if (bits == 0) {
    std::memcpy(acc, one, D * sizeof(uint64_t));
    return;
  }
  const unsigned w = pick_window(bits);
  const unsigned entries = 1u << w;
  std::memcpy(tab, one, D * sizeof(uint64_t));
  std::memcpy(tab + D, x, D * sizeof(uint64_t));
  for (unsigned i = 2; i < entries; ++i) amm<V>(tab + i * D, tab + (i - 1) * D, x, m, k0);
  long win = static_cast<long>((bits + w - 1) / w) - 1;
  std::memcpy(acc, tab + window_bits(e, size_t(win) * w, w) * D, D * sizeof(uint64_t));
  for (--win; win >= 0; --win) {
    for (unsigned s = 0; s < w; ++s) amm<V>(acc, acc, acc, m, k0);
    // Zero digits multiply by tab[0] = R (one): the sequence of products does not depend on e.
    amm<V>(acc, acc, tab + window_bits(e, size_t(win) * w, w) * D, m, k0);
  }
}

/// Two exponentiations in lock step (same window schedule; the shorter exponent is padded).
template <unsigned V>
FATECTL_IFMA_FN void pow_x2(uint64_t* acc1, const uint64_t* x1, mpz_srcptr e1, const uint64_t* one1, const uint64_t* m1,
                            uint64_t k1, uint64_t* tab1, uint64_t* acc2, const uint64_t* x2, mpz_srcptr e2,
                            const uint64_t* one2, const uint64_t* m2, uint64_t k2, uint64_t* tab2) {
  constexpr unsigned D = 8 * V;
  const size_t b1 = mpz_sgn(e1) == 0 ? 0 : mpz_sizeinbase(e1, 2);
  const size_t b2 = mpz_sgn(e2) == 0 ? 0 : mpz_sizeinbase(e2, 2);
  const size_t bits = std::max(b1, b2);
  if (bits == 0) {
    std::memcpy(acc1, one1, D * sizeof(uint64_t));
    std::memcpy(acc2, one2, D * sizeof(uint64_t));
    return;
  }
  const unsigned w = pick_window(bits);
  const unsigned entries = 1u << w;
  std::memcpy(tab1, one1, D * sizeof(uint64_t));
  std::memcpy(tab1 + D, x1, D * sizeof(uint64_t));
  std::memcpy(tab2, one2, D * sizeof(uint64_t));
  std::memcpy(tab2 + D, x2, D * sizeof(uint64_t));
  for (unsigned i = 2; i < entries; ++i)
    amm2<V>(tab1 + i * D, tab1 + (i - 1) * D, x1, m1, k1, tab2 + i * D, tab2 + (i - 1) * D, x2, m2, k2);
  long win = static_cast<long>((bits + w - 1) / w) - 1;
  std::memcpy(acc1, tab1 + window_bits(e1, size_t(win) * w, w) * D, D * sizeof(uint64_t));
  std::memcpy(acc2, tab2 + window_bits(e2, size_t(win) * w, w) * D, D * sizeof(uint64_t));
  for (--win; win >= 0; --win) {
    for (unsigned s = 0; s < w; ++s) amm2<V>(acc1, acc1, acc1, m1, k1, acc2, acc2, acc2, m2, k2);
    // Always one product per window (tab[0] = R for a zero digit): the decryption exponents
    // p-1 and q-1 do not show in the number of products.
    const unsigned d1 = window_bits(e1, size_t(win) * w, w), d2 = window_bits(e2, size_t(win) * w, w);
    amm2<V>(acc1, acc1, tab1 + d1 * D, m1, k1, acc2, acc2, tab2 + d2 * D, m2, k2);
  }
}

/// g^e from a fixed-base table (entry (i, d) at (i·(2^w-1) + d-1)·D), one product per non-zero digit.
template <unsigned V>
FATECTL_IFMA_FN void fb_x1(uint64_t* acc, const uint64_t* table, unsigned w, unsigned windows, mpz_srcptr e,
                           const uint64_t* one, const uint64_t* m, uint64_t k0) {
  constexpr unsigned D = 8 * V;
  const size_t per = (size_t(1) << w) - 1;
  const size_t bits = mpz_sgn(e) == 0 ? 0 : mpz_sizeinbase(e, 2);
  bool started = false;
  for (unsigned i = 0; i < windows && size_t(i) * w < bits; ++i) {
    unsigned d = window_bits(e, size_t(i) * w, w);
    if (!d) continue;
    const uint64_t* ent = table + (i * per + d - 1) * D;
    if (started) {
      amm<V>(acc, acc, ent, m, k0);
    } else {
      std::memcpy(acc, ent, D * sizeof(uint64_t));
      started = true;
    }
  }
  if (!started) std::memcpy(acc, one, D * sizeof(uint64_t));
}

/// The same exponent against two tables of the same shape, interleaved.
template <unsigned V>
FATECTL_IFMA_FN void fb_x2(uint64_t* acc1, const uint64_t* t1, const uint64_t* one1, const uint64_t* m1, uint64_t k1,
                           uint64_t* acc2, const uint64_t* t2, const uint64_t* one2, const uint64_t* m2, uint64_t k2,
                           unsigned w, unsigned windows, mpz_srcptr e) {
  constexpr unsigned D = 8 * V;
  const size_t per = (size_t(1) << w) - 1;
  const size_t bits = mpz_sgn(e) == 0 ? 0 : mpz_sizeinbase(e, 2);
  bool started = false;
  for (unsigned i = 0; i < windows && size_t(i) * w < bits; ++i) {
    unsigned d = window_bits(e, size_t(i) * w, w);
    if (!d) continue;
    const size_t off = (i * per + d - 1) * D;
    if (started) {
      amm2<V>(acc1, acc1, t1 + off, m1, k1, acc2, acc2, t2 + off, m2, k2);
    } else {
      std::memcpy(acc1, t1 + off, D * sizeof(uint64_t));
      std::memcpy(acc2, t2 + off, D * sizeof(uint64_t));
      started = true;
    }
  }
  if (!started) {
    std::memcpy(acc1, one1, D * sizeof(uint64_t));
    std::memcpy(acc2, one2, D * sizeof(uint64_t));
  }
}

/// amm as a plain function (for the kernel tables).
template <unsigned V>
FATECTL_IFMA_FN void amm_fn(uint64_t* r, const uint64_t* a, const uint64_t* b, const uint64_t* m, uint64_t k0) {
  amm<V>(r, a, b, m, k0);
}
#endif  // FATECTL_HE_HAVE_IFMA

using Amm = void (*)(uint64_t*, const uint64_t*, const uint64_t*, const uint64_t*, uint64_t);
using Ways = void (*)(uint64_t* const*, const uint64_t* const*, const uint64_t* const*, const uint64_t*, uint64_t);
using PowX1 = void (*)(uint64_t*, const uint64_t*, mpz_srcptr, const uint64_t*, const uint64_t*, uint64_t, uint64_t*);
using PowX2 = void (*)(uint64_t*, const uint64_t*, mpz_srcptr, const uint64_t*, const uint64_t*, uint64_t, uint64_t*,
                       uint64_t*, const uint64_t*, mpz_srcptr, const uint64_t*, const uint64_t*, uint64_t, uint64_t*);
using FbX1 = void (*)(uint64_t*, const uint64_t*, unsigned, unsigned, mpz_srcptr, const uint64_t*, const uint64_t*, uint64_t);
using FbX2 = void (*)(uint64_t*, const uint64_t*, const uint64_t*, const uint64_t*, uint64_t, uint64_t*, const uint64_t*,
                      const uint64_t*, const uint64_t*, uint64_t, unsigned, unsigned, mpz_srcptr);

/// -n0⁻¹ mod 2^64 (Newton iteration; n0 odd).
mp_limb_t neg_inverse_limb(mp_limb_t n0) {
  mp_limb_t x = n0;
  for (int i = 0; i < 6; ++i) x *= 2 - n0 * x;
  return static_cast<mp_limb_t>(0) - x;
}

/// Vectors for a modulus of this many bits (R = 2^(52·8·V) > 4N): exact up to kMaxVectors,
/// then 12, 16 or 20 (fewer kernel instances); 0 when too wide.
unsigned vectors_for(size_t bits) {
  const unsigned want = static_cast<unsigned>((bits + 2 + 52 * 8 - 1) / (52 * 8));
  if (want <= Ifma52::kMaxVectors) return want;
  for (unsigned v : {12u, 16u, 20u})
    if (want <= v) return v;
  return 0;
}

}  // namespace

/// The kernels for one size V (exponentiation ones only up to kMaxVectors).
struct Ifma52::Kernels {
  Amm mul1 = nullptr;
  Ways ways[kMaxWays + 1] = {}, shared[kMaxWays + 1] = {};
  PowX1 x1 = nullptr;
  PowX2 x2 = nullptr;
  FbX1 fb1 = nullptr;
  FbX2 fb2 = nullptr;
};

namespace {

#if FATECTL_HE_HAVE_IFMA
template <unsigned V>
Ifma52::Kernels kernels_for() {
  Ifma52::Kernels k;
  k.mul1 = &amm_fn<V>;
  k.ways[2] = &amm_ways<int(V), 2, false>;
  k.ways[3] = &amm_ways<int(V), 3, false>;
  k.ways[4] = &amm_ways<int(V), 4, false>;
  k.shared[2] = &amm_ways<int(V), 2, true>;
  k.shared[3] = &amm_ways<int(V), 3, true>;
  k.shared[4] = &amm_ways<int(V), 4, true>;
  if constexpr (V <= Ifma52::kMaxVectors) {
    k.x1 = &pow_x1<V>;
    k.x2 = &pow_x2<V>;
    k.fb1 = &fb_x1<V>;
    k.fb2 = &fb_x2<V>;
  }
  return k;
}

const Ifma52::Kernels* kernels(unsigned v) {
  static const Ifma52::Kernels table[] = {
      {}, kernels_for<1>(), kernels_for<2>(), kernels_for<3>(), kernels_for<4>(), kernels_for<5>(),
      kernels_for<6>(), kernels_for<7>(), kernels_for<8>(), kernels_for<9>(), kernels_for<10>(), {},
      kernels_for<12>(), {}, {}, {}, kernels_for<16>(), {}, {}, {}, kernels_for<20>()};
  static_assert(sizeof(table) / sizeof(table[0]) == Ifma52::kMaxProductVectors + 1);
  return &table[v];
}
#else
const Ifma52::Kernels* kernels(unsigned) { return nullptr; }
#endif

/// The kernels, or a logic_error when this build or CPU has none.
const Ifma52::Kernels& need(const Ifma52::Kernels* k) {
  if (!k || !Ifma52::available()) throw std::logic_error("ifma52: not available on this CPU");
  return *k;
}

}  // namespace

Ifma52Digits::Ifma52Digits(size_t n, bool zero) : n_(n) {
  const size_t bytes = std::max<size_t>(64, (n * sizeof(uint64_t) + 63) / 64 * 64);
  p_ = static_cast<uint64_t*>(std::aligned_alloc(64, bytes));
  if (!p_) throw std::bad_alloc();
  if (zero) std::memset(p_, 0, bytes);
}

Ifma52Digits& Ifma52Digits::operator=(Ifma52Digits&& o) noexcept {
  std::swap(p_, o.p_);
  std::swap(n_, o.n_);
  return *this;
}

Ifma52Digits::~Ifma52Digits() { std::free(p_); }

bool Ifma52::available() {
#if FATECTL_HE_HAVE_IFMA
  static const bool ok = cpu::avx512_ifma("FATECTL_HE_NO_IFMA");
  return ok;
#else
  return false;
#endif
}

bool Ifma52::fits(size_t modulus_bits) { return (modulus_bits + 2 + 51) / 52 <= 8 * kMaxVectors; }

bool Ifma52::fits_products(size_t modulus_bits) { return vectors_for(modulus_bits) != 0; }

Ifma52::Ifma52(mpz_srcptr modulus) {
  if (mpz_sgn(modulus) <= 0 || mpz_even_p(modulus) || mpz_cmp_ui(modulus, 1) == 0)
    throw std::logic_error("ifma52: modulus must be odd and > 1");
  v_ = vectors_for(mpz_sizeinbase(modulus, 2));
  if (v_ == 0) throw std::logic_error("ifma52: modulus too large");
  d_ = 8 * v_;
  k0_ = neg_inverse_limb(mpz_getlimbn(modulus, 0)) & kMask52;
  mpz_init_set(nz_, modulus);
  n_ = Ifma52Digits(d_, true);
  one_ = Ifma52Digits(d_, true);
  r2_ = Ifma52Digits(d_, true);
  unit_ = Ifma52Digits(d_, true);
  to_digits(n_.data(), modulus);
  ScratchMpz t;
  mpz_setbit(t, 52 * size_t(d_));
  mpz_mod(t, t, modulus);
  to_digits(one_.data(), t);
  mpz_set_ui(t, 0);
  mpz_setbit(t, 2 * 52 * size_t(d_));
  mpz_mod(t, t, modulus);
  to_digits(r2_.data(), t);
  unit_.data()[0] = 1;
  k_ = kernels(v_);
}

Ifma52::~Ifma52() { mpz_clear(nz_); }

void Ifma52::to_digits(uint64_t* out, mpz_srcptr x) const {
  if (mpz_sgn(x) < 0 || mpz_sizeinbase(x, 2) > 52 * size_t(d_)) throw std::logic_error("ifma52: value wider than the modulus");
  const mp_limb_t* l = mpz_limbs_read(x);
  const size_t nl = mpz_size(x);
  for (size_t j = 0; j < d_; ++j) {
    const size_t bit = 52 * j, li = bit / 64, off = bit % 64;
    uint64_t v = li < nl ? l[li] >> off : 0;
    if (off > 12 && li + 1 < nl) v |= l[li + 1] << (64 - off);
    out[j] = v & kMask52;
  }
}

void Ifma52::from_digits(mpz_ptr out, const uint64_t* a) const {
  const size_t nl = (52 * size_t(d_) + 63) / 64;
  mp_limb_t* l = mpz_limbs_write(out, static_cast<mp_size_t>(nl));
  std::memset(l, 0, nl * sizeof(mp_limb_t));
  for (size_t j = 0; j < d_; ++j) {
    const size_t bit = 52 * j, li = bit / 64, off = bit % 64;
    l[li] |= a[j] << off;
    if (off > 12) l[li + 1] |= a[j] >> (64 - off);
  }
  size_t sz = nl;
  while (sz > 0 && l[sz - 1] == 0) --sz;
  mpz_limbs_finish(out, static_cast<mp_size_t>(sz));
}

void Ifma52::to_mont(uint64_t* out, mpz_srcptr x) const {
  alignas(64) uint64_t t[8 * kMaxProductVectors];
  if (mpz_sgn(x) >= 0 && mpz_cmp(x, nz_) < 0) {
    to_digits(t, x);
  } else {
    thread_local ScratchMpz r;
    mpz_mod(r, x, nz_);
    to_digits(t, r);
  }
  mul(out, t, r2_.data());  // x·R²·R⁻¹
}

void Ifma52::from_mont(mpz_ptr out, const uint64_t* a) const {
  alignas(64) uint64_t t[8 * kMaxProductVectors];
  mul(t, a, unit_.data());
  from_digits(out, t);
  if (mpz_cmp(out, nz_) >= 0) mpz_sub(out, out, nz_);
}

void Ifma52::mul(uint64_t* r, const uint64_t* a, const uint64_t* b) const {
  need(k_).mul1(r, a, b, n_.data(), k0_);
}

void Ifma52::mul(uint64_t* const* r, const uint64_t* const* a, const uint64_t* const* b, int k) const {
  if (k <= 0) return;
  if (k == 1) return mul(r[0], a[0], b[0]);
  need(k_).ways[k](r, a, b, n_.data(), k0_);
}

void Ifma52::mul_shared(uint64_t* const* r, const uint64_t* const* a, const uint64_t* b, int k) const {
  if (k <= 0) return;
  if (k == 1) return mul(r[0], a[0], b);
  const uint64_t* bb[1] = {b};
  need(k_).shared[k](r, a, bb, n_.data(), k0_);
}

void Ifma52::powm(mpz_ptr out, mpz_srcptr base, mpz_srcptr e) const {
  if (mpz_sgn(e) < 0 || mpz_sgn(base) < 0) throw std::logic_error("ifma52: negative input");
  const Kernels& k = need(k_);
  if (!k.x1) throw std::logic_error("ifma52: modulus too large for powm");
  const size_t D = d_;
  uint64_t* s = aligned_scratch(0, (2 + 64) * D);
  uint64_t *x = s, *acc = s + D, *tab = s + 2 * D;
  to_mont(x, base);
  k.x1(acc, x, e, one(), n_.data(), k0_, tab);
  from_mont(out, acc);
}

void Ifma52::powm2(mpz_ptr out1, mpz_srcptr b1, mpz_srcptr e1, const Ifma52& m1, mpz_ptr out2, mpz_srcptr b2,
                   mpz_srcptr e2, const Ifma52& m2) {
  if (m1.v_ != m2.v_) {
    m1.powm(out1, b1, e1);
    m2.powm(out2, b2, e2);
    return;
  }
  if (mpz_sgn(e1) < 0 || mpz_sgn(b1) < 0 || mpz_sgn(e2) < 0 || mpz_sgn(b2) < 0)
    throw std::logic_error("ifma52: negative input");
  const Kernels& k = need(m1.k_);
  if (!k.x2) throw std::logic_error("ifma52: modulus too large for powm");
  const size_t D = m1.d_;
  uint64_t* s = aligned_scratch(1, (4 + 128) * D);
  uint64_t *x1 = s, *acc1 = s + D, *x2 = s + 2 * D, *acc2 = s + 3 * D, *tab1 = s + 4 * D, *tab2 = tab1 + 64 * D;
  m1.to_mont(x1, b1);
  m2.to_mont(x2, b2);
  k.x2(acc1, x1, e1, m1.one(), m1.n_.data(), m1.k0_, tab1, acc2, x2, e2, m2.one(), m2.n_.data(), m2.k0_, tab2);
  m1.from_mont(out1, acc1);
  m2.from_mont(out2, acc2);
}

unsigned fixed_base_window(unsigned max_bits, size_t entry_bytes, size_t memory_budget) {
  for (unsigned w = 9; w > 1; --w) {
    size_t windows = (max_bits + w - 1) / w;
    if (windows * ((size_t(1) << w) - 1) * entry_bytes <= memory_budget) return w;
  }
  return 1;
}

Ifma52FixedBase::Ifma52FixedBase(mpz_srcptr base, mpz_srcptr modulus, unsigned max_bits, unsigned window,
                                 size_t memory_budget, ThreadPool* pool)
    : mod_(modulus), max_bits_(std::max(1u, max_bits)) {
  const size_t D = mod_.digits();
  if (window == 0) window = fixed_base_window(max_bits_, D * sizeof(uint64_t), memory_budget);
  w_ = std::min(window, 16u);
  windows_ = (max_bits_ + w_ - 1) / w_;
  per_ = (size_t(1) << w_) - 1;
  table_ = Ifma52Digits(windows_ * per_ * D);
  need(mod_.k_);
  build(base, pool);
}

void Ifma52FixedBase::build(mpz_srcptr base, ThreadPool* pool) {
  const size_t D = mod_.digits();
  auto row = [&](unsigned i) { return table_ + size_t(i) * per_ * D; };
  // First entry of every window, g^(2^(w·i)), by squarings; then entry d = entry(d-1)·entry(1).
  mod_.to_mont(row(0), base);
  for (unsigned i = 1; i < windows_; ++i) {
    std::memcpy(row(i), row(i - 1), D * sizeof(uint64_t));
    for (unsigned s = 0; s < w_; ++s) mod_.mul(row(i), row(i), row(i));
  }
  // One chain per row (a single product is faster than interleaved ones at this size), rows
  // spread over the pool.
  auto fill = [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) {
      uint64_t* r = row(static_cast<unsigned>(i));
      for (size_t d = 1; d < per_; ++d) mod_.mul(r + d * D, r + (d - 1) * D, r);
    }
  };
  if (pool) pool->parallel_for(windows_, fill);
  else fill(0, windows_, 0);
}

void Ifma52FixedBase::check_exponent(mpz_srcptr e) const {
  if (mpz_sgn(e) < 0 || (mpz_sgn(e) && mpz_sizeinbase(e, 2) > max_bits_))
    throw std::logic_error("fixed-base: exponent too large");
}

void Ifma52FixedBase::pow(mpz_ptr out, mpz_srcptr e) const {
  check_exponent(e);
  const Ifma52::Kernels& k = need(mod_.k_);
  if (!k.fb1) throw std::logic_error("ifma52: modulus too large for pow");
  uint64_t* acc = aligned_scratch(5, mod_.digits());
  k.fb1(acc, table_.data(), w_, windows_, e, mod_.one(), mod_.n_.data(), mod_.k0_);
  mod_.from_mont(out, acc);
}

void Ifma52FixedBase::pow_mont(uint64_t* const* acc, const mpz_srcptr* e, int k) const {
  constexpr int G = Ifma52::kMaxWays;
  const size_t D = mod_.digits();
  bool set[G] = {};
  for (int g = 0; g < k; ++g) check_exponent(e[g]);
  uint64_t* r[G];
  const uint64_t* a[G];
  const uint64_t* b[G];
  for (unsigned i = 0; i < windows_; ++i) {
    int n = 0;
    for (int g = 0; g < k; ++g) {
      const unsigned d = window_bits(e[g], size_t(i) * w_, w_);
      if (!d) continue;
      if (!set[g]) {
        std::memcpy(acc[g], entry(i, d), D * sizeof(uint64_t));
        set[g] = true;
      } else {
        r[n] = acc[g];
        a[n] = acc[g];
        b[n] = entry(i, d);
        ++n;
      }
    }
    mod_.mul(r, a, b, n);
  }
  for (int g = 0; g < k; ++g)
    if (!set[g]) std::memcpy(acc[g], mod_.one(), D * sizeof(uint64_t));
}

void Ifma52FixedBase::pow2(mpz_ptr out1, const Ifma52FixedBase& t1, mpz_ptr out2, const Ifma52FixedBase& t2,
                           mpz_srcptr e) {
  if (t1.mod_.v_ != t2.mod_.v_ || t1.w_ != t2.w_ || t1.windows_ != t2.windows_ || !need(t1.mod_.k_).fb2) {
    t1.pow(out1, e);
    t2.pow(out2, e);
    return;
  }
  t1.check_exponent(e);
  const size_t D = t1.mod_.digits();
  uint64_t* acc = aligned_scratch(5, 2 * D);
  const Ifma52 &m1 = t1.mod_, &m2 = t2.mod_;
  m1.k_->fb2(acc, t1.table_.data(), m1.one(), m1.n_.data(), m1.k0_, acc + D, t2.table_.data(), m2.one(), m2.n_.data(),
             m2.k0_, t1.w_, t1.windows_, e);
  m1.from_mont(out1, acc);
  m2.from_mont(out2, acc + D);
}

}  // namespace fatectl::he
