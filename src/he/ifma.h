#pragma once
// Modular exponentiation in radix 2^52 with AVX-512 IFMA (vpmadd52luq/huq): almost-Montgomery
// products over 8-lane vectors, and two independent exponentiations interleaved in one loop
// (the CRT halves of a decryption). Internal to src/he; callers check available() first.
#include <gmp.h>

#include <cstdint>
#include <vector>

namespace fatectl::he {

/// A modulus prepared for IFMA exponentiation: digits of 52 bits, D = 8·V digits with
/// 2^(52·D) > 4N (V vectors of 8 lanes, V ≤ kMaxVectors). Immutable; share across threads.
class Ifma52 {
  friend class Ifma52FixedBase;

 public:
  static constexpr unsigned kMaxVectors = 10;  ///< up to 4,158-bit moduli (n² of a 2048-bit key)
  /// True when the CPU has AVX-512F + IFMA and FATECTL_HE_NO_IFMA is unset (checked once).
  static bool available();
  /// Whether an odd modulus of this many bits fits (≤ kMaxVectors vectors).
  static bool fits(size_t modulus_bits);

  explicit Ifma52(mpz_srcptr modulus);
  unsigned vectors() const { return v_; }

  /// out ← base^e mod N (base ≥ 0 of any size, e ≥ 0). Fixed window.
  void powm(mpz_ptr out, mpz_srcptr base, mpz_srcptr e) const;
  /// out1 ← b1^e1 mod N1 and out2 ← b2^e2 mod N2 in one interleaved loop (both moduli must
  /// have the same vectors(); otherwise this runs them one after the other).
  static void powm2(mpz_ptr out1, mpz_srcptr b1, mpz_srcptr e1, const Ifma52& m1, mpz_ptr out2, mpz_srcptr b2,
                    mpz_srcptr e2, const Ifma52& m2);

 private:
  unsigned v_ = 0, d_ = 0;  ///< vectors, digits (8·v_)
  uint64_t k0_ = 0;         ///< -N⁻¹ mod 2^52
  std::vector<uint64_t> n_;  ///< N in d_ digits of 52 bits (64-byte aligned storage below)
  mpz_t nz_, rz_;            ///< N and R = 2^(52·d_) mod N
  std::vector<uint64_t> storage_;
  const uint64_t* n52() const;
  /// d_ digits (normalised, 52 bits each) of (x mod N)·R mod N.
  void to_mont(uint64_t* out, mpz_srcptr x) const;
  /// out ← a·R⁻¹ mod N, fully reduced.
  void from_mont(mpz_ptr out, const uint64_t* a) const;

 public:
  ~Ifma52();
  Ifma52(const Ifma52&) = delete;
  Ifma52& operator=(const Ifma52&) = delete;
};

/// g^e mod N for a fixed g from a windowed table in radix 2^52: table[i][d-1] = g^(d·2^(w·i))
/// (Montgomery form), so a power costs at most ceil(max_bits/w) products and no squarings.
class Ifma52FixedBase {
 public:
  /// window = 0 picks the largest window ≤ 9 whose table fits in `memory_budget` bytes.
  Ifma52FixedBase(mpz_srcptr base, mpz_srcptr modulus, unsigned max_bits, unsigned window, size_t memory_budget);
  unsigned max_bits() const { return max_bits_; }
  unsigned window() const { return w_; }
  size_t bytes() const { return storage_.size() * sizeof(uint64_t); }
  /// out ← g^e mod N (0 ≤ e < 2^max_bits).
  void pow(mpz_ptr out, mpz_srcptr e) const;
  /// out1 ← g1^e mod N1 and out2 ← g2^e mod N2 with the same exponent, interleaved (the key
  /// holder's CRT halves); tables of different shapes are run one after the other.
  static void pow2(mpz_ptr out1, const Ifma52FixedBase& t1, mpz_ptr out2, const Ifma52FixedBase& t2, mpz_srcptr e);

 private:
  Ifma52 mod_;
  unsigned max_bits_, w_, windows_;
  std::vector<uint64_t> storage_;
  const uint64_t* table() const;
};

}  // namespace fatectl::he
