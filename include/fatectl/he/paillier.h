#pragma once
// Paillier additively homomorphic encryption on GMP: keys, encryption, decryption, the
// homomorphic operations, batches over a thread pool, the gradient kernel and serialization.
//
// Plaintexts live in Z_n. Signed values use FATE's bands: [0, max_int] is positive,
// [n - max_int, n) is negative (value - n), anything between is an overflow
// (max_int = n/3 - 1, as FATE 1.x).
//
// Thread safety: keys are immutable after construction and may be shared by any number of
// threads (the lazily built fixed-base tables are built once under a lock). Ciphertext values
// are plain values.
#include <gmp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fatectl {
class ThreadPool;
}

namespace fatectl::he {

/// An owned GMP integer (mpz_t) with value semantics; the escape hatch is get().
class BigInt {
 public:
  BigInt() { mpz_init(v_); }
  BigInt(long v) { mpz_init_set_si(v_, v); }  // NOLINT: implicit on purpose (small constants)
  explicit BigInt(const mpz_t v) { mpz_init_set(v_, v); }
  BigInt(const BigInt& o) { mpz_init_set(v_, o.v_); }
  BigInt(BigInt&& o) noexcept { mpz_init(v_); mpz_swap(v_, o.v_); }
  BigInt& operator=(const BigInt& o) { if (this != &o) mpz_set(v_, o.v_); return *this; }
  BigInt& operator=(BigInt&& o) noexcept { mpz_swap(v_, o.v_); return *this; }
  ~BigInt() { mpz_clear(v_); }

  static BigInt from_i64(int64_t v);
  static BigInt from_u64(uint64_t v);
  /// Parses hexadecimal digits (no prefix, optional leading '-'); throws Invalid on garbage.
  static BigInt from_hex(std::string_view hex);
  /// Parses decimal digits (optional leading '-'); throws Invalid on garbage.
  static BigInt from_dec(std::string_view dec);
  std::string hex() const;
  std::string dec() const;
  /// Big-endian magnitude, left-padded with zeros to `width` bytes (throws if it does not fit).
  std::string to_bytes(size_t width) const;
  static BigInt from_bytes(std::string_view big_endian);

  size_t bits() const { return mpz_sgn(v_) == 0 ? 0 : mpz_sizeinbase(v_, 2); }
  int sign() const { return mpz_sgn(v_); }
  bool fits_i64() const;
  int64_t to_i64() const;  ///< throws Invalid when it does not fit
  double to_double() const { return mpz_get_d(v_); }

  mpz_ptr get() { return v_; }
  mpz_srcptr get() const { return v_; }
  friend bool operator==(const BigInt& a, const BigInt& b) { return mpz_cmp(a.v_, b.v_) == 0; }
  friend bool operator<(const BigInt& a, const BigInt& b) { return mpz_cmp(a.v_, b.v_) < 0; }

 private:
  mpz_t v_;
};

/// A Paillier ciphertext: an element of Z*_{n²}. Copy is a deep copy; move is free.
struct Ciphertext {
  BigInt c;
  friend bool operator==(const Ciphertext& a, const Ciphertext& b) { return a.c == b.c; }
};

/// Which arithmetic the exponentiations of this process use: "avx512-ifma" (radix 2^52 on the
/// vector units: decryption, the CRT lift and fixed-base tables) or "gmp" (mpn/mpz_powm). The
/// CPU decides; FATECTL_HE_NO_IFMA=1 forces "gmp" (read once, at first use).
const char* arithmetic_engine();

/// How fresh randomness r^n is produced when encrypting or re-randomising.
enum class Obfuscation {
  Textbook,   ///< r uniform in Z*_n, one full r^n mod n² (FATE's; rests on DCR only)
  FixedBase,  ///< DJN: h_s^a with h_s = h^n fixed per key, a random short exponent (fast)
  None,       ///< no randomness at all (deterministic; only for tests and known answers)
};
const char* to_string(Obfuscation o);
Obfuscation parse_obfuscation(std::string_view s);  ///< "textbook" | "fixed-base" | "none"

/// Options for key generation and for the encryption side of a public key.
struct KeyOptions {
  unsigned bits = 2048;               ///< |n|; exactly this many bits
  bool allow_insecure = false;        ///< permit bits < 2048 (tests, demos)
  Obfuscation obfuscation = Obfuscation::FixedBase;
  unsigned exponent_bits = 0;         ///< DJN exponent size; 0 = bits/2; must be ≥ 2×security
};

struct PublicKeyData;   // internal: n, n², h_s, fixed-base tables
struct PrivateKeyData;  // internal: p, q, CRT constants

/// The public key n (g = n+1) plus the DJN base h_s. Cheap to copy (shared, immutable).
/// The obfuscation mode and exponent size are per-object settings (copy, then set).
class PublicKey {
 public:
  PublicKey() = default;
  unsigned bits() const;
  const BigInt& n() const;
  const BigInt& n_squared() const;
  const BigInt& max_int() const;  ///< n/3 - 1
  const BigInt& h_s() const;      ///< DJN base h^n mod n² (part of the public key)
  /// 16 hex digits identifying n (first 8 bytes of SHA-256 of n's big-endian bytes).
  std::string fingerprint() const;

