// Paillier: round trips, homomorphic identities, obfuscation modes, CRT paths, overflow.
#include <doctest/doctest.h>

#include <random>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/he/paillier.h"
#include "he/test_keys.h"

using namespace fatectl;
using namespace fatectl::he;

namespace {
const KeyPair& test_keys() { return testing::test_keys(768); }
}  // namespace

TEST_CASE("paillier: key generation shape") {
  const KeyPair& kp = test_keys();
  CHECK(kp.pub.bits() == 768);
  CHECK(kp.pub.n().bits() == 768);
  CHECK(kp.pub.obfuscation() == Obfuscation::FixedBase);
  CHECK(kp.pub.exponent_bits() == 384);
  KeyOptions o;
  o.bits = 1024;
  CHECK_THROWS_AS(KeyPair::generate(o), Error);  // insecure without the flag
}

TEST_CASE("paillier: round trips in every obfuscation mode") {
  KeyPair kp = test_keys();
  std::mt19937_64 rng(7);
  for (Obfuscation mode : {Obfuscation::Textbook, Obfuscation::FixedBase, Obfuscation::None}) {
    CAPTURE(to_string(mode));
    kp.pub.set_obfuscation(mode);
    kp.priv.public_key().set_obfuscation(mode);
    for (int64_t v : {int64_t(0), int64_t(1), int64_t(-1), INT64_MAX, INT64_MIN, int64_t(rng()), -int64_t(rng() >> 1)}) {
      CAPTURE(v);
      CHECK(kp.priv.decrypt_signed(kp.pub.encrypt(v)).to_i64() == v);
      CHECK(kp.priv.decrypt_signed(kp.priv.encrypt(v)).to_i64() == v);
    }
    BigInt top;
    mpz_sub_ui(top.get(), kp.pub.n().get(), 1);
    CHECK(kp.priv.decrypt(kp.pub.encrypt(top)) == top);
    CHECK(kp.priv.decrypt(kp.priv.encrypt(top)) == top);
  }
}

TEST_CASE("paillier: homomorphic identities") {
  KeyPair kp = test_keys();
  const PublicKey& pk = kp.pub;
  std::mt19937_64 rng(11);
  for (int it = 0; it < 20; ++it) {
    int64_t a = static_cast<int64_t>(rng() >> 2) - (INT64_MAX >> 2);
    int64_t b = static_cast<int64_t>(rng() >> 2) - (INT64_MAX >> 2);
    int64_t k = static_cast<int64_t>(rng() >> 40) - (1 << 23);
    Ciphertext ea = pk.encrypt(a), eb = pk.encrypt(b);
    auto dec = [&](const Ciphertext& c) { return kp.priv.decrypt_signed(c); };
    auto big = [](int64_t v) { return BigInt::from_i64(v); };
    BigInt sum, prod;
    mpz_add(sum.get(), big(a).get(), big(b).get());
    CHECK(dec(pk.add(ea, eb)) == sum);
    CHECK(dec(pk.add_plain(ea, b)) == sum);
    mpz_sub(sum.get(), big(a).get(), big(b).get());
    CHECK(dec(pk.sub(ea, eb)) == sum);
    CHECK(dec(pk.negate(ea)) == big(-a));
    mpz_mul(prod.get(), big(a).get(), big(k).get());
    CHECK(dec(pk.mul_scalar(ea, k)) == prod);
    CHECK(dec(pk.mul_scalar(ea, big(k))) == prod);
    // A scalar given in the negative band of Z_n behaves like the negative integer.
    CHECK(pk.mul_scalar(ea, to_plaintext(pk, big(k))) == pk.mul_scalar(ea, k));
    Ciphertext r = pk.rerandomize(ea);
    CHECK_FALSE(r == ea);
    CHECK(dec(r) == big(a));
    Ciphertext acc = ea;
    pk.add_inplace(acc, eb);
    CHECK(acc == pk.add(ea, eb));
  }
  std::vector<Ciphertext> cs;
  for (int i = 1; i <= 10; ++i) cs.push_back(pk.encrypt(int64_t(i)));
  CHECK(kp.priv.decrypt_signed(pk.sum(cs)).to_i64() == 55);
  CHECK(kp.priv.decrypt_signed(pk.mul_scalar(cs[3], int64_t(0))).to_i64() == 0);
}

TEST_CASE("paillier: overflow is detected, not wrapped") {
  const KeyPair& kp = test_keys();
  const PublicKey& pk = kp.pub;
  BigInt big = pk.max_int();
  CHECK(kp.priv.decrypt_signed(pk.encrypt(to_plaintext(pk, big))) == big);
  BigInt neg;
  mpz_neg(neg.get(), big.get());
  CHECK(kp.priv.decrypt_signed(pk.encrypt(to_plaintext(pk, neg))) == neg);
  BigInt over;
  mpz_add_ui(over.get(), big.get(), 1);
  CHECK_THROWS_AS(to_plaintext(pk, over), Error);
  // max_int + max_int lands in the middle band: decryption reports overflow.
  Ciphertext twice = pk.add(pk.encrypt(to_plaintext(pk, big)), pk.encrypt(to_plaintext(pk, big)));
  CHECK_THROWS_WITH_AS(kp.priv.decrypt_signed(twice), doctest::Contains("overflow"), Error);
  CHECK_NOTHROW(kp.priv.decrypt(twice));
  // Plaintexts outside [0, n) are refused.
  CHECK_THROWS_AS(pk.encrypt(pk.n()), Error);
  CHECK_THROWS_AS(pk.encrypt(BigInt(-1L)), Error);
}

