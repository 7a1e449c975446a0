// The exponentiation engines against mpz_powm: Montgomery (mpn), the radix-2^52 IFMA products
// (one and two at a time) and the fixed-base tables in both layouts, on random and edge inputs.
#include <doctest/doctest.h>

#include <time.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fatectl/he/paillier.h"
#include "he/detail.h"
#include "he/ifma.h"
#include "he/montgomery.h"

using namespace fatectl::he;

namespace {

/// A deterministic GMP random state per test case.
struct Rng {
  gmp_randstate_t s;
  explicit Rng(unsigned long seed) {
    gmp_randinit_default(s);
    gmp_randseed_ui(s, seed);
  }
  ~Rng() { gmp_randclear(s); }
  BigInt bits(unsigned n) {
    BigInt r;
    mpz_urandomb(r.get(), s, n);
    return r;
  }
  BigInt below(const BigInt& n) {
    BigInt r;
    mpz_urandomm(r.get(), s, n.get());
    return r;
  }
  /// An odd modulus of exactly `n` bits.
  BigInt odd(unsigned n) {
    BigInt r = bits(n);
    mpz_setbit(r.get(), n - 1);
    mpz_setbit(r.get(), 0);
    return r;
  }
};

BigInt powm(const BigInt& b, const BigInt& e, const BigInt& m) {
  BigInt r;
  mpz_powm(r.get(), b.get(), e.get(), m.get());
  return r;
}

/// Bases worth trying for modulus m: 0, 1, 2, m-1, m, m+1, a value wider than m, random ones.
std::vector<BigInt> bases(Rng& rng, const BigInt& m) {
  std::vector<BigInt> v = {BigInt(0L), BigInt(1), BigInt(2)};
  BigInt t;
  mpz_sub_ui(t.get(), m.get(), 1);
  v.push_back(t);
  v.push_back(m);
  mpz_add_ui(t.get(), m.get(), 1);
  v.push_back(t);
  mpz_mul(t.get(), m.get(), m.get());
  mpz_add_ui(t.get(), t.get(), 12345);
  v.push_back(t);
  for (int i = 0; i < 4; ++i) v.push_back(rng.below(m));
  return v;
}

/// Exponents: 0, 1, 2, all ones, a long run of zeros, random ones of several sizes.
std::vector<BigInt> exponents(Rng& rng, unsigned bits) {
  std::vector<BigInt> v = {BigInt(0L), BigInt(1), BigInt(2)};
  BigInt t;
  mpz_setbit(t.get(), bits);
  mpz_sub_ui(t.get(), t.get(), 1);
  v.push_back(t);  // 2^bits - 1
  BigInt z;
  mpz_setbit(z.get(), bits - 1);
  mpz_add_ui(z.get(), z.get(), 1);
  v.push_back(z);  // 2^(bits-1) + 1
  for (unsigned b : {7u, 64u, bits / 2, bits}) v.push_back(rng.bits(b));
  return v;
}

}  // namespace

TEST_CASE("montgomery: pow matches mpz_powm on edge and random inputs") {
  Rng rng(11);
  for (unsigned bits : {64u, 192u, 1024u, 2048u, 4096u}) {
    BigInt m = rng.odd(bits);
    Montgomery mont(m.get());
    for (const BigInt& b : bases(rng, m)) {
      for (const BigInt& e : exponents(rng, 96)) {
        BigInt got;
        mont.pow(got.get(), b.get(), e.get());
        CHECK_MESSAGE(got == powm(b, e, m), "bits ", bits, " base ", b.hex(), " exp ", e.hex());
      }
    }
  }
}

