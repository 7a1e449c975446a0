// Randomness for Paillier from OpenSSL's CSPRNG (RAND_bytes), and key-size policy helpers.
#include <openssl/rand.h>

#include <vector>

#include "fatectl/core/error.h"
#include "he/detail.h"

namespace fatectl::he::detail {

void random_bits(mpz_ptr out, unsigned bits) {
  size_t bytes = (bits + 7) / 8;
  thread_local std::vector<unsigned char> buf;
  buf.resize(bytes);
  if (bytes && RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1)
    throw failed("OpenSSL RAND_bytes failed: no randomness available");
  mpz_import(out, bytes, 1, 1, 1, 0, buf.data());
  if (bits % 8) mpz_fdiv_r_2exp(out, out, bits);
  OPENSSL_cleanse(buf.data(), buf.size());
}

void random_below(mpz_ptr out, mpz_srcptr bound) {
  unsigned bits = static_cast<unsigned>(mpz_sizeinbase(bound, 2));
  do {
    random_bits(out, bits);
  } while (mpz_cmp(out, bound) >= 0);  // rejection: uniform, < 2 draws expected
}

void random_unit(mpz_ptr out, mpz_srcptr n) {
  mpz_t g;
  mpz_init(g);
  while (true) {
    random_below(out, n);
    if (mpz_sgn(out) == 0) continue;
    mpz_gcd(g, out, n);
    if (mpz_cmp_ui(g, 1) == 0) break;
  }
  mpz_clear(g);
}

unsigned security_level(unsigned bits) {
  // NIST SP 800-57 Part 1 Rev. 5, Table 2 (IFC), interpolated below 1024 bits.
  if (bits >= 15360) return 256;
  if (bits >= 7680) return 192;
  if (bits >= 3072) return 128;
  if (bits >= 2048) return 112;
  if (bits >= 1024) return 80;
  return std::max(16u, bits * 80 / 1024);
}

unsigned min_exponent_bits(unsigned bits) { return 2 * security_level(bits); }

}  // namespace fatectl::he::detail
