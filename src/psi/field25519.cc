#include "field25519.h"

#include <cstring>

namespace fatectl::psi::detail {
namespace {

constexpr uint64_t kMask51 = (uint64_t(1) << 51) - 1;
using u128 = unsigned __int128;

uint64_t load64(const uint8_t* b) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; --i) w = (w << 8) | b[i];
  return w;
}

void store64(uint8_t* b, uint64_t w) {
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(w >> (8 * i));
}

/// Carries every limb into the next (the top one wraps around times 19): limbs < 2^51 + 2^13.
Fe carry(Fe f) {
  uint64_t c;
  c = f.v[0] >> 51; f.v[0] &= kMask51; f.v[1] += c;
  c = f.v[1] >> 51; f.v[1] &= kMask51; f.v[2] += c;
  c = f.v[2] >> 51; f.v[2] &= kMask51; f.v[3] += c;
  c = f.v[3] >> 51; f.v[3] &= kMask51; f.v[4] += c;
  c = f.v[4] >> 51; f.v[4] &= kMask51; f.v[0] += c * 19;
  return f;
}

Fe reduce_wide(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  Fe f;
  r1 += static_cast<uint64_t>(r0 >> 51);
  f.v[0] = static_cast<uint64_t>(r0) & kMask51;
  r2 += static_cast<uint64_t>(r1 >> 51);
  f.v[1] = static_cast<uint64_t>(r1) & kMask51;
  r3 += static_cast<uint64_t>(r2 >> 51);
  f.v[2] = static_cast<uint64_t>(r2) & kMask51;
  r4 += static_cast<uint64_t>(r3 >> 51);
  f.v[3] = static_cast<uint64_t>(r3) & kMask51;
  uint64_t c = static_cast<uint64_t>(r4 >> 51);
  f.v[4] = static_cast<uint64_t>(r4) & kMask51;
  f.v[0] += c * 19;
  c = f.v[0] >> 51;
  f.v[0] &= kMask51;
  f.v[1] += c;
  return f;
}

Fe sq_n(Fe f, int n) {
  for (int i = 0; i < n; ++i) f = fe_sq(f);
  return f;
}

}  // namespace

Fe fe_from_bytes(const uint8_t b[32]) {
  uint64_t w0 = load64(b), w1 = load64(b + 8), w2 = load64(b + 16), w3 = load64(b + 24);
  Fe f;
  f.v[0] = w0 & kMask51;
  f.v[1] = ((w0 >> 51) | (w1 << 13)) & kMask51;
  f.v[2] = ((w1 >> 38) | (w2 << 26)) & kMask51;
  f.v[3] = ((w2 >> 25) | (w3 << 39)) & kMask51;
  f.v[4] = (w3 >> 12) & kMask51;
  f.v[0] += (w3 >> 63) * 19;  // bit 255: 2^255 ≡ 19
  return carry(f);
}

Fe fe_from_bytes64(const uint8_t b[64]) {
  return fe_add(fe_from_bytes(b), fe_mul_small(fe_from_bytes(b + 32), 38));  // 2^256 ≡ 38
}

void fe_to_bytes(uint8_t out[32], const Fe& in) {
  Fe f = carry(carry(in));
  // f < 2^255 + small: subtract p once when f ≥ p, i.e. when f + 19 carries out of bit 255.
  uint64_t q = (f.v[0] + 19) >> 51;
  q = (f.v[1] + q) >> 51;
  q = (f.v[2] + q) >> 51;
  q = (f.v[3] + q) >> 51;
  q = (f.v[4] + q) >> 51;
  f.v[0] += 19 * q;
  uint64_t c;
  c = f.v[0] >> 51; f.v[0] &= kMask51; f.v[1] += c;
  c = f.v[1] >> 51; f.v[1] &= kMask51; f.v[2] += c;
  c = f.v[2] >> 51; f.v[2] &= kMask51; f.v[3] += c;
  c = f.v[3] >> 51; f.v[3] &= kMask51; f.v[4] += c;
  f.v[4] &= kMask51;  // drops 2^255 (together with the +19 above: − p)
  store64(out, f.v[0] | (f.v[1] << 51));
  store64(out + 8, (f.v[1] >> 13) | (f.v[2] << 38));
  store64(out + 16, (f.v[2] >> 26) | (f.v[3] << 25));
  store64(out + 24, (f.v[3] >> 39) | (f.v[4] << 12));
}