  Obfuscation obfuscation() const { return mode_; }
  unsigned exponent_bits() const { return exp_bits_; }
  /// Sets the mode used by encrypt()/rerandomize(); throws Invalid if the exponent is too short.
  void set_obfuscation(Obfuscation mode, unsigned exponent_bits = 0);

  // -- encryption ----------------------------------------------------------------------
  /// E(m) for m in [0, n) (throws Invalid otherwise), with fresh randomness.
  Ciphertext encrypt(const BigInt& m) const;
  /// E(v) for a signed integer (negatives map to n - |v|).
  Ciphertext encrypt(int64_t v) const;
  /// (1 + m·n) mod n², no randomness: only to add plaintexts or for known answers.
  Ciphertext encrypt_raw(const BigInt& m) const;
  /// c · r^n with fresh randomness (same plaintext, unlinkable ciphertext).
  Ciphertext rerandomize(const Ciphertext& c) const;
  void rerandomize_inplace(Ciphertext& c) const;
  /// Fresh r^n mod n² (or h_s^a) under the current mode.
  BigInt random_mask() const;

  // -- homomorphic operations -----------------------------------------------------------
  Ciphertext add(const Ciphertext& a, const Ciphertext& b) const;  ///< E(a+b)
  void add_inplace(Ciphertext& a, const Ciphertext& b) const;      ///< a ← E(a+b)
  Ciphertext add_plain(const Ciphertext& a, const BigInt& m) const;  ///< E(a+m), m signed or in Z_n
  Ciphertext add_plain(const Ciphertext& a, int64_t m) const;
  Ciphertext sub(const Ciphertext& a, const Ciphertext& b) const;  ///< E(a-b)
  Ciphertext negate(const Ciphertext& a) const;                    ///< E(-a)
  /// E(a·k) for a signed scalar; negative k uses the inverse of c, so the exponent stays |k|.
  Ciphertext mul_scalar(const Ciphertext& a, int64_t k) const;
  Ciphertext mul_scalar(const Ciphertext& a, const BigInt& k) const;
  /// E(Σ a_i).
  Ciphertext sum(std::span<const Ciphertext> cs) const;
  /// Validates that c is in (0, n²) and coprime to n (throws Invalid).
  void check(const Ciphertext& c) const;

  // -- serialization ---------------------------------------------------------------------
  /// YAML text: kind, bits, n, h_s (hex). `source` names the input in error messages.
  std::string serialize() const;
  static PublicKey parse(std::string_view text, const std::string& source);
  static PublicKey load(const std::string& path);
  void save(const std::string& path) const;

  bool valid() const { return d_ != nullptr; }
  const PublicKeyData& data() const { return *d_; }
  friend bool operator==(const PublicKey& a, const PublicKey& b);

 private:
  friend class PrivateKey;
  friend struct KeyPair;
  static PublicKey parse_public(std::string_view text, const std::string& source);
  std::shared_ptr<const PublicKeyData> d_;
  Obfuscation mode_ = Obfuscation::FixedBase;
  unsigned exp_bits_ = 0;
};

/// The factorisation p, q with CRT constants. Cheap to copy (shared, immutable).
class PrivateKey {
 public:
  PrivateKey() = default;
  const PublicKey& public_key() const { return pub_; }
  PublicKey& public_key() { return pub_; }

  /// m in [0, n), by CRT (mod p² and q²).
  BigInt decrypt(const Ciphertext& c) const;
  /// Decrypts into the signed band: (-max_int..max_int); throws Failed("overflow") in between.
  BigInt decrypt_signed(const Ciphertext& c) const;
  /// Encryption by the key holder through CRT (mod p², q²), same distribution as the public
  /// key's mode: textbook r^n by two half-size powers, fixed-base h_s^a from tables mod p² and
  /// q² (same exponent, both halves interleaved). Never slower than the public key's path.
  Ciphertext encrypt(const BigInt& m) const;
  Ciphertext encrypt(int64_t v) const;

