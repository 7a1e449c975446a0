#pragma once
// Arithmetic modulo p = 2^255 − 19 for hashing ids onto Curve25519 (hash_to_curve.cc): only what
// the Legendre-symbol test of the hash needs. Every input is public (a hash of an id), so the code
// is plain and not constant-time; scalar multiplication with secrets stays in OpenSSL (x25519.cc).
#include <cstdint>

namespace fatectl::psi::detail {

/// An element of GF(2^255 − 19) in radix 2^51 (five limbs; limbs may exceed 2^51 slightly
/// between operations and are reduced by fe_reduce / fe_to_bytes).
struct Fe {
  uint64_t v[5];
};

/// The 256-bit little-endian integer in `b`, reduced mod p.
Fe fe_from_bytes(const uint8_t b[32]);
/// The 512-bit little-endian integer in `b`, reduced mod p (2^256 ≡ 38).
Fe fe_from_bytes64(const uint8_t b[64]);
/// The canonical (fully reduced, < p) 32-byte little-endian encoding.
void fe_to_bytes(uint8_t out[32], const Fe& f);
Fe fe_add(const Fe& a, const Fe& b);
Fe fe_mul(const Fe& a, const Fe& b);
Fe fe_sq(const Fe& a);
Fe fe_mul_small(const Fe& a, uint64_t k);  ///< k < 2^20
/// The Legendre symbol (a | p): 1 for a nonzero square, −1 for a non-square, 0 for zero.
int fe_legendre(const Fe& a);

/// Whether legendre16 runs on this CPU's AVX-512 IFMA units (FATECTL_PSI_NO_IFMA=1 turns it off;
/// callers then use fe_legendre one element at a time).
bool legendre16_available();
/// The Legendre symbols of sixteen elements given as 32-byte little-endian integers (< 2^256)
/// (legendre_ifma.cc; where legendre16_available() is false, eight calls of fe_legendre).
void legendre16(const uint8_t in[16][32], int out[16]);

}  // namespace fatectl::psi::detail