Fe fe_add(const Fe& a, const Fe& b) {
  Fe f;
  for (int i = 0; i < 5; ++i) f.v[i] = a.v[i] + b.v[i];
  return carry(f);
}

Fe fe_mul_small(const Fe& a, uint64_t k) {
  return reduce_wide(u128(a.v[0]) * k, u128(a.v[1]) * k, u128(a.v[2]) * k, u128(a.v[3]) * k, u128(a.v[4]) * k);
}

Fe fe_mul(const Fe& a, const Fe& b) {
  const uint64_t *x = a.v, *y = b.v;
  uint64_t y1 = y[1] * 19, y2 = y[2] * 19, y3 = y[3] * 19, y4 = y[4] * 19;
  u128 r0 = u128(x[0]) * y[0] + u128(x[1]) * y4 + u128(x[2]) * y3 + u128(x[3]) * y2 + u128(x[4]) * y1;
  u128 r1 = u128(x[0]) * y[1] + u128(x[1]) * y[0] + u128(x[2]) * y4 + u128(x[3]) * y3 + u128(x[4]) * y2;
  u128 r2 = u128(x[0]) * y[2] + u128(x[1]) * y[1] + u128(x[2]) * y[0] + u128(x[3]) * y4 + u128(x[4]) * y3;
  u128 r3 = u128(x[0]) * y[3] + u128(x[1]) * y[2] + u128(x[2]) * y[1] + u128(x[3]) * y[0] + u128(x[4]) * y4;
  u128 r4 = u128(x[0]) * y[4] + u128(x[1]) * y[3] + u128(x[2]) * y[2] + u128(x[3]) * y[1] + u128(x[4]) * y[0];
  return reduce_wide(r0, r1, r2, r3, r4);
}

Fe fe_sq(const Fe& a) {
  const uint64_t* x = a.v;
  uint64_t d0 = x[0] * 2, d1 = x[1] * 2, d2 = x[2] * 2 * 19, d4 = x[4] * 19, d3 = x[3] * 19;
  u128 r0 = u128(x[0]) * x[0] + u128(d1) * d4 + u128(d2) * x[3];
  u128 r1 = u128(d0) * x[1] + u128(x[2]) * (2 * d4) + u128(x[3]) * d3;
  u128 r2 = u128(d0) * x[2] + u128(x[1]) * x[1] + u128(x[3]) * (2 * d4);
  u128 r3 = u128(d0) * x[3] + u128(d1) * x[2] + u128(x[4]) * d4;
  u128 r4 = u128(d0) * x[4] + u128(d1) * x[3] + u128(x[2]) * x[2];
  return reduce_wide(r0, r1, r2, r3, r4);
}

int fe_legendre(const Fe& z) {
  // z^((p−1)/2) with (p−1)/2 = 2^254 − 10 = (2^250 − 1)·2^4 + 6, through the usual chain for
  // z^(2^250 − 1) (254 squarings and 13 multiplications in all).
  Fe z2 = fe_sq(z);
  Fe z9 = fe_mul(sq_n(z2, 2), z);
  Fe z11 = fe_mul(z9, z2);
  Fe t = fe_mul(fe_sq(z11), z9);              // 2^5 − 1
  Fe z10 = fe_mul(sq_n(t, 5), t);             // 2^10 − 1
  Fe z20 = fe_mul(sq_n(z10, 10), z10);        // 2^20 − 1
  Fe z40 = fe_mul(sq_n(z20, 20), z20);        // 2^40 − 1
  Fe z50 = fe_mul(sq_n(z40, 10), z10);        // 2^50 − 1
  Fe z100 = fe_mul(sq_n(z50, 50), z50);       // 2^100 − 1
  Fe z200 = fe_mul(sq_n(z100, 100), z100);    // 2^200 − 1
  Fe z250 = fe_mul(sq_n(z200, 50), z50);      // 2^250 − 1
  Fe z6 = fe_mul(fe_sq(z2), z2);              // z^6
  Fe r = fe_mul(sq_n(z250, 4), z6);           // 2^254 − 10
  uint8_t b[32];
  fe_to_bytes(b, r);
  static const uint8_t one[32] = {1};
  if (std::memcmp(b, one, 32) == 0) return 1;
  uint8_t zero[32] = {0};
  return std::memcmp(b, zero, 32) == 0 ? 0 : -1;
}

}  // namespace fatectl::psi::detail
