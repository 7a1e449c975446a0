// Known-answer tests against tests/he/paillier_kat.json, computed by tests/he/gen_kat.py with
// Python integers only (textbook formulas, non-CRT decryption, FATE 1.x fixed point).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "fatectl/core/thread_pool.h"
#include "fatectl/core/yaml.h"
#include "fatectl/he/encoding.h"
#include "fatectl/he/paillier.h"
#include "he/detail.h"
#include "he/montgomery.h"

using namespace fatectl;
using namespace fatectl::he;

namespace {

std::string kat_path() {
  const char* src = std::getenv("FATECTL_SOURCE_DIR");
  if (src && *src) return std::string(src) + "/tests/he/paillier_kat.json";
  // Run by hand: __FILE__ is .../src/he/kat_test.cc (absolute, or relative to the build dir).
  std::string here = __FILE__;
  return here.substr(0, here.rfind("src/he/")) + "tests/he/paillier_kat.json";
}

const YAML::Node& kat() {
  static YAML::Node n = yaml::load_file(kat_path());
  return n;
}

BigInt H(const YAML::Node& n) { return BigInt::from_hex(n.as<std::string>()); }

PrivateKey key_from(const YAML::Node& k) {
  std::string text = "kind: PaillierPrivateKey\nversion: 1\nbits: " + k["bits"].as<std::string>() + "\nn: \"" +
                     k["n"].as<std::string>() + "\"\nh_s: \"" + k["h_s"].as<std::string>() + "\"\np: \"" +
                     k["p"].as<std::string>() + "\"\nq: \"" + k["q"].as<std::string>() + "\"\n";
  return PrivateKey::parse(text, "kat");
}

}  // namespace

TEST_CASE("kat: key constants") {
  for (const auto& k : kat()["keys"]) {
    PrivateKey sk = key_from(k);
    CHECK(sk.public_key().n() == H(k["n"]));
    CHECK(sk.public_key().max_int() == H(k["max_int"]));
    CHECK(sk.public_key().bits() == k["bits"].as<unsigned>());
  }
}

TEST_CASE("kat: textbook encryption with given r, and decryption") {
  for (const auto& k : kat()["keys"]) {
    PrivateKey sk = key_from(k);
    const PublicKey& pk = sk.public_key();
    for (const auto& t : k["textbook"]) {
      BigInt m = H(t["m"]), r = H(t["r"]), want = H(t["c"]);
      // (1 + m·n) · r^n: r^n by the public path (mpz) and by the key holder's CRT path.
      BigInt rn;
      mpz_powm(rn.get(), r.get(), pk.n().get(), pk.n_squared().get());
      CHECK(pk.add(pk.encrypt_raw(m), Ciphertext{rn}).c == want);
      BigInt rp, rq, crt;
      mpz_mod(rp.get(), r.get(), sk.data().p.get());
      mpz_mod(rq.get(), r.get(), sk.data().q.get());
      detail::crt_mask(crt.get(), sk.data(), rp.get(), rq.get(), true);
      CHECK(crt == rn);
      CHECK(sk.decrypt(Ciphertext{want}) == m);
    }
  }
}

