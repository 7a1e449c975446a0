// BigInt: conversions of GMP integers to and from text and bytes.
#include <cctype>
#include <cstring>
#include <limits>

#include "fatectl/core/error.h"
#include "fatectl/he/paillier.h"

namespace fatectl::he {

namespace {
BigInt parse_digits(std::string_view s, int base, const char* what) {
  std::string_view d = s.substr(!s.empty() && s[0] == '-' ? 1 : 0);
  if (d.empty() || d.size() > (1u << 20)) throw invalid(std::string("not a ") + what + " integer");
  for (char ch : d) {
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(ch)) : std::isdigit(static_cast<unsigned char>(ch));
    if (!ok) throw invalid(std::string("not a ") + what + " integer");
  }
  BigInt r;
  std::string tmp(s);
  if (mpz_set_str(r.get(), tmp.c_str(), base) != 0) throw invalid(std::string("not a ") + what + " integer");
  return r;
}
}  // namespace

BigInt BigInt::from_i64(int64_t v) {
  if (v >= 0) return from_u64(static_cast<uint64_t>(v));
  BigInt r = from_u64(static_cast<uint64_t>(-(v + 1)) + 1);
  mpz_neg(r.v_, r.v_);
  return r;
}

BigInt BigInt::from_u64(uint64_t v) {
  BigInt r;
  mpz_import(r.v_, 1, 1, sizeof(v), 0, 0, &v);
  return r;
}

BigInt BigInt::from_hex(std::string_view hex) { return parse_digits(hex, 16, "hexadecimal"); }
BigInt BigInt::from_dec(std::string_view dec) { return parse_digits(dec, 10, "decimal"); }

std::string BigInt::hex() const {
  std::string s(mpz_sizeinbase(v_, 16) + 2, '\0');
  mpz_get_str(s.data(), 16, v_);
  s.resize(std::strlen(s.c_str()));
  return s;
}

std::string BigInt::dec() const {
  std::string s(mpz_sizeinbase(v_, 10) + 2, '\0');
  mpz_get_str(s.data(), 10, v_);
  s.resize(std::strlen(s.c_str()));
  return s;
}

std::string BigInt::to_bytes(size_t width) const {
  size_t need = (mpz_sizeinbase(v_, 2) + 7) / 8;
  if (mpz_sgn(v_) == 0) need = 0;
  if (need > width) throw failed("integer does not fit in " + std::to_string(width) + " bytes");
  std::string out(width, '\0');
  size_t count = 0;
  if (need) mpz_export(out.data() + (width - need), &count, 1, 1, 1, 0, v_);
  return out;
}

BigInt BigInt::from_bytes(std::string_view b) {
  BigInt r;
  if (!b.empty()) mpz_import(r.v_, b.size(), 1, 1, 1, 0, b.data());
  return r;
}

bool BigInt::fits_i64() const { return mpz_fits_slong_p(v_) != 0 && sizeof(long) == 8; }

int64_t BigInt::to_i64() const {
  if (!fits_i64()) throw invalid("integer does not fit in 64 bits");
  return mpz_get_si(v_);
}

}  // namespace fatectl::he
