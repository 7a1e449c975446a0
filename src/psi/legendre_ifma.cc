// Sixteen Legendre symbols mod p = 2^255 − 19 at once on AVX-512 IFMA (52-bit multiply-add lanes):
// the hot part of hashing ids onto the curve (hash_to_curve.cc). Elements are five 52-bit limbs
// per lane (260 bits, 2^260 ≡ 608 mod p); inputs are public hashes, so nothing here is secret.
#include <cstdlib>
#include <cstring>

#include "fatectl/core/cpu.h"
#include "field25519.h"

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define FATECTL_PSI_HAVE_IFMA 1
#define FATECTL_PSI_IFMA_FN __attribute__((target("avx512f,avx512ifma")))
#else
#define FATECTL_PSI_HAVE_IFMA 0
#endif

namespace fatectl::psi::detail {

bool legendre16_available() {
#if FATECTL_PSI_HAVE_IFMA
  static const bool ok = cpu::avx512_ifma("FATECTL_PSI_NO_IFMA");
  return ok;
#else
  return false;
#endif
}

#if FATECTL_PSI_HAVE_IFMA
namespace {

constexpr uint64_t kMask52 = (uint64_t(1) << 52) - 1;

/// Eight field elements, limb k of every lane in v[k].
struct Fe8 {
  __m512i v[5];
};

/// Columns c[0..9] (each < 2^58) of a product → five limbs < 2^52 of a value ≡ the product.
/// IFMA multiplies only the low 52 bits of its operands, which is exactly the split needed.
FATECTL_PSI_IFMA_FN inline Fe8 reduce(__m512i c[10]) {
  const __m512i mask = _mm512_set1_epi64(static_cast<long long>(kMask52));
  const __m512i k608 = _mm512_set1_epi64(608), k608sq = _mm512_set1_epi64(608 * 608);
  // c[5+k] = lo + hi·2^52 with weight 2^(52(k+5)) ≡ 608·2^(52k): 608·lo goes into t[k] (its
  // low 52 bits) and t[k+1] (the rest); 608·hi (hi < 2^6) into t[k+1].
  __m512i t[5];
  for (int k = 0; k < 5; ++k) t[k] = _mm512_madd52lo_epu64(c[k], c[k + 5], k608);
  for (int k = 0; k < 4; ++k) {
    t[k + 1] = _mm512_madd52hi_epu64(t[k + 1], c[k + 5], k608);
    t[k + 1] = _mm512_madd52lo_epu64(t[k + 1], _mm512_srli_epi64(c[k + 5], 52), k608);
  }
  // k = 4: the high part of 608·lo has weight 2^260 ≡ 608, and hi weight 2^520 ≡ 608².
  __m512i h9 = _mm512_madd52hi_epu64(_mm512_setzero_si512(), c[9], k608);
  t[0] = _mm512_madd52lo_epu64(t[0], h9, k608);
  t[0] = _mm512_madd52lo_epu64(t[0], _mm512_srli_epi64(c[9], 52), k608sq);
  // One carry round leaves limbs 1..4 below 2^52 and limb 0 below 2^52 + 2^21 (the top carry,
  // times 608). Limb 0 is almost never over; when a lane is, two more rounds settle every lane
  // (the value is then below 2^53 + 608, so nothing carries out of the top a third time).
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < 4; ++k) {
      t[k + 1] = _mm512_add_epi64(t[k + 1], _mm512_srli_epi64(t[k], 52));
      t[k] = _mm512_and_si512(t[k], mask);
    }
    __m512i top = _mm512_srli_epi64(t[4], 52);
    t[4] = _mm512_and_si512(t[4], mask);
    t[0] = _mm512_madd52lo_epu64(t[0], top, k608);
    if (round == 0 && _mm512_cmpgt_epu64_mask(t[0], mask) == 0) break;
  }
  Fe8 r;
  for (int k = 0; k < 5; ++k) r.v[k] = t[k];
  return r;
}

FATECTL_PSI_IFMA_FN inline Fe8 mul8(const Fe8& a, const Fe8& b) {
  __m512i c[10];
  for (auto& x : c) x = _mm512_setzero_si512();
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      c[i + j] = _mm512_madd52lo_epu64(c[i + j], a.v[i], b.v[j]);
      c[i + j + 1] = _mm512_madd52hi_epu64(c[i + j + 1], a.v[i], b.v[j]);
    }
  return reduce(c);
}

