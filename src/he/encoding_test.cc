// Encodings: the common-scale codec of the training loops and FATE 1.x fixed point.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/he/encoding.h"
#include "he/test_keys.h"

using namespace fatectl;
using namespace fatectl::he;

namespace {
const KeyPair& keys() { return testing::test_keys(768); }
}  // namespace

TEST_CASE("scaled codec: round, decode, products at scale 2^46") {
  ScaledCodec c;  // 23 bits
  CHECK(c.frac_bits() == 23);
  CHECK(c.encode(1.0) == (1 << 23));
  CHECK(c.encode(-0.5) == -(1 << 22));
  CHECK(c.encode(0.0) == 0);
  CHECK(c.encode(1.5 / (1 << 23)) == 2);   // ties to even
  CHECK(c.encode(2.5 / (1 << 23)) == 2);
  CHECK(c.decode(c.encode(3.25)) == 3.25);
  CHECK_THROWS_AS(c.encode(std::nan("")), Error);
  CHECK_THROWS_AS(c.encode(INFINITY), Error);
  CHECK_THROWS_AS(c.encode(1e300), Error);
  CHECK_THROWS_AS(ScaledCodec(60), Error);

  const KeyPair& kp = keys();
  ThreadPool pool(2);
  std::vector<double> d = {0.25, -0.75, 0.0, 1e-6, -123.456, 0.1};
  auto ed = encrypt_scaled(kp.pub, d, c, pool);
  auto back = decrypt_scaled(kp.priv, ed, c, 1, pool);
  for (size_t i = 0; i < d.size(); ++i) CHECK(back[i] == doctest::Approx(d[i]).epsilon(1e-6));
  // Σ_i x_i·d_i through the kernel, decoded at scale 2^46.
  std::vector<double> x = {1.0, 2.0, -3.0, 4.0, 0.5, -0.125};
  auto sums = weighted_sums(kp.pub, ed, c.encode(x), 1, pool);
  double want = 0;
  for (size_t i = 0; i < d.size(); ++i) want += d[i] * x[i];
  CHECK(decrypt_scaled(kp.priv, sums, c, 2, pool)[0] == doctest::Approx(want).epsilon(1e-6));
}

TEST_CASE("fixed point: FATE exponent rules") {
  FixedPointCodec codec(keys().pub);
  CHECK(codec.encode(0.3).exponent == 13);
  CHECK(codec.encode(1000.0).exponent == 10);
  CHECK(codec.encode(0.0).exponent == 13);
  CHECK(codec.encode(1e-250).exponent == 13);  // |x| < 1e-200 is 0
  CHECK(codec.encode_int(5).exponent == 0);
  CHECK(codec.encode(0.3, std::nullopt, 20).exponent == 20);
  CHECK(codec.decode(codec.encode(-2.75)) == -2.75);
  CHECK(codec.decode(codec.encode_int(-17)) == -17.0);
  FixedPoint f = codec.encode(0.3);
  CHECK(codec.decode(codec.increase_exponent_to(f, 16)) == codec.decode(f));
  CHECK_THROWS_AS(codec.increase_exponent_to(f, 2), Error);
  CHECK_THROWS_AS(codec.encode(std::nan("")), Error);
  // Overflow: a value beyond max_int at its exponent.
  CHECK_THROWS_WITH_AS(codec.encode(1e250, std::nullopt, 10), doctest::Contains("overflow"), Error);
}

TEST_CASE("fixed point: encrypted arithmetic with exponent alignment") {
  const KeyPair& kp = keys();
  FixedPointCipher fc(kp.pub);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-100, 100);
  for (int i = 0; i < 10; ++i) {
    double a = u(rng), b = u(rng) * 1e-3, s = u(rng);
    EncryptedNumber ea = fc.encrypt(a), eb = fc.encrypt(b);
    // FATE keeps about 53 - 4 bits per value (hex-digit exponents), so compare with the
    // plaintext encoding's own round trip, and with a within 2^-48 relative.
    CHECK(fc.decrypt(kp.priv, ea) == fc.codec().decode(fc.codec().encode(a)));
    CHECK(fc.decrypt(kp.priv, ea) == doctest::Approx(a).epsilon(1e-14));
    EncryptedNumber sum = fc.add(ea, eb);
    CHECK(sum.exponent == std::max(ea.exponent, eb.exponent));
    CHECK(fc.decrypt(kp.priv, sum) == doctest::Approx(a + b).epsilon(1e-12));
    CHECK(fc.decrypt(kp.priv, fc.add_plain(ea, b)) == doctest::Approx(a + b).epsilon(1e-12));
    EncryptedNumber prod = fc.mul(ea, s);
    CHECK(prod.exponent == ea.exponent + fc.codec().encode(s).exponent);
    CHECK(fc.decrypt(kp.priv, prod) == doctest::Approx(a * s).epsilon(1e-12));
    CHECK(fc.decrypt(kp.priv, fc.mul(ea, -1.0)) == -fc.decrypt(kp.priv, ea));
    CHECK(fc.decrypt(kp.priv, fc.mul_int(ea, -3)) == doctest::Approx(-3 * a).epsilon(1e-14));
    CHECK(fc.decrypt(kp.priv, fc.encrypt_int(-9)) == -9.0);
  }
}
