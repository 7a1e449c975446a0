// Ciphertext vectors and key files under random damage: every input gives a value or a
// fatectl::Error, never a crash (run long: FATECTL_FUZZ_ITERATIONS=200000, ideally in a
// -DFATECTL_SANITIZE=ON build).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "fatectl/core/error.h"
#include "fatectl/he/paillier.h"
#include "he/test_keys.h"

using namespace fatectl;
using namespace fatectl::he;

namespace {
const KeyPair& keys() { return testing::test_keys(512); }
size_t iterations(size_t dflt) {
  const char* e = std::getenv("FATECTL_FUZZ_ITERATIONS");
  return e ? std::strtoull(e, nullptr, 10) : dflt;
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    switch (rng() % 6) {
      case 0:  // flip a byte
        if (!s.empty()) s[rng() % s.size()] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 1:  // truncate
        s.resize(s.empty() ? 0 : rng() % s.size());
        break;
      case 2:  // insert random bytes
        s.insert(s.empty() ? 0 : rng() % s.size(), std::string(1 + rng() % 8, static_cast<char>(rng())));
        break;
      case 3:  // duplicate a slice
        if (!s.empty()) {
          size_t a = rng() % s.size(), n = rng() % (s.size() - a + 1);
          s.insert(rng() % (s.size() + 1), s.substr(a, n));
        }
        break;
      case 4:  // delete a slice
        if (!s.empty()) {
          size_t a = rng() % s.size();
          s.erase(a, rng() % (s.size() - a + 1));
        }
        break;
      default:  // replace with random garbage
        if (rng() % 8 == 0) {
          s.assign(rng() % 200, '\0');
          for (auto& ch : s) ch = static_cast<char>(rng());
        }
    }
  }
  return s;
}
}  // namespace

TEST_CASE("ciphertext vectors: round trip and exact checks") {
  const KeyPair& kp = keys();
  std::vector<Ciphertext> cs;
  for (int64_t v : {0L, 1L, -1L, 1234567L}) cs.push_back(kp.pub.encrypt(v));
  cs.push_back(Ciphertext{BigInt(1L)});  // smallest valid element
  std::string b = serialize_ciphertexts(kp.pub, cs);
  CHECK(b.size() == 28 + cs.size() * 128);
  CHECK(b.substr(0, 4) == "FCPV");
  auto back = parse_ciphertexts(kp.pub, b);
  REQUIRE(back.size() == cs.size());
  for (size_t i = 0; i < cs.size(); ++i) CHECK(back[i] == cs[i]);
  CHECK(parse_ciphertexts(kp.pub, serialize_ciphertexts(kp.pub, {})).empty());
  CHECK_THROWS_WITH_AS(parse_ciphertexts(kp.pub, b.substr(0, b.size() - 1)), doctest::Contains("length"), Error);
  CHECK_THROWS_WITH_AS(parse_ciphertexts(kp.pub, "XXXX" + b.substr(4)), doctest::Contains("magic"), Error);
  KeyOptions o;
  o.bits = 512;
  o.allow_insecure = true;
  KeyPair other = KeyPair::generate(o);
  CHECK_THROWS_WITH_AS(parse_ciphertexts(other.pub, b), doctest::Contains("another key"), Error);
  std::string zero = b;
  for (size_t i = 28; i < 28 + 128; ++i) zero[i] = 0;
  CHECK_THROWS_WITH_AS(parse_ciphertexts(kp.pub, zero), doctest::Contains("out of range"), Error);
  std::string huge = b;
  for (size_t i = 28; i < 28 + 128; ++i) huge[i] = '\xff';
  CHECK_THROWS_AS(parse_ciphertexts(kp.pub, huge), Error);
  // A count that would overflow count·width.
  std::string lie = b;
  for (int i = 20; i < 28; ++i) lie[i] = '\xff';
  CHECK_THROWS_AS(parse_ciphertexts(kp.pub, lie), Error);
  CHECK_THROWS_AS(serialize_ciphertexts(kp.pub, std::vector<Ciphertext>{Ciphertext{kp.pub.n_squared()}}), Error);
}

TEST_CASE("fuzz: ciphertext vector parser") {
  const KeyPair& kp = keys();
  std::vector<Ciphertext> cs;
  for (int64_t v = -3; v <= 3; ++v) cs.push_back(kp.pub.encrypt(v));
  const std::string good = serialize_ciphertexts(kp.pub, cs);
  std::mt19937_64 rng(1234);
  size_t ok = 0, rejected = 0;
  for (size_t it = 0, n = iterations(3000); it < n; ++it) {
    std::string s = mutate(good, rng);
    try {
      auto v = parse_ciphertexts(kp.pub, s);
      for (auto& c : v) CHECK((mpz_sgn(c.c.get()) > 0 && c.c < kp.pub.n_squared()));
      ++ok;
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
  MESSAGE("ciphertext fuzz: " << ok << " parsed, " << rejected << " rejected");
}

TEST_CASE("fuzz: key parsers") {
  const KeyPair& kp = keys();
  const std::string priv = kp.priv.serialize(), pub = kp.pub.serialize();
  std::mt19937_64 rng(99);
  size_t rejected = 0;
  for (size_t it = 0, n = iterations(3000) / 3; it < n; ++it) {
    std::string s = mutate(it % 2 ? priv : pub, rng);
    try {
      if (it % 2) {
        PrivateKey sk = PrivateKey::parse(s, "fuzz");
        CHECK(sk.decrypt_signed(sk.public_key().encrypt(int64_t(7))).to_i64() == 7);
      } else {
        PublicKey pk = PublicKey::parse(s, "fuzz");
        (void)pk.encrypt(int64_t(7));
      }
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}