FATECTL_PSI_IFMA_FN inline Fe8 sq8(const Fe8& a) {
  __m512i x[10], d[10];
  for (int k = 0; k < 10; ++k) x[k] = d[k] = _mm512_setzero_si512();
  for (int i = 0; i < 5; ++i) {
    d[2 * i] = _mm512_madd52lo_epu64(d[2 * i], a.v[i], a.v[i]);
    d[2 * i + 1] = _mm512_madd52hi_epu64(d[2 * i + 1], a.v[i], a.v[i]);
    for (int j = i + 1; j < 5; ++j) {
      x[i + j] = _mm512_madd52lo_epu64(x[i + j], a.v[i], a.v[j]);
      x[i + j + 1] = _mm512_madd52hi_epu64(x[i + j + 1], a.v[i], a.v[j]);
    }
  }
  for (int k = 0; k < 10; ++k) x[k] = _mm512_add_epi64(_mm512_add_epi64(x[k], x[k]), d[k]);
  return reduce(x);
}

/// Two independent groups of eight side by side: one group's products fill the other's waits.
struct Fe16 {
  Fe8 a, b;
};
FATECTL_PSI_IFMA_FN inline Fe16 mul16(const Fe16& x, const Fe16& y) { return {mul8(x.a, y.a), mul8(x.b, y.b)}; }
FATECTL_PSI_IFMA_FN inline Fe16 sq16(const Fe16& x) { return {sq8(x.a), sq8(x.b)}; }
FATECTL_PSI_IFMA_FN Fe16 sq16_n(Fe16 x, int n) {
  for (int i = 0; i < n; ++i) x = sq16(x);
  return x;
}

}  // namespace

FATECTL_PSI_IFMA_FN static void legendre16_ifma(const uint8_t in[16][32], int out[16]) {
  alignas(64) uint64_t limbs[2][5][8];
  for (int lane = 0; lane < 16; ++lane) {
    uint64_t w[4];
    for (int q = 0; q < 4; ++q) {
      w[q] = 0;
      for (int b = 7; b >= 0; --b) w[q] = (w[q] << 8) | in[lane][8 * q + b];
    }
    uint64_t* l = &limbs[lane / 8][0][lane % 8];
    l[0] = w[0] & kMask52;
    l[8] = ((w[0] >> 52) | (w[1] << 12)) & kMask52;
    l[16] = ((w[1] >> 40) | (w[2] << 24)) & kMask52;
    l[24] = ((w[2] >> 28) | (w[3] << 36)) & kMask52;
    l[32] = w[3] >> 16;  // < 2^48
  }
  Fe16 z;
  for (int k = 0; k < 5; ++k) {
    z.a.v[k] = _mm512_load_si512(limbs[0][k]);
    z.b.v[k] = _mm512_load_si512(limbs[1][k]);
  }
  // z^((p−1)/2), the chain of fe_legendre.
  Fe16 z2 = sq16(z);
  Fe16 z9 = mul16(sq16_n(z2, 2), z);
  Fe16 z11 = mul16(z9, z2);
  Fe16 t = mul16(sq16(z11), z9);
  Fe16 z10 = mul16(sq16_n(t, 5), t);
  Fe16 z20 = mul16(sq16_n(z10, 10), z10);
  Fe16 z40 = mul16(sq16_n(z20, 20), z20);
  Fe16 z50 = mul16(sq16_n(z40, 10), z10);
  Fe16 z100 = mul16(sq16_n(z50, 50), z50);
  Fe16 z200 = mul16(sq16_n(z100, 100), z100);
  Fe16 z250 = mul16(sq16_n(z200, 50), z50);
  Fe16 z6 = mul16(sq16(z2), z2);
  Fe16 r = mul16(sq16_n(z250, 4), z6);
  for (int k = 0; k < 5; ++k) {
    _mm512_store_si512(limbs[0][k], r.a.v[k]);
    _mm512_store_si512(limbs[1][k], r.b.v[k]);
  }
  for (int lane = 0; lane < 16; ++lane) {
    // Back to bytes (the value is < 2^260) and through the scalar canonical reduction.
    const uint64_t* l = &limbs[lane / 8][0][lane % 8];
    uint64_t w[5] = {l[0] | (l[8] << 52), (l[8] >> 12) | (l[16] << 40), (l[16] >> 24) | (l[24] << 28),
                     (l[24] >> 36) | (l[32] << 16), l[32] >> 48};
    uint8_t wide[64] = {0};
    for (int q = 0; q < 5; ++q)
      for (int b = 0; b < 8; ++b) wide[8 * q + b] = static_cast<uint8_t>(w[q] >> (8 * b));
    uint8_t canon[32];
    fe_to_bytes(canon, fe_from_bytes64(wide));
    static const uint8_t one[32] = {1};
    static const uint8_t zero[32] = {0};
    out[lane] = std::memcmp(canon, one, 32) == 0 ? 1 : std::memcmp(canon, zero, 32) == 0 ? 0 : -1;
  }
}

#endif

void legendre16(const uint8_t in[16][32], int out[16]) {
#if FATECTL_PSI_HAVE_IFMA
  if (legendre16_available()) return legendre16_ifma(in, out);
#endif
  for (int lane = 0; lane < 16; ++lane) out[lane] = fe_legendre(fe_from_bytes(in[lane]));
}

}  // namespace fatectl::psi::detail
