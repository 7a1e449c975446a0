#pragma once
// The radix-2^52 AVX-512 IFMA engine (vpmadd52luq/huq) of src/he: a Montgomery context with its
// conversions, almost-Montgomery products over 8-lane vectors (one at a time for latency, two
// interleaved for the CRT halves of a decryption, up to four interleaved for throughput),
// fixed-window exponentiation and fixed-base tables. Internal to src/he; callers check
// available() first. The batch algorithms built on it (gradient kernel, batch encryption) live in
// batch.cc.
#include <gmp.h>

#include <cstddef>
#include <cstdint>

namespace fatectl {
class ThreadPool;
}

namespace fatectl::he {

/// 64-byte aligned array of 52-bit digits (move-only; zero-filled on request).
class Ifma52Digits {
 public:
  Ifma52Digits() = default;
  explicit Ifma52Digits(size_t n, bool zero = false);
  Ifma52Digits(Ifma52Digits&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  Ifma52Digits& operator=(Ifma52Digits&& o) noexcept;
  Ifma52Digits(const Ifma52Digits&) = delete;
  Ifma52Digits& operator=(const Ifma52Digits&) = delete;
  ~Ifma52Digits();
  uint64_t* data() const { return p_; }
  size_t size() const { return n_; }
  uint64_t* operator+(size_t i) const { return p_ + i; }

 private:
  uint64_t* p_ = nullptr;
  size_t n_ = 0;
};

/// A modulus prepared for IFMA arithmetic: D = 8·V digits of 52 bits with R = 2^(52·D) > 4N
/// (V vectors of 8 lanes). Numbers in Montgomery form are D digits, < 2N. Immutable; share
/// across threads.
class Ifma52 {
 public:
  static constexpr unsigned kMaxVectors = 10;          ///< exponentiation: up to 4,158-bit moduli
  static constexpr unsigned kMaxProductVectors = 20;   ///< products: up to 8,318-bit (n² of 4096)
  static constexpr int kMaxWays = 4;                   ///< most products interleaved in one call
  /// True when the CPU has AVX-512F + IFMA and FATECTL_HE_NO_IFMA is unset (checked once).
  static bool available();
  /// Whether an odd modulus of this many bits fits powm/powm2/Ifma52FixedBase::pow.
  static bool fits(size_t modulus_bits);
  /// Whether it fits the products, conversions and Ifma52FixedBase::pow_mont.
  static bool fits_products(size_t modulus_bits);

  explicit Ifma52(mpz_srcptr modulus);
  ~Ifma52();
  Ifma52(const Ifma52&) = delete;
  Ifma52& operator=(const Ifma52&) = delete;

  unsigned vectors() const { return v_; }
  size_t digits() const { return d_; }
  const uint64_t* one() const { return one_.data(); }  ///< R mod N (Montgomery 1)

  /// Digits of x (0 ≤ x < 2^(52·D)), and back.
  void to_digits(uint64_t* out, mpz_srcptr x) const;
  void from_digits(mpz_ptr out, const uint64_t* a) const;
  /// out ← x·R mod N (< 2N) for x ≥ 0 of any size.
  void to_mont(uint64_t* out, mpz_srcptr x) const;
  /// out ← a·R⁻¹ mod N, fully reduced.
  void from_mont(mpz_ptr out, const uint64_t* a) const;

  /// r ← a·b·R⁻¹ (< 2N); r may alias a or b.
  void mul(uint64_t* r, const uint64_t* a, const uint64_t* b) const;
  /// r[g] ← a[g]·b[g]·R⁻¹ for g < k ≤ kMaxWays, interleaved (r[g] may alias a[g] or b[g]).
  void mul(uint64_t* const* r, const uint64_t* const* a, const uint64_t* const* b, int k) const;
  /// r[g] ← a[g]·b·R⁻¹ for g < k ≤ kMaxWays (one shared b), interleaved.
  void mul_shared(uint64_t* const* r, const uint64_t* const* a, const uint64_t* b, int k) const;

  /// out ← base^e mod N (base ≥ 0 of any size, e ≥ 0). Fixed window.
  void powm(mpz_ptr out, mpz_srcptr base, mpz_srcptr e) const;
  /// out1 ← b1^e1 mod N1 and out2 ← b2^e2 mod N2 in one interleaved loop (both moduli must
  /// have the same vectors(); otherwise this runs them one after the other).
  static void powm2(mpz_ptr out1, mpz_srcptr b1, mpz_srcptr e1, const Ifma52& m1, mpz_ptr out2, mpz_srcptr b2,
                    mpz_srcptr e2, const Ifma52& m2);

  struct Kernels;  ///< per-size function table (ifma.cc)

 private:
  unsigned v_ = 0, d_ = 0;  ///< vectors, digits (8·v_)
  uint64_t k0_ = 0;         ///< -N⁻¹ mod 2^52
  mpz_t nz_;                ///< N
  Ifma52Digits n_, one_, r2_, unit_;  ///< N, R mod N, R² mod N, 1
  const Kernels* k_ = nullptr;
  friend class Ifma52FixedBase;
};

/// The widest window (≤ 9 bits) whose fixed-base table — ceil(max_bits/w)·(2^w − 1) entries of
/// `entry_bytes` — fits `memory_budget`; 1 when none does.
unsigned fixed_base_window(unsigned max_bits, size_t entry_bytes, size_t memory_budget);

/// g^e mod N for a fixed g from a windowed table in radix 2^52: entry(i, d) = g^(d·2^(w·i))
/// (Montgomery form), so a power costs at most ceil(max_bits/w) products and no squarings.
class Ifma52FixedBase {
 public:
  /// window = 0 picks the largest window ≤ 9 whose table fits in `memory_budget` bytes. The
  /// windows are filled in parallel on `pool` when given.
  Ifma52FixedBase(mpz_srcptr base, mpz_srcptr modulus, unsigned max_bits, unsigned window, size_t memory_budget,
                  ThreadPool* pool = nullptr);
  unsigned max_bits() const { return max_bits_; }
  unsigned window() const { return w_; }
  size_t bytes() const { return table_.size() * sizeof(uint64_t); }
  const Ifma52& modulus() const { return mod_; }
  /// out ← g^e mod N (0 ≤ e < 2^max_bits).
  void pow(mpz_ptr out, mpz_srcptr e) const;
  /// acc[g] ← g^e[g] in Montgomery form (< 2N) for g < k ≤ Ifma52::kMaxWays, interleaved.
  void pow_mont(uint64_t* const* acc, const mpz_srcptr* e, int k) const;
  /// out1 ← g1^e mod N1 and out2 ← g2^e mod N2 with the same exponent, interleaved (the key
  /// holder's CRT halves); tables of different shapes are run one after the other.
  static void pow2(mpz_ptr out1, const Ifma52FixedBase& t1, mpz_ptr out2, const Ifma52FixedBase& t2, mpz_srcptr e);

 private:
  Ifma52 mod_;
  unsigned max_bits_, w_ = 1, windows_ = 1;
  size_t per_ = 1;  ///< entries per window: 2^w - 1
  Ifma52Digits table_;
  const uint64_t* entry(unsigned i, unsigned d) const { return table_ + (size_t(i) * per_ + d - 1) * mod_.digits(); }
  void check_exponent(mpz_srcptr e) const;
  void build(mpz_srcptr base, ThreadPool* pool);
};

}  // namespace fatectl::he