TEST_CASE("kat: DJN fixed-base table reproduces h_s^a") {
  for (const auto& k : kat()["keys"]) {
    PrivateKey sk = key_from(k);
    const PublicKey& pk = sk.public_key();
    for (const auto& t : k["djn"]) {
      BigInt m = H(t["m"]), a = BigInt::from_hex(t["a"].as<std::string>()), want = H(t["c"]);
      unsigned abits = t["a_bits"].as<unsigned>();
      BigInt mask;
      pk.data().table(std::max(abits, 1u))->pow(mask.get(), a.get());
      CHECK(pk.add(pk.encrypt_raw(m), Ciphertext{mask}).c == want);
      // A deliberately small window and table exercise other digit layouts.
      FixedBaseTable small(pk.h_s().get(), pk.n_squared().get(), std::max(abits, 8u), 3);
      BigInt mask2;
      small.pow(mask2.get(), a.get());
      CHECK(mask2 == mask);
      // The key holder's CRT tables give the same h_s^a.
      auto tabs = sk.data().tables(pk.h_s(), std::max(abits, 1u));
      BigInt xp, xq, crt, tt;
      tabs.p->pow(xp.get(), a.get());
      tabs.q->pow(xq.get(), a.get());
      mpz_sub(tt.get(), xp.get(), xq.get());
      mpz_mul(tt.get(), tt.get(), sk.data().q2_inv_p2.get());
      mpz_mod(tt.get(), tt.get(), sk.data().p2.get());
      mpz_mul(tt.get(), tt.get(), sk.data().q2.get());
      mpz_add(crt.get(), xq.get(), tt.get());
      CHECK(crt == mask);
      CHECK(sk.decrypt(Ciphertext{want}) == m);
    }
  }
}

TEST_CASE("kat: homomorphic operations") {
  for (const auto& k : kat()["keys"]) {
    PrivateKey sk = key_from(k);
    const PublicKey& pk = sk.public_key();
    for (const auto& t : k["ops"]) {
      Ciphertext c1{H(t["c1"])}, c2{H(t["c2"])};
      int64_t s = std::stoll(t["k"].as<std::string>());
      CHECK(pk.add(c1, c2).c == H(t["add"]));
      CHECK(pk.mul_scalar(c1, s).c == H(t["mul"]));
      CHECK(pk.add_plain(c1, H(t["plain"])).c == H(t["add_plain"]));
      CHECK(sk.decrypt(c1) == H(t["m1"]));
      CHECK(sk.decrypt(c2) == H(t["m2"]));
    }
  }
}

TEST_CASE("kat: gradient kernel") {
  ThreadPool pool(2);
  for (const auto& k : kat()["keys"]) {
    PrivateKey sk = key_from(k);
    const PublicKey& pk = sk.public_key();
    const YAML::Node& g = k["kernel"];
    size_t cols = g["cols"].as<size_t>();
    std::vector<Ciphertext> cs;
    for (const auto& c : g["c"]) cs.push_back(Ciphertext{H(c)});
    std::vector<int64_t> x;
    for (const auto& v : g["x"]) x.push_back(std::stoll(v.as<std::string>()));
    std::vector<Ciphertext> fast = weighted_sums(pk, cs, x, cols, pool);
    std::vector<Ciphertext> naive = weighted_sums_naive(pk, cs, x, cols, pool);
    REQUIRE(fast.size() == cols);
    for (size_t j = 0; j < cols; ++j) {
      CHECK(fast[j].c == H(g["out"][j]));
      CHECK(naive[j].c == H(g["out"][j]));
    }
  }
}

TEST_CASE("kat: FATE 1.x fixed-point encoding") {
  for (const auto& k : kat()["keys"]) {
    PrivateKey sk = key_from(k);
    FixedPointCodec codec(sk.public_key());
    for (const auto& t : k["fixed_point"]) {
      double x = std::strtod(t["x"].as<std::string>().c_str(), nullptr);
      std::optional<double> prec;
      std::optional<int> maxe;
      if (t["precision"] && !t["precision"].IsNull()) prec = t["precision"].as<double>();
      if (t["max_exponent"] && !t["max_exponent"].IsNull()) maxe = t["max_exponent"].as<int>();
      CAPTURE(t["x"].as<std::string>());
      FixedPoint f = codec.encode(x, prec, maxe);
      CHECK(f.exponent == t["exponent"].as<int>());
      CHECK(f.encoding == H(t["encoding"]));
      double want = std::strtod(t["decoded"].as<std::string>().c_str(), nullptr);
      CHECK(codec.decode(f) == want);
      // Through encryption too.
      FixedPointCipher cipher(sk.public_key());
      EncryptedNumber e = cipher.encrypt(x, prec);
      if (!maxe) CHECK(cipher.decrypt(sk, e) == want);
    }
  }
}