TEST_CASE("paillier: obfuscation settings") {
  KeyPair kp = test_keys();
  CHECK_THROWS_AS(kp.pub.set_obfuscation(Obfuscation::FixedBase, 8), Error);  // below 2× security
  CHECK_THROWS_AS(kp.pub.set_obfuscation(Obfuscation::FixedBase, 5000), Error);
  kp.pub.set_obfuscation(Obfuscation::FixedBase, 160);
  CHECK(kp.pub.exponent_bits() == 160);
  CHECK(kp.priv.decrypt_signed(kp.pub.encrypt(int64_t(-42))).to_i64() == -42);
  kp.pub.set_obfuscation(Obfuscation::None);
  CHECK(kp.pub.encrypt(int64_t(5)) == kp.pub.encrypt(int64_t(5)));  // deterministic
  kp.pub.set_obfuscation(Obfuscation::Textbook);
  CHECK_FALSE(kp.pub.encrypt(int64_t(5)) == kp.pub.encrypt(int64_t(5)));
  CHECK(parse_obfuscation("fixed-base") == Obfuscation::FixedBase);
  CHECK_THROWS_AS(parse_obfuscation("fast"), Error);
}

TEST_CASE("paillier: ciphertext validation") {
  const KeyPair& kp = test_keys();
  CHECK_NOTHROW(kp.pub.check(kp.pub.encrypt(int64_t(1))));
  CHECK_THROWS_AS(kp.pub.check(Ciphertext{BigInt(0L)}), Error);
  CHECK_THROWS_AS(kp.pub.check(Ciphertext{kp.pub.n_squared()}), Error);
  CHECK_THROWS_AS(kp.pub.check(Ciphertext{kp.pub.n()}), Error);  // not a unit
}

TEST_CASE("paillier: batches and the gradient kernel") {
  KeyPair kp = test_keys();
  ThreadPool pool(2);
  std::mt19937_64 rng(3);
  std::vector<int64_t> v = {0, 1, -1, INT64_MAX, INT64_MIN, 12345, -67890};
  for (int i = 0; i < 20; ++i) v.push_back(static_cast<int64_t>(rng()));
  std::vector<Ciphertext> cs = encrypt_batch(kp.pub, v, pool);
  std::vector<BigInt> back = decrypt_batch(kp.priv, cs, pool);
  for (size_t i = 0; i < v.size(); ++i) CHECK(back[i].to_i64() == v[i]);
  std::vector<Ciphertext> cs2 = encrypt_batch(kp.priv, v, pool);
  back = decrypt_batch(kp.priv, cs2, pool);
  for (size_t i = 0; i < v.size(); ++i) CHECK(back[i].to_i64() == v[i]);
  rerandomize_batch(kp.pub, cs2, pool);
  back = decrypt_batch(kp.priv, cs2, pool);
  for (size_t i = 0; i < v.size(); ++i) CHECK(back[i].to_i64() == v[i]);

  // Kernel vs naive vs plaintext, over several shapes and magnitudes.
  for (auto [rows, cols, bits] : {std::tuple{1, 1, 3}, {5, 2, 23}, {17, 4, 40}, {9, 3, 63}, {33, 5, 1}}) {
    CAPTURE(rows);
    CAPTURE(bits);
    std::vector<int64_t> d(rows), x(rows * cols);
    for (auto& e : d) e = static_cast<int64_t>(rng() % 2000001) - 1000000;
    for (auto& e : x) {
      uint64_t m = bits >= 63 ? uint64_t(INT64_MAX) : (uint64_t(1) << bits) - 1;
      e = static_cast<int64_t>(rng() & m) * ((rng() & 1) ? -1 : 1);
    }
    if (bits == 63) x[0] = INT64_MIN;
    std::vector<Ciphertext> ed = encrypt_batch(kp.pub, d, pool);
    auto fast = weighted_sums(kp.pub, ed, x, cols, pool);
    auto naive = weighted_sums_naive(kp.pub, ed, x, cols, pool);
    for (int j = 0; j < cols; ++j) {
      CHECK(fast[j] == naive[j]);
      BigInt want, t;
      for (int i = 0; i < rows; ++i) {
        mpz_mul(t.get(), BigInt::from_i64(d[i]).get(), BigInt::from_i64(x[i * cols + j]).get());
        mpz_add(want.get(), want.get(), t.get());
      }
      CHECK(kp.priv.decrypt_signed(fast[j]) == want);
    }
  }
  std::vector<int64_t> zeros(6, 0);
  auto z = weighted_sums(kp.pub, std::span<const Ciphertext>(cs.data(), 3), zeros, 2, pool);
  CHECK(kp.priv.decrypt_signed(z[0]).to_i64() == 0);
  CHECK_THROWS_AS(weighted_sums(kp.pub, cs, zeros, 2, pool), Error);  // wrong shape
}
