#pragma once
// Internals of the Paillier library shared by src/he/*.cc (not part of the public API).
#include <gmp.h>

#include <memory>
#include <mutex>
#include <string>

#include "fatectl/he/paillier.h"

namespace fatectl::he {

class FixedBaseTable;  // montgomery.h
class Montgomery;
class Barrett;
class Ifma52;  // ifma.h

/// Public key material and the lazily built fixed-base table for h_s.
struct PublicKeyData {
  unsigned bits = 0;
  BigInt n, n2, max_int, hs;
  BigInt neg_threshold;  ///< n - max_int: encodings ≥ this are negative
  std::string fingerprint;
  size_t ct_bytes = 0;  ///< bytes of one ciphertext at fixed width (n² bytes)
  std::shared_ptr<const Montgomery> mont_n2;  ///< Montgomery context mod n² (scalar powers)
  std::shared_ptr<const Barrett> barrett_n2;  ///< Barrett context mod n² (ciphertext products)
  std::shared_ptr<const Ifma52> ifma_n2;      ///< radix-2^52 context mod n² (textbook r^n), IFMA CPUs only

  /// The fixed-base table for h_s covering at least `exponent_bits` (built once, then shared).
  std::shared_ptr<const FixedBaseTable> table(unsigned exponent_bits) const;

  mutable std::mutex table_mu;
  mutable std::shared_ptr<const FixedBaseTable> table_;
};

/// Private key material: p < q and the CRT constants.
struct PrivateKeyData {
  BigInt p, q, p2, q2, pm1, qm1;
  BigInt hp, hq;          ///< L_p(g^(p-1) mod p²)^-1 mod p, same for q
  BigInt q_inv_p;         ///< q^-1 mod p
  BigInt q2_inv_p2;       ///< (q²)^-1 mod p²
  BigInt q_mod_pm1, p_mod_qm1;  ///< exponents for the exact CRT lift of r^n
  bool lift_is_permutation = false;  ///< gcd(q, p-1) = gcd(p, q-1) = 1
  /// Radix-2^52 contexts mod p² and q² (set when the CPU has AVX-512 IFMA): decryption and the
  /// CRT lift run both halves interleaved on the vector units; otherwise mpz_powm.
  std::shared_ptr<const Ifma52> ifma_p2, ifma_q2;

  /// Fixed-base tables for h_s mod p² and mod q² (key-holder DJN encryption by CRT), built once.
  struct CrtTables {
    std::shared_ptr<const FixedBaseTable> p, q;
  };
  CrtTables tables(const BigInt& hs, unsigned exponent_bits) const;
  mutable std::mutex table_mu;
  mutable CrtTables tables_;
};

namespace detail {
/// out ← uniform in [0, 2^bits), from OpenSSL RAND_bytes.
void random_bits(mpz_ptr out, unsigned bits);
/// out ← uniform in [0, bound).
void random_below(mpz_ptr out, mpz_srcptr bound);
/// out ← uniform in [1, n) with gcd(out, n) = 1.
void random_unit(mpz_ptr out, mpz_srcptr n);
/// Security level in bits of an RSA-style modulus of `bits` (NIST SP 800-57 Part 1).
unsigned security_level(unsigned bits);
/// Smallest permitted DJN exponent for a modulus of `bits`: 2 × security level.
unsigned min_exponent_bits(unsigned bits);
/// Builds the shared public data from n and h_s (validates nothing beyond shape).
std::shared_ptr<PublicKeyData> make_public(const BigInt& n, const BigInt& hs);
/// Builds the private data from p, q (p < q after swapping).
std::shared_ptr<PrivateKeyData> make_private(BigInt p, BigInt q);
/// out ← r^n mod n² from r mod p and r mod q, by CRT (exact = true gives exactly r^n; false
/// gives ω(r_p), ω(r_q), which has the same distribution when lift_is_permutation).
void crt_mask(mpz_ptr out, const PrivateKeyData& k, mpz_srcptr rp, mpz_srcptr rq, bool exact);
/// c0 = (1 + m·n) mod n² for m in [0, n).
void raw_encrypt(mpz_ptr out, const PublicKeyData& d, mpz_srcptr m);
/// out ← r^n mod n² (Textbook) or h_s^a (FixedBase) with fresh randomness.
void random_mask(mpz_ptr out, const PublicKeyData& d, Obfuscation mode, unsigned exponent_bits);
}  // namespace detail

}  // namespace fatectl::he
