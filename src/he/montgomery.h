#pragma once
// Montgomery arithmetic on GMP's mpn layer, and fixed-base exponentiation with a windowed table.
// Internal to src/he.
#include <gmp.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace fatectl::he {

class Ifma52FixedBase;  // ifma.h

/// Arithmetic modulo an odd N of k limbs in Montgomery form (x·R mod N, R = 2^(64k)).
/// Every element is exactly k limbs and fully reduced (< N). Immutable; share across threads.
class Montgomery {
 public:
  explicit Montgomery(mpz_srcptr modulus);
  mp_size_t limbs() const { return k_; }
  mp_srcptr modulus() const { return n_.data(); }
  /// R mod N (the Montgomery form of 1).
  mp_srcptr one() const { return one_.data(); }
  /// Limbs of scratch that mul/sqr/to_mont need.
  mp_size_t scratch_limbs() const { return 2 * k_ + 2; }

  /// r ← a·b·R⁻¹ mod N. r may alias a or b. scratch: scratch_limbs().
  void mul(mp_ptr r, mp_srcptr a, mp_srcptr b, mp_ptr scratch) const;
  void sqr(mp_ptr r, mp_srcptr a, mp_ptr scratch) const;
  /// r ← t·R⁻¹ mod N for a 2k-limb t < N·R (t is destroyed).
  void redc(mp_ptr r, mp_ptr t) const;
  /// r ← (a mod N)·R mod N for any non-negative a.
  void to_mont(mp_ptr r, mpz_srcptr a) const;
  /// out ← a·R⁻¹ mod N (normal form).
  void from_mont(mpz_ptr out, mp_srcptr a, mp_ptr scratch) const;
  /// out ← base^e mod N for a non-negative exponent (left-to-right sliding window; base in
  /// normal form, any size). Meant for short exponents (scalar multiplication).
  void pow(mpz_ptr out, mpz_srcptr base, mpz_srcptr e) const;

 private:
  mp_size_t k_;
  std::vector<mp_limb_t> n_, one_, r2_;
  std::vector<mp_limb_t> ninv_n_;  ///< N⁻¹ mod 2^(64k), for GMP's redc_n
  mpz_t nz_, r2z_;
  mp_limb_t ninv_;  ///< -N⁻¹ mod 2^64
  bool use_redc_n_ = false;
  void redc_portable(mp_ptr r, mp_ptr t) const;
 public:
  ~Montgomery();
  Montgomery(const Montgomery&) = delete;
  Montgomery& operator=(const Montgomery&) = delete;
};

/// Products modulo a fixed N with Barrett reduction (μ = ⌊B^(2k)/N⌋ precomputed): a little
/// cheaper than mpz_mul + mpz_mod, and no allocation. Immutable; share across threads.
class Barrett {
 public:
  explicit Barrett(mpz_srcptr modulus);
  /// out ← a·b mod N for 0 ≤ a, b < N. out may alias a or b.
  void mulmod(mpz_ptr out, mpz_srcptr a, mpz_srcptr b) const;

 private:
  mp_size_t k_;
  std::vector<mp_limb_t> n_, mu_;  ///< N padded to k+1 limbs; μ in k+1 limbs
};

/// g^e mod N for a fixed g and exponents of up to max_bits bits: table[i][d-1] = g^(d·2^(w·i)),
/// so one exponentiation costs at most ceil(max_bits/w) Montgomery products and no squarings.
/// On CPUs with AVX-512 IFMA (and allow_ifma) the table is kept in radix 2^52 and the products
/// run on the vector units (Ifma52FixedBase); otherwise it holds 64-bit limbs in Montgomery form.
class FixedBaseTable {
 public:
  /// window = 0 picks the largest window ≤ 9 whose table fits in `memory_budget` bytes
  /// (2048-bit key, 1024-bit exponents: w = 9, 114 products per power, 30 MiB; 37 MiB in radix 2^52).
  FixedBaseTable(mpz_srcptr base, mpz_srcptr modulus, unsigned max_bits, unsigned window = 0,
                 size_t memory_budget = size_t(40) << 20, bool allow_ifma = true);
  ~FixedBaseTable();
  unsigned max_bits() const { return max_bits_; }
  unsigned window() const;
  size_t bytes() const;
  bool uses_ifma() const { return ifma_ != nullptr; }
  const Montgomery& mont() const { return mont_; }
  /// out ← g^e mod N (0 ≤ e < 2^max_bits).
  void pow(mpz_ptr out, mpz_srcptr e) const;
  /// r ← g^e in Montgomery form (k limbs). scratch: mont().scratch_limbs().
  void pow_mont(mp_ptr r, mpz_srcptr e, mp_ptr scratch) const;
  /// out1 ← g1^e mod N1 and out2 ← g2^e mod N2 with one exponent (the key holder's CRT halves;
  /// interleaved on the IFMA path).
  static void pow2(mpz_ptr out1, const FixedBaseTable& t1, mpz_ptr out2, const FixedBaseTable& t2, mpz_srcptr e);

 private:
  Montgomery mont_;
  std::unique_ptr<const Ifma52FixedBase> ifma_;
  unsigned max_bits_, w_, windows_;
  std::vector<mp_limb_t> table_;
  mp_srcptr entry(unsigned window, unsigned digit) const {
    return table_.data() + ((size_t(window) * ((1u << w_) - 1)) + (digit - 1)) * mont_.limbs();
  }
};

/// Per-thread scratch limbs (grown once, reused; never shrinks).
mp_ptr thread_scratch(size_t slot, size_t limbs);

}  // namespace fatectl::he