  /// YAML text with p and q (secret). Never log it.
  std::string serialize() const;
  static PrivateKey parse(std::string_view text, const std::string& source);
  /// Reads a private key file; refuses (Invalid) files readable by group or others.
  static PrivateKey load(const std::string& path);
  /// Writes the key with mode 0600 (created exclusively unless overwrite).
  void save(const std::string& path, bool overwrite = false) const;

  bool valid() const { return d_ != nullptr; }
  const PrivateKeyData& data() const { return *d_; }

 private:
  friend struct KeyPair;
  static PrivateKey parse_private(std::string_view text, const std::string& source);
  PublicKey pub_;
  std::shared_ptr<const PrivateKeyData> d_;
};

/// A freshly generated key pair.
struct KeyPair {
  PublicKey pub;
  PrivateKey priv;
  /// Random primes p, q of bits/2 bits each (p ≠ q, n exactly `bits` bits); OpenSSL RAND_bytes.
  /// Throws Invalid for bits < 2048 unless allow_insecure (and always for bits < 256 or odd).
  static KeyPair generate(const KeyOptions& options);
  /// Builds a key pair from given primes (known-answer tests; also validates them).
  static KeyPair from_primes(const BigInt& p, const BigInt& q, const KeyOptions& options);

 private:
  static KeyPair from_parts(std::shared_ptr<PublicKeyData> pub, std::shared_ptr<PrivateKeyData> priv,
                            const KeyOptions& options);
};

// -- signed plaintexts --------------------------------------------------------------------
/// Maps a signed integer into Z_n (negative → n - |v|); throws Failed if |v| > max_int.
BigInt to_plaintext(const PublicKey& pk, const BigInt& v);
/// Maps m in [0, n) back to a signed integer; throws Failed("overflow") in the middle band.
BigInt from_plaintext(const PublicKey& pk, const BigInt& m);

// -- batches over a thread pool ------------------------------------------------------------
/// Element-wise E(v_i) (signed), each with fresh randomness.
std::vector<Ciphertext> encrypt_batch(const PublicKey& pk, std::span<const int64_t> values, ThreadPool& pool);
std::vector<Ciphertext> encrypt_batch(const PublicKey& pk, std::span<const BigInt> values, ThreadPool& pool);
/// Key-holder encryption through CRT.
std::vector<Ciphertext> encrypt_batch(const PrivateKey& sk, std::span<const int64_t> values, ThreadPool& pool);
/// Element-wise signed decryption (throws Failed on overflow).
std::vector<BigInt> decrypt_batch(const PrivateKey& sk, std::span<const Ciphertext> cs, ThreadPool& pool);
/// Element-wise re-randomisation in place.
void rerandomize_batch(const PublicKey& pk, std::span<Ciphertext> cs, ThreadPool& pool);

/// The gradient kernel: for every column j, out[j] = Π_i c_i^{x[i·cols + j]} = E(Σ_i x_ij·d_i),
/// with x a row-major rows×cols matrix of signed integers (rows = cs.size()). Uses
/// multi-exponentiation (signed-window buckets over shared per-ciphertext power tables) instead
/// of rows·cols independent exponentiations. Results are not re-randomised.
std::vector<Ciphertext> weighted_sums(const PublicKey& pk, std::span<const Ciphertext> cs,
                                      std::span<const int64_t> x, size_t cols, ThreadPool& pool);
/// The same products computed one scalar multiplication at a time (reference and benchmark).
std::vector<Ciphertext> weighted_sums_naive(const PublicKey& pk, std::span<const Ciphertext> cs,
                                            std::span<const int64_t> x, size_t cols, ThreadPool& pool);

// -- ciphertext vectors as bytes -------------------------------------------------------------
/// Binary, versioned: magic "FCPV", version 1, key fingerprint, element width, count, then each
/// ciphertext big-endian at fixed width (2·|n|/8 bytes).
std::string serialize_ciphertexts(const PublicKey& pk, std::span<const Ciphertext> cs);
/// Parses and validates (length, fingerprint, every value in (0, n²)); throws Invalid, never crashes.
std::vector<Ciphertext> parse_ciphertexts(const PublicKey& pk, std::string_view bytes);

}  // namespace fatectl::he