TEST_CASE("ifma52: powm and powm2 match mpz_powm") {
  if (!Ifma52::available()) {
    MESSAGE("no AVX-512 IFMA on this CPU (or FATECTL_HE_NO_IFMA set): radix-2^52 engine not tested");
    return;
  }
  CHECK(std::string(arithmetic_engine()) == "avx512-ifma");
  Rng rng(12);
  // Moduli around the digit and vector boundaries (52·8 = 416 bits per vector), the CRT halves
  // of 1024- and 2048-bit keys and n² of a 2048-bit key (the largest that fits).
  for (unsigned bits : {3u, 52u, 53u, 414u, 415u, 416u, 417u, 1024u, 2046u, 2048u, 3000u, 4096u, 4158u}) {
    REQUIRE(Ifma52::fits(bits));
    BigInt m = rng.odd(bits);
    Ifma52 ctx(m.get());
    for (const BigInt& b : bases(rng, m)) {
      for (const BigInt& e : exponents(rng, bits <= 64 ? 80 : bits / 2)) {
        BigInt got;
        ctx.powm(got.get(), b.get(), e.get());
        CHECK_MESSAGE(got == powm(b, e, m), "bits ", bits, " base ", b.hex(), " exp ", e.hex());
      }
    }
  }
  CHECK_FALSE(Ifma52::fits(4159));
  // Two at a time: different moduli of the same width, exponents of different lengths (one of
  // them zero), and moduli of different widths (run one after the other).
  for (unsigned bits : {256u, 1024u, 2048u}) {
    BigInt m1 = rng.odd(bits), m2 = rng.odd(bits), m3 = rng.odd(bits / 2 + 100);
    Ifma52 c1(m1.get()), c2(m2.get()), c3(m3.get());
    std::vector<BigInt> es = exponents(rng, bits / 2);
    for (size_t i = 0; i < es.size(); ++i) {
      const BigInt& e1 = es[i];
      const BigInt& e2 = es[(i * 7 + 3) % es.size()];
      BigInt b1 = rng.below(m1), b2 = rng.below(m2), b3 = rng.below(m3), r1, r2;
      Ifma52::powm2(r1.get(), b1.get(), e1.get(), c1, r2.get(), b2.get(), e2.get(), c2);
      CHECK(r1 == powm(b1, e1, m1));
      CHECK(r2 == powm(b2, e2, m2));
      Ifma52::powm2(r1.get(), b1.get(), e1.get(), c1, r2.get(), b3.get(), e2.get(), c3);
      CHECK(r1 == powm(b1, e1, m1));
      CHECK(r2 == powm(b3, e2, m3));
    }
  }
  // The CRT halves of a decryption: c^(p-1) mod p² with p² of 2048 bits.
  BigInt p = rng.odd(1024), q = rng.odd(1024);
  mpz_nextprime(p.get(), p.get());
  mpz_nextprime(q.get(), q.get());
  BigInt p2, q2, pm1, qm1;
  mpz_mul(p2.get(), p.get(), p.get());
  mpz_mul(q2.get(), q.get(), q.get());
  mpz_sub_ui(pm1.get(), p.get(), 1);
  mpz_sub_ui(qm1.get(), q.get(), 1);
  Ifma52 cp(p2.get()), cq(q2.get());
  for (int i = 0; i < 8; ++i) {
    BigInt c = rng.bits(4096), cpm, cqm, xp, xq;
    mpz_mod(cpm.get(), c.get(), p2.get());
    mpz_mod(cqm.get(), c.get(), q2.get());
    Ifma52::powm2(xp.get(), cpm.get(), pm1.get(), cp, xq.get(), cqm.get(), qm1.get(), cq);
    CHECK(xp == powm(cpm, pm1, p2));
    CHECK(xq == powm(cqm, qm1, q2));
  }
}

TEST_CASE("fixed-base tables: radix 2^52 and 64-bit limbs agree with mpz_powm") {
  Rng rng(13);
  for (unsigned bits : {256u, 1024u, 2048u, 4096u}) {
    BigInt m = rng.odd(bits), g = rng.below(m);
    const unsigned max_bits = bits / 4;
    FixedBaseTable limbs(g.get(), m.get(), max_bits, 4, size_t(40) << 20, false);
    CHECK_FALSE(limbs.uses_ifma());
    FixedBaseTable vec(g.get(), m.get(), max_bits, 5);
    CHECK(vec.uses_ifma() == (Ifma52::available() && Ifma52::fits(bits)));
    CHECK(vec.window() == 5);
    BigInt all;
    mpz_setbit(all.get(), max_bits);
    mpz_sub_ui(all.get(), all.get(), 1);
    std::vector<BigInt> es = {BigInt(0L), BigInt(1), BigInt(31), BigInt(32), all, rng.bits(max_bits), rng.bits(max_bits / 2)};
    for (const BigInt& e : es) {
      BigInt want = powm(g, e, m), a, b;
      limbs.pow(a.get(), e.get());
      vec.pow(b.get(), e.get());
      CHECK_MESSAGE(a == want, "limbs, bits ", bits, " exp ", e.hex());
      CHECK_MESSAGE(b == want, "vector, bits ", bits, " exp ", e.hex());
      // Montgomery form from either layout.
      std::vector<mp_limb_t> r(limbs.mont().limbs()), s(limbs.mont().scratch_limbs());
      vec.pow_mont(r.data(), e.get(), s.data());
      BigInt back;
      limbs.mont().from_mont(back.get(), r.data(), s.data());
      CHECK(back == want);
    }
    // Same exponent against two tables (the key holder's CRT halves), including mixed layouts.
    BigInt m2 = rng.odd(bits), g2 = rng.below(m2);
    FixedBaseTable other(g2.get(), m2.get(), max_bits, 5);
    for (const BigInt& e : es) {
      BigInt x1, x2;
      FixedBaseTable::pow2(x1.get(), vec, x2.get(), other, e.get());
      CHECK(x1 == powm(g, e, m));
      CHECK(x2 == powm(g2, e, m2));
      FixedBaseTable::pow2(x1.get(), limbs, x2.get(), other, e.get());
      CHECK(x1 == powm(g, e, m));
      CHECK(x2 == powm(g2, e, m2));
    }
    BigInt too_big;
    mpz_setbit(too_big.get(), max_bits);
    BigInt out;
    CHECK_THROWS(vec.pow(out.get(), too_big.get()));
  }
}

