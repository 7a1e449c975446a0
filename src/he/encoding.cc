// Real numbers into Paillier plaintexts: the common-scale integer codec used by training loops,
// and FATE 1.x's base-16 FixedPointNumber with per-value exponents.
#include "fatectl/he/encoding.h"

#include <cfenv>
#include <cmath>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "he/detail.h"

namespace fatectl::he {

namespace {

/// Nearest double to an integer (ties to even), like Python's int → float conversion.
/// Returns ±inf beyond the double range.
double to_double_rounded(mpz_srcptr v) {
  size_t bits = mpz_sizeinbase(v, 2);
  if (mpz_sgn(v) == 0) return 0.0;
  if (bits <= 53) return mpz_get_d(v);
  if (bits > 1024) return mpz_sgn(v) < 0 ? -HUGE_VAL : HUGE_VAL;
  mpz_t t;
  mpz_init(t);
  mpz_abs(t, v);
  size_t shift = bits - 53;
  bool half = mpz_tstbit(t, shift - 1);
  bool sticky = mpz_scan1(t, 0) < shift - 1;
  mpz_fdiv_q_2exp(t, t, shift);
  if (half && (sticky || mpz_odd_p(t))) mpz_add_ui(t, t, 1);
  double r = std::ldexp(mpz_get_d(t), static_cast<int>(shift));
  mpz_clear(t);
  return mpz_sgn(v) < 0 ? -r : r;
}

/// out ← round_half_even(x · 2^shift) exactly, for finite x.
void scaled_round(mpz_ptr out, double x, long shift) {
  if (x == 0.0) {
    mpz_set_ui(out, 0);
    return;
  }
  int ex = 0;
  double frac = std::frexp(x, &ex);             // x = frac · 2^ex, 0.5 ≤ |frac| < 1
  double mant = std::ldexp(frac, 53);           // exact 53-bit integer
  long total = static_cast<long>(ex) - 53 + shift;  // x·2^shift = mant · 2^total
  if (total >= 0) {
    mpz_set_d(out, mant);
    mpz_mul_2exp(out, out, static_cast<mp_bitcnt_t>(total));
    return;
  }
  if (total < -60) {
    mpz_set_ui(out, 0);  // |value| < 2^-7: rounds to 0
    return;
  }
  mpz_set_d(out, mant);
  bool neg = mpz_sgn(out) < 0;
  mpz_abs(out, out);
  unsigned long s = static_cast<unsigned long>(-total);
  bool half = mpz_tstbit(out, s - 1);
  bool sticky = mpz_scan1(out, 0) < s - 1;
  mpz_fdiv_q_2exp(out, out, s);
  if (half && (sticky || mpz_odd_p(out))) mpz_add_ui(out, out, 1);
  if (neg) mpz_neg(out, out);
}

}  // namespace

// -------------------------------------------------------------------------------------------
ScaledCodec::ScaledCodec(int frac_bits) : frac_bits_(frac_bits) {
  if (frac_bits < 0 || frac_bits > 52) throw invalid("floating_point_precision must be between 0 and 52 bits");
}

int64_t ScaledCodec::encode(double x) const {
  if (!std::isfinite(x)) throw invalid("cannot encode a non-finite value (NaN or infinity)");
  double v = std::nearbyint(std::ldexp(x, frac_bits_));
  if (!(std::fabs(v) < 4611686018427387904.0))  // 2^62
    throw invalid("value " + std::to_string(x) + " is too large to encode at scale 2^" + std::to_string(frac_bits_));
  return static_cast<int64_t>(v);
}

void ScaledCodec::encode(std::span<const double> xs, std::span<int64_t> out) const {
  if (xs.size() != out.size()) throw invalid("ScaledCodec::encode: size mismatch");
  for (size_t i = 0; i < xs.size(); ++i) out[i] = encode(xs[i]);
}

std::vector<int64_t> ScaledCodec::encode(std::span<const double> xs) const {
  std::vector<int64_t> out(xs.size());
  encode(xs, out);
  return out;
}

double ScaledCodec::decode(const BigInt& v, int scale_power) const {
  return std::ldexp(to_double_rounded(v.get()), -frac_bits_ * scale_power);
}

double ScaledCodec::decode(int64_t v, int scale_power) const {
  return std::ldexp(static_cast<double>(v), -frac_bits_ * scale_power);
}

std::vector<Ciphertext> encrypt_scaled(const PublicKey& pk, std::span<const double> xs, const ScaledCodec& codec,
                                       ThreadPool& pool) {
  std::vector<int64_t> v = codec.encode(xs);
  return encrypt_batch(pk, v, pool);
}

std::vector<double> decrypt_scaled(const PrivateKey& sk, std::span<const Ciphertext> cs, const ScaledCodec& codec,
                                   int scale_power, ThreadPool& pool) {
  std::vector<double> out(cs.size());
  pool.parallel_for(cs.size(), [&](size_t b, size_t e, unsigned) {
    for (size_t i = b; i < e; ++i) out[i] = codec.decode(sk.decrypt_signed(cs[i]), scale_power);
  });
  return out;
}

// -------------------------------------------------------------------------------------------
FixedPointCodec::FixedPointCodec(const PublicKey& pk) : pk_(pk) {
  if (!pk.valid()) throw invalid("FixedPointCodec: no public key");
}

FixedPoint FixedPointCodec::encode(double x, std::optional<double> precision, std::optional<int> max_exponent) const {
  if (!std::isfinite(x)) throw invalid("cannot encode a non-finite value (NaN or infinity)");
  if (std::fabs(x) < 1e-200) x = 0.0;
  int fe = 0;
  std::frexp(x, &fe);
  int exponent = static_cast<int>(std::floor(double(kFloatMantissaBits - fe) / kLog2Base));
  if (precision) {
    if (!(*precision > 0)) throw invalid("precision must be positive");
    exponent = static_cast<int>(std::floor(std::log(*precision) / std::log(double(kBase))));
  }
  if (max_exponent) exponent = std::max(*max_exponent, exponent);
  FixedPoint f;
  f.exponent = exponent;
  scaled_round(f.encoding.get(), x, long(kLog2Base) * exponent);
  if (mpz_cmpabs(f.encoding.get(), pk_.max_int().get()) > 0)
    throw failed("overflow: " + std::to_string(x) + " with exponent " + std::to_string(exponent) +
                 " exceeds max_int of the key");
  mpz_mod(f.encoding.get(), f.encoding.get(), pk_.n().get());
  return f;
}

FixedPoint FixedPointCodec::encode_int(int64_t x, std::optional<int> max_exponent) const {
  FixedPoint f;
  f.exponent = max_exponent ? std::max(0, *max_exponent) : 0;
  f.encoding = BigInt::from_i64(x);
  if (f.exponent > 0) mpz_mul_2exp(f.encoding.get(), f.encoding.get(), 4ul * f.exponent);
  if (mpz_cmpabs(f.encoding.get(), pk_.max_int().get()) > 0) throw failed("overflow: integer exceeds max_int of the key");
  mpz_mod(f.encoding.get(), f.encoding.get(), pk_.n().get());
  return f;
}

double FixedPointCodec::decode(const FixedPoint& f) const {
  BigInt mant = from_plaintext(pk_, f.encoding);
  double m = to_double_rounded(mant.get());
  return std::ldexp(m, -kLog2Base * f.exponent);
}

FixedPoint FixedPointCodec::increase_exponent_to(const FixedPoint& f, int new_exponent) const {
  if (new_exponent < f.exponent) throw invalid("increase_exponent_to: new exponent is smaller");
  FixedPoint r;
  r.exponent = new_exponent;
  mpz_mul_2exp(r.encoding.get(), f.encoding.get(), 4ul * static_cast<unsigned long>(new_exponent - f.exponent));
  mpz_mod(r.encoding.get(), r.encoding.get(), pk_.n().get());
  return r;
}

// -------------------------------------------------------------------------------------------
EncryptedNumber FixedPointCipher::encrypt(double x, std::optional<double> precision) const {
  FixedPoint f = codec_.encode(x, precision);
  return EncryptedNumber{codec_.public_key().encrypt(f.encoding), f.exponent};
}

EncryptedNumber FixedPointCipher::encrypt_int(int64_t x) const {
  FixedPoint f = codec_.encode_int(x);
  return EncryptedNumber{codec_.public_key().encrypt(f.encoding), f.exponent};
}

double FixedPointCipher::decrypt(const PrivateKey& sk, const EncryptedNumber& e) const {
  return codec_.decode(FixedPoint{sk.decrypt(e.c), e.exponent});
}

EncryptedNumber FixedPointCipher::increase_exponent_to(const EncryptedNumber& a, int new_exponent) const {
  if (new_exponent < a.exponent) throw invalid("increase_exponent_to: new exponent is smaller");
  BigInt factor;
  mpz_ui_pow_ui(factor.get(), 16, static_cast<unsigned long>(new_exponent - a.exponent));
  return EncryptedNumber{codec_.public_key().mul_scalar(a.c, factor), new_exponent};
}

EncryptedNumber FixedPointCipher::add(const EncryptedNumber& a, const EncryptedNumber& b) const {
  const PublicKey& pk = codec_.public_key();
  if (a.exponent < b.exponent) return EncryptedNumber{pk.add(increase_exponent_to(a, b.exponent).c, b.c), b.exponent};
  if (b.exponent < a.exponent) return EncryptedNumber{pk.add(a.c, increase_exponent_to(b, a.exponent).c), a.exponent};
  return EncryptedNumber{pk.add(a.c, b.c), a.exponent};
}

EncryptedNumber FixedPointCipher::add_plain(const EncryptedNumber& a, double b) const {
  const PublicKey& pk = codec_.public_key();
  FixedPoint f = codec_.encode(b, std::nullopt, a.exponent);
  EncryptedNumber x = a;
  if (x.exponent < f.exponent) x = increase_exponent_to(x, f.exponent);
  else if (f.exponent < x.exponent) f = codec_.increase_exponent_to(f, x.exponent);
  return EncryptedNumber{pk.add_plain(x.c, f.encoding), x.exponent};
}

EncryptedNumber FixedPointCipher::mul(const EncryptedNumber& a, double s) const {
  FixedPoint f = codec_.encode(s);
  return EncryptedNumber{codec_.public_key().mul_scalar(a.c, f.encoding), a.exponent + f.exponent};
}

EncryptedNumber FixedPointCipher::mul_int(const EncryptedNumber& a, int64_t s) const {
  FixedPoint f = codec_.encode_int(s);
  return EncryptedNumber{codec_.public_key().mul_scalar(a.c, f.encoding), a.exponent};
}

}  // namespace fatectl::he
