// Key files: round trips, 0600 on write, refusal of group/world-readable private keys, errors
// that name file, line and key.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fatectl/core/error.h"
#include "fatectl/he/paillier.h"
#include "he/test_keys.h"
#include "he/detail.h"

using namespace fatectl;
using namespace fatectl::he;

namespace {
const KeyPair& keys() { return testing::test_keys(512); }

struct TempDir {
  std::filesystem::path p;
  TempDir() {
    char tmpl[] = "/tmp/fatectl-he-test-XXXXXX";
    p = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(p); }
  std::string operator/(const char* f) const { return (p / f).string(); }
};

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto i = s.find(from);
  REQUIRE(i != std::string::npos);
  return s.replace(i, from.size(), to);
}
}  // namespace

TEST_CASE("keys: serialize and parse round trip") {
  const KeyPair& kp = keys();
  PublicKey pk = PublicKey::parse(kp.pub.serialize(), "pub");
  CHECK(pk == kp.pub);
  CHECK(pk.fingerprint() == kp.pub.fingerprint());
  PrivateKey sk = PrivateKey::parse(kp.priv.serialize(), "key");
  Ciphertext c = kp.pub.encrypt(int64_t(-77));
  CHECK(sk.decrypt_signed(c).to_i64() == -77);
  CHECK(kp.priv.decrypt_signed(pk.encrypt(int64_t(99))).to_i64() == 99);
  CHECK(kp.pub.serialize().find("p:") == std::string::npos);
}

TEST_CASE("keys: private key files are 0600 and refused when others can read them") {
  TempDir dir;
  std::string path = dir / "arbiter.key";
  keys().priv.save(path);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(PrivateKey::load(path).public_key() == keys().pub);
  CHECK_THROWS_WITH_AS(keys().priv.save(path), doctest::Contains("already exists"), Error);
  CHECK_NOTHROW(keys().priv.save(path, true));
  ::chmod(path.c_str(), 0640);
  CHECK_THROWS_WITH_AS(PrivateKey::load(path), doctest::Contains("chmod 600"), Error);
  ::chmod(path.c_str(), 0604);
  CHECK_THROWS_AS(PrivateKey::load(path), Error);
  ::chmod(path.c_str(), 0400);
  CHECK_NOTHROW(PrivateKey::load(path));
  std::string pub = dir / "arbiter.key.pub";
  keys().pub.save(pub);
  CHECK(PublicKey::load(pub) == keys().pub);
  CHECK_THROWS_AS(PrivateKey::load(dir / "missing.key"), Error);
}

TEST_CASE("keys: bad key files name the file, line and key") {
  const KeyPair& kp = keys();
  std::string priv = kp.priv.serialize();
  auto err = [](const std::string& text) -> std::string {
    try {
      PrivateKey::parse(text, "k.yaml");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Invalid);
      return e.what();
    }
    FAIL("parse accepted a bad key");
    return "";
  };
  std::string p = kp.priv.data().p.hex();
  std::string q = kp.priv.data().q.hex();
  CHECK(err(replace(priv, "p: \"" + p, "p: \"" + q)).find("k.yaml:") == 0);
  CHECK(err(replace(priv, "version: 1", "version: 2")).find("version") != std::string::npos);
  CHECK(err(replace(priv, "kind: PaillierPrivateKey", "kind: PaillierPublicKey")).find("kind") != std::string::npos);
  CHECK(err(replace(priv, "p: \"", "p: \"zz")).find("k.yaml:8") == 0);
  CHECK(err(replace(priv, "bits: 512", "bits: 513")).find("n:") != std::string::npos);
  CHECK(err(priv + "extra: 1\n").find("unknown key") != std::string::npos);
  CHECK(err("").size() > 0);
  CHECK(err("[1, 2]").size() > 0);
  // An altered fingerprint or h_s is caught.
  std::string fp = kp.pub.fingerprint();
  CHECK(err(replace(priv, fp, std::string(16, '0'))).find("fingerprint") != std::string::npos);
  CHECK(err(replace(priv, "h_s: \"", "h_s: \"1")).find("h_s") != std::string::npos);
  CHECK_THROWS_AS(PublicKey::parse(replace(kp.pub.serialize(), "n: \"", "n: \"-"), "pub"), Error);
}

TEST_CASE("keys: a private key with a small or composite factor is refused, even with a valid h_s") {
  // n = p·q with a proper DJN base h_s = (n - x²)^n mod n², so only the factor checks can refuse it.
  auto key_text = [](const BigInt& p, const BigInt& q) {
    BigInt n, n2, hs, x;
    mpz_mul(n.get(), p.get(), q.get());
    mpz_mul(n2.get(), n.get(), n.get());
    mpz_set_ui(x.get(), 4);
    mpz_sub(x.get(), n.get(), x.get());
    mpz_powm(hs.get(), x.get(), n.get(), n2.get());
    return "kind: PaillierPrivateKey\nversion: 1\nbits: " + std::to_string(n.bits()) + "\nn: \"" + n.hex() +
           "\"\nh_s: \"" + hs.hex() + "\"\np: \"" + p.hex() + "\"\nq: \"" + q.hex() + "\"\n";
  };
  const BigInt& q = keys().priv.data().q;  // a 256-bit prime
  BigInt three = BigInt::from_u64(3);
  CHECK_THROWS_WITH_AS(PrivateKey::parse(key_text(three, q), "k.yaml"),
                       doctest::Contains("k.yaml:6:4: p: is a 2-bit factor; the primes of a"), Error);
  BigInt c;
  mpz_add_ui(c.get(), q.get(), 2);
  while (mpz_probab_prime_p(c.get(), 25) != 0) mpz_add_ui(c.get(), c.get(), 2);
  CHECK_THROWS_WITH_AS(PrivateKey::parse(key_text(c, q), "k.yaml"), "k.yaml:6:4: p: is not a prime", Error);
  CHECK_THROWS_WITH_AS(PrivateKey::parse(key_text(q, c), "k.yaml"), "k.yaml:7:4: q: is not a prime", Error);
}

TEST_CASE("keys: generation policy") {
  KeyOptions o;
  o.bits = 1024;
  CHECK_THROWS_WITH_AS(KeyPair::generate(o), doctest::Contains("insecure"), Error);
  o.bits = 255;
  o.allow_insecure = true;
  CHECK_THROWS_AS(KeyPair::generate(o), Error);
  o.bits = 384;
  KeyPair kp = KeyPair::generate(o);
  CHECK(kp.pub.n().bits() == 384);
  CHECK(kp.priv.data().p < kp.priv.data().q);
  CHECK_THROWS_AS(KeyPair::from_primes(BigInt(15L), BigInt(17L), o), Error);
}