TEST_CASE("paillier: decryption and key-holder encryption agree with the textbook formulas") {
  // L(c^λ mod n²)·μ mod n without CRT, as an independent reference for the CRT/IFMA path.
  KeyOptions o;
  o.bits = 1024;
  o.allow_insecure = true;
  KeyPair kp = KeyPair::generate(o);
  const BigInt &n = kp.pub.n(), &n2 = kp.pub.n_squared();
  BigInt lambda, pm1, qm1, mu, one;
  mpz_sub_ui(pm1.get(), kp.priv.data().p.get(), 1);
  mpz_sub_ui(qm1.get(), kp.priv.data().q.get(), 1);
  mpz_lcm(lambda.get(), pm1.get(), qm1.get());
  mpz_invert(mu.get(), lambda.get(), n.get());
  Rng rng(14);
  for (Obfuscation mode : {Obfuscation::FixedBase, Obfuscation::Textbook}) {
    kp.priv.public_key().set_obfuscation(mode);
    kp.pub.set_obfuscation(mode);
    for (int i = 0; i < 6; ++i) {
      BigInt m = i == 0 ? BigInt(0L) : i == 1 ? BigInt(1) : rng.below(n);
      if (i == 2) mpz_sub_ui(m.get(), n.get(), 1);
      for (const Ciphertext& c : {kp.pub.encrypt(m), kp.priv.encrypt(m)}) {
        BigInt u, want;
        mpz_powm(u.get(), c.c.get(), lambda.get(), n2.get());
        mpz_sub_ui(u.get(), u.get(), 1);
        mpz_divexact(u.get(), u.get(), n.get());
        mpz_mul(want.get(), u.get(), mu.get());
        mpz_mod(want.get(), want.get(), n.get());
        CHECK(want == m);
        CHECK(kp.priv.decrypt(c) == m);
      }
    }
  }
}

TEST_CASE("exponentiation engines: timing against mpz_powm (informational, never fails)") {
  // The CRT halves of a 2048-bit decryption: c^(p-1) mod p², p² of 2048 bits. Medians of five
  // batches, thread CPU time; printed so a change in either engine shows up in the test log.
  Rng rng(15);
  BigInt p = rng.odd(1024), q = rng.odd(1024);
  mpz_setbit(p.get(), 1022);
  mpz_setbit(q.get(), 1022);
  mpz_nextprime(p.get(), p.get());
  mpz_nextprime(q.get(), q.get());
  BigInt p2, q2, pm1, qm1;
  mpz_mul(p2.get(), p.get(), p.get());
  mpz_mul(q2.get(), q.get(), q.get());
  mpz_sub_ui(pm1.get(), p.get(), 1);
  mpz_sub_ui(qm1.get(), q.get(), 1);
  BigInt cp = rng.below(p2), cq = rng.below(q2), xp, xq;
  auto cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
  };
  auto median_us = [&](const auto& pair) {
    std::vector<double> v;
    for (int run = 0; run < 5; ++run) {
      double t0 = cpu();
      for (int i = 0; i < 6; ++i) pair();
      v.push_back((cpu() - t0) / 6 * 1e6);
    }
    std::sort(v.begin(), v.end());
    return v[2];
  };
  double gmp = median_us([&] {
    mpz_powm(xp.get(), cp.get(), pm1.get(), p2.get());
    mpz_powm(xq.get(), cq.get(), qm1.get(), q2.get());
  });
  Montgomery mp(p2.get()), mq(q2.get());
  double mpn = median_us([&] {
    mp.pow(xp.get(), cp.get(), pm1.get());
    mq.pow(xq.get(), cq.get(), qm1.get());
  });
  std::string line = "both CRT halves of a 2048-bit decryption: mpz_powm " + std::to_string(int(gmp)) +
                     " us, mpn Montgomery " + std::to_string(int(mpn)) + " us";
  if (Ifma52::available()) {
    Ifma52 ip(p2.get()), iq(q2.get());
    double one = median_us([&] {
      ip.powm(xp.get(), cp.get(), pm1.get());
      iq.powm(xq.get(), cq.get(), qm1.get());
    });
    double two = median_us([&] { Ifma52::powm2(xp.get(), cp.get(), pm1.get(), ip, xq.get(), cq.get(), qm1.get(), iq); });
    line += ", IFMA one at a time " + std::to_string(int(one)) + " us, IFMA interleaved " + std::to_string(int(two)) +
            " us (" + std::to_string(gmp / two).substr(0, 4) + "x mpz_powm)";
  }
  MESSAGE(line);
  CHECK(xp == powm(cp, pm1, p2));
}
