#pragma once
// Encodings of real numbers into Paillier plaintexts:
//  * ScaledCodec — one common scale 2^frac_bits for every value (FATE LR's
//    floating_point_precision = 23). Products of a scaled ciphertext by a scaled integer are at
//    scale 2^(2·frac_bits); no exponent alignment ever happens. Use it in training loops.
//  * FixedPoint / EncryptedNumber — FATE 1.x's FixedPointNumber: base 16, a per-value exponent
//    carried in clear, value = mantissa·16^(-exponent), negatives as n - |mantissa|, overflow
//    detection (max_int = n/3 - 1), exponent alignment on add. Use it for FATE compatibility.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "fatectl/he/paillier.h"

namespace fatectl::he {

/// Real numbers as integers round(x·2^frac_bits), all at one common scale.
class ScaledCodec {
 public:
  explicit ScaledCodec(int frac_bits = 23);
  int frac_bits() const { return frac_bits_; }
  /// round(x·2^frac_bits); throws Invalid for NaN/inf or |x·2^frac_bits| ≥ 2^62.
  int64_t encode(double x) const;
  void encode(std::span<const double> xs, std::span<int64_t> out) const;
  std::vector<int64_t> encode(std::span<const double> xs) const;
  /// v / 2^(frac_bits·scale_power) for a signed integer (scale_power 2 after one product).
  double decode(const BigInt& v, int scale_power = 1) const;
  double decode(int64_t v, int scale_power = 1) const;

 private:
  int frac_bits_;
};

/// E(round(x_i·2^frac_bits)) for every x_i, on the pool.
std::vector<Ciphertext> encrypt_scaled(const PublicKey& pk, std::span<const double> xs, const ScaledCodec& codec,
                                       ThreadPool& pool);
/// Signed decryption then division by 2^(frac_bits·scale_power) (throws Failed on overflow).
std::vector<double> decrypt_scaled(const PrivateKey& sk, std::span<const Ciphertext> cs, const ScaledCodec& codec,
                                   int scale_power, ThreadPool& pool);

/// FATE 1.x FixedPointNumber: value = signed(encoding)·16^(-exponent), encoding in Z_n.
struct FixedPoint {
  BigInt encoding;
  int exponent = 0;
};

/// FATE 1.x fixed-point rules for one public key.
class FixedPointCodec {
 public:
  static constexpr int kBase = 16;
  static constexpr int kLog2Base = 4;
  static constexpr int kFloatMantissaBits = 53;
  explicit FixedPointCodec(const PublicKey& pk);

  /// Floats: exponent = floor((53 - frexp_exp(x)) / 4) (|x| < 1e-200 → 0, exponent as for 0.0);
  /// with precision p: exponent = floor(log16(p)); raised to max_exponent if given.
  /// Throws Failed("overflow") if |round(x·16^exponent)| > max_int; Invalid for NaN/inf.
  FixedPoint encode(double x, std::optional<double> precision = {}, std::optional<int> max_exponent = {}) const;
  /// Integers: exponent 0 (or max_exponent).
  FixedPoint encode_int(int64_t x, std::optional<int> max_exponent = {}) const;
  /// Signed mantissa·16^(-exponent); throws Failed("overflow") in the middle band.
  double decode(const FixedPoint& f) const;
  /// Multiplies the encoding by 16^(new_exponent - exponent) mod n (new_exponent ≥ exponent).
  FixedPoint increase_exponent_to(const FixedPoint& f, int new_exponent) const;

  const PublicKey& public_key() const { return pk_; }

 private:
  PublicKey pk_;
};

/// FATE 1.x PaillierEncryptedNumber: a ciphertext with its fixed-point exponent in clear.
struct EncryptedNumber {
  Ciphertext c;
  int exponent = 0;
};

/// FATE-compatible operations on EncryptedNumber (exponent alignment as FATE 1.x does it).
class FixedPointCipher {
 public:
  explicit FixedPointCipher(const PublicKey& pk) : codec_(pk) {}
  EncryptedNumber encrypt(double x, std::optional<double> precision = {}) const;
  EncryptedNumber encrypt_int(int64_t x) const;
  double decrypt(const PrivateKey& sk, const EncryptedNumber& e) const;
  /// Aligns to the larger exponent (scalar multiply by 16^Δ), then multiplies ciphertexts.
  EncryptedNumber add(const EncryptedNumber& a, const EncryptedNumber& b) const;
  EncryptedNumber add_plain(const EncryptedNumber& a, double b) const;
  /// Encodes s as fixed point; result exponent = a.exponent + s.exponent.
  EncryptedNumber mul(const EncryptedNumber& a, double s) const;
  EncryptedNumber mul_int(const EncryptedNumber& a, int64_t s) const;
  EncryptedNumber increase_exponent_to(const EncryptedNumber& a, int new_exponent) const;
  const FixedPointCodec& codec() const { return codec_; }

 private:
  FixedPointCodec codec_;
};

}  // namespace fatectl::he
