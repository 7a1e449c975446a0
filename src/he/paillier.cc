// Paillier: key generation, encryption (textbook, DJN fixed-base, CRT by the key holder),
// CRT decryption and the homomorphic operations.
#include "fatectl/he/paillier.h"

#include <openssl/evp.h>

#include <algorithm>

#include "fatectl/core/error.h"
#include "he/detail.h"
#include "he/ifma.h"
#include "he/montgomery.h"

namespace fatectl::he {

namespace {

/// A scoped temporary mpz (for non-hot paths; hot paths use thread_local ones).
struct Tmp {
  mpz_t v;
  Tmp() { mpz_init(v); }
  ~Tmp() { mpz_clear(v); }
  operator mpz_ptr() { return v; }
};

std::string fingerprint_of(const BigInt& n) {
  std::string bytes = n.to_bytes((n.bits() + 7) / 8);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw failed("OpenSSL SHA-256 failed");
  static const char* hexd = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += hexd[md[i] >> 4];
    out += hexd[md[i] & 15];
  }
  return out;
}

/// out ← c·(1 + m·n) mod n² = c + n·((c mod n)·m mod n) mod n², for m in [0, n).
void mul_raw(mpz_ptr out, const PublicKeyData& d, mpz_srcptr c, mpz_srcptr m) {
  thread_local Tmp t;
  mpz_mod(t, c, d.n.get());
  mpz_mul(t, t, m);
  mpz_mod(t, t, d.n.get());
  mpz_mul(t, t, d.n.get());
  mpz_add(out, c, t);
  if (mpz_cmp(out, d.n2.get()) >= 0) mpz_sub(out, out, d.n2.get());
}

/// r ← signed value of k: k reduced mod n, then mapped to (-n/2, n/2] style by FATE's bands
/// so that a scalar in the negative band becomes a small negative exponent.
void signed_scalar(mpz_ptr r, const PublicKeyData& d, mpz_srcptr k) {
  if (mpz_sgn(k) >= 0 && mpz_cmp(k, d.n.get()) < 0) {
    mpz_set(r, k);
    if (mpz_cmp(r, d.neg_threshold.get()) >= 0) mpz_sub(r, r, d.n.get());
    return;
  }
  if (mpz_sgn(k) < 0 && mpz_cmpabs(k, d.n.get()) < 0) {
    mpz_set(r, k);
    return;
  }
  mpz_mod(r, k, d.n.get());
  if (mpz_cmp(r, d.neg_threshold.get()) >= 0) mpz_sub(r, r, d.n.get());
}

/// Homomorphic operations need c in [0, n²) (a cheap size check; check() does the full one).
inline void check_ct(const PublicKeyData& d, const Ciphertext& c) {
  if (mpz_sgn(c.c.get()) < 0 || mpz_cmp(c.c.get(), d.n2.get()) >= 0)
    throw invalid("ciphertext out of range for this key (it must be below n²)");
}

void check_plain_range(const PublicKeyData& d, mpz_srcptr m) {
  if (mpz_sgn(m) < 0 || mpz_cmp(m, d.n.get()) >= 0)
    throw invalid("plaintext out of range: it must be in [0, n) (use encrypt(int64_t) or to_plaintext for signed values)");
}

}  // namespace

// -------------------------------------------------------------------------------------------
namespace detail {

std::shared_ptr<PublicKeyData> make_public(const BigInt& n, const BigInt& hs) {
  auto d = std::make_shared<PublicKeyData>();
  d->n = n;
  d->bits = static_cast<unsigned>(n.bits());
  mpz_mul(d->n2.get(), n.get(), n.get());
  mpz_fdiv_q_ui(d->max_int.get(), n.get(), 3);
  mpz_sub_ui(d->max_int.get(), d->max_int.get(), 1);
  mpz_sub(d->neg_threshold.get(), n.get(), d->max_int.get());
  d->fingerprint = fingerprint_of(n);
  d->ct_bytes = (d->n2.bits() + 7) / 8;
  d->mont_n2 = std::make_shared<Montgomery>(d->n2.get());
  d->barrett_n2 = std::make_shared<Barrett>(d->n2.get());
  if (Ifma52::available() && Ifma52::fits(d->n2.bits())) d->ifma_n2 = std::make_shared<const Ifma52>(d->n2.get());
  if (hs.sign() == 0) {
    // No DJN base supplied: draw one (h = -x² mod n, h_s = h^n mod n²). Whoever draws it can
    // use it; its security does not depend on who chose x.
    Tmp x;
    random_unit(x, n.get());
    mpz_mul(x, x, x);
    mpz_mod(x, x, n.get());
    mpz_sub(x, n.get(), x);
    mpz_powm(d->hs.get(), x, n.get(), d->n2.get());
  } else {
    d->hs = hs;
  }
  return d;
}

std::shared_ptr<PrivateKeyData> make_private(BigInt p, BigInt q) {
  if (q < p) std::swap(p, q);
  auto d = std::make_shared<PrivateKeyData>();
  d->p = p;
  d->q = q;
  mpz_mul(d->p2.get(), p.get(), p.get());
  mpz_mul(d->q2.get(), q.get(), q.get());
  mpz_sub_ui(d->pm1.get(), p.get(), 1);
  mpz_sub_ui(d->qm1.get(), q.get(), 1);
  Tmp t;
  // hp = L_p(g^(p-1) mod p²)⁻¹ mod p with g = n+1: (1+n)^(p-1) ≡ 1 + (p-1)·n (mod p²), so
  // L_p(…) = (p-1)·q mod p = -q mod p and hp = (-q)⁻¹ mod p; the same for q.
  mpz_neg(t, q.get());
  if (mpz_invert(d->hp.get(), t, p.get()) == 0) throw invalid("private key: q is not invertible mod p");
  mpz_neg(t, p.get());
  if (mpz_invert(d->hq.get(), t, q.get()) == 0) throw invalid("private key: p is not invertible mod q");
  if (mpz_invert(d->q_inv_p.get(), q.get(), p.get()) == 0) throw invalid("private key: q is not invertible mod p");
  if (mpz_invert(d->q2_inv_p2.get(), d->q2.get(), d->p2.get()) == 0)
    throw invalid("private key: q² is not invertible mod p²");
  mpz_mod(d->q_mod_pm1.get(), q.get(), d->pm1.get());
  mpz_mod(d->p_mod_qm1.get(), p.get(), d->qm1.get());
  Tmp g1, g2;
  mpz_gcd(g1, q.get(), d->pm1.get());
  mpz_gcd(g2, p.get(), d->qm1.get());
  d->lift_is_permutation = mpz_cmp_ui(g1.v, 1) == 0 && mpz_cmp_ui(g2.v, 1) == 0;
  if (Ifma52::available() && Ifma52::fits(d->q2.bits())) {
    d->ifma_p2 = std::make_shared<const Ifma52>(d->p2.get());
    d->ifma_q2 = std::make_shared<const Ifma52>(d->q2.get());
  }
  return d;
}

void crt_mask(mpz_ptr out, const PrivateKeyData& k, mpz_srcptr rp, mpz_srcptr rq, bool exact) {
  // r^n mod p² depends only on r mod p and equals ω(r^q mod p), with ω(s) = s^p mod p² a
  // bijection from Z*_p onto the (p-1)-torsion of Z*_{p²}; the same mod q². Two half-size
  // exponentiations instead of one full one, then CRT.
  thread_local Tmp xp, xq, t;
  if (exact) {
    mpz_powm(xp, rp, k.q_mod_pm1.get(), k.p.get());
    mpz_powm(xq, rq, k.p_mod_qm1.get(), k.q.get());
  } else {
    mpz_set(xp, rp);
    mpz_set(xq, rq);
  }
  if (k.ifma_p2) {
    Ifma52::powm2(xp, xp, k.p.get(), *k.ifma_p2, xq, xq, k.q.get(), *k.ifma_q2);
  } else {
    mpz_powm(xp, xp, k.p.get(), k.p2.get());
    mpz_powm(xq, xq, k.q.get(), k.q2.get());
  }
  // x = xq + q²·((xp - xq)·(q²)⁻¹ mod p²)
  mpz_sub(t, xp, xq);
  mpz_mul(t, t, k.q2_inv_p2.get());
  mpz_mod(t, t, k.p2.get());
  mpz_mul(t, t, k.q2.get());
  mpz_add(out, xq, t);
}

void raw_encrypt(mpz_ptr out, const PublicKeyData& d, mpz_srcptr m) {
  mpz_mul(out, m, d.n.get());
  mpz_add_ui(out, out, 1);
  if (mpz_cmp(out, d.n2.get()) >= 0) mpz_mod(out, out, d.n2.get());
}

void random_mask(mpz_ptr out, const PublicKeyData& d, Obfuscation mode, unsigned exponent_bits) {
  switch (mode) {
    case Obfuscation::None:
      mpz_set_ui(out, 1);
      return;
    case Obfuscation::Textbook: {
      thread_local Tmp r;
      random_unit(r, d.n.get());
      if (d.ifma_n2) d.ifma_n2->powm(out, r, d.n.get());
      else mpz_powm(out, r, d.n.get(), d.n2.get());
      return;
    }
    case Obfuscation::FixedBase: {
      thread_local Tmp a;
      random_bits(a, exponent_bits);
      d.table(exponent_bits)->pow(out, a);
      return;
    }
  }
}

}  // namespace detail

std::shared_ptr<const FixedBaseTable> PublicKeyData::table(unsigned exponent_bits) const {
  std::lock_guard<std::mutex> l(table_mu);
  if (!table_ || table_->max_bits() < exponent_bits)
    table_ = std::make_shared<FixedBaseTable>(hs.get(), n2.get(), exponent_bits);
  return table_;
}

PrivateKeyData::CrtTables PrivateKeyData::tables(const BigInt& hs, unsigned exponent_bits) const {
  std::lock_guard<std::mutex> l(table_mu);
  if (!tables_.p || tables_.p->max_bits() < exponent_bits) {
    BigInt hp, hq;
    mpz_mod(hp.get(), hs.get(), p2.get());
    mpz_mod(hq.get(), hs.get(), q2.get());
    unsigned bits = exponent_bits;
    const size_t budget = size_t(16) << 20;  // per prime
    tables_.p = std::make_shared<FixedBaseTable>(hp.get(), p2.get(), bits, 0, budget);
    tables_.q = std::make_shared<FixedBaseTable>(hq.get(), q2.get(), bits, 0, budget);
  }
  return tables_;
}

// -------------------------------------------------------------------------------------------
const char* arithmetic_engine() { return Ifma52::available() ? "avx512-ifma" : "gmp"; }

const char* to_string(Obfuscation o) {
  switch (o) {
    case Obfuscation::Textbook: return "textbook";
    case Obfuscation::FixedBase: return "fixed-base";
    case Obfuscation::None: return "none";
  }
  return "?";
}

Obfuscation parse_obfuscation(std::string_view s) {
  if (s == "textbook") return Obfuscation::Textbook;
  if (s == "fixed-base" || s == "fixed_base" || s == "djn") return Obfuscation::FixedBase;
  if (s == "none") return Obfuscation::None;
  throw invalid("unknown obfuscation '" + std::string(s) + "' (expected textbook, fixed-base or none)");
}

unsigned PublicKey::bits() const { return d_->bits; }
const BigInt& PublicKey::n() const { return d_->n; }
const BigInt& PublicKey::n_squared() const { return d_->n2; }
const BigInt& PublicKey::max_int() const { return d_->max_int; }
const BigInt& PublicKey::h_s() const { return d_->hs; }
std::string PublicKey::fingerprint() const { return d_->fingerprint; }

bool operator==(const PublicKey& a, const PublicKey& b) {
  if (!a.d_ || !b.d_) return a.d_ == b.d_;
  return a.d_->n == b.d_->n && a.d_->hs == b.d_->hs;
}

void PublicKey::set_obfuscation(Obfuscation mode, unsigned exponent_bits) {
  if (!d_) throw invalid("no public key");
  if (exponent_bits == 0) exponent_bits = d_->bits / 2;
  if (mode == Obfuscation::FixedBase) {
    unsigned lo = detail::min_exponent_bits(d_->bits);
    if (exponent_bits < lo || exponent_bits > d_->bits)
      throw invalid("fixed-base exponent of " + std::to_string(exponent_bits) + " bits: it must be between " +
                    std::to_string(lo) + " (2 × the security level of a " + std::to_string(d_->bits) +
                    "-bit key) and " + std::to_string(d_->bits));
  }
  mode_ = mode;
  exp_bits_ = exponent_bits;
}

BigInt PublicKey::random_mask() const {
  BigInt r;
  detail::random_mask(r.get(), *d_, mode_, exp_bits_);
  return r;
}

Ciphertext PublicKey::encrypt_raw(const BigInt& m) const {
  check_plain_range(*d_, m.get());
  Ciphertext c;
  detail::raw_encrypt(c.c.get(), *d_, m.get());
  return c;
}

Ciphertext PublicKey::encrypt(const BigInt& m) const {
  check_plain_range(*d_, m.get());
  Ciphertext c;
  detail::random_mask(c.c.get(), *d_, mode_, exp_bits_);
  mul_raw(c.c.get(), *d_, c.c.get(), m.get());
  return c;
}

Ciphertext PublicKey::encrypt(int64_t v) const { return encrypt(to_plaintext(*this, BigInt::from_i64(v))); }

void PublicKey::rerandomize_inplace(Ciphertext& c) const {
  if (mode_ == Obfuscation::None) return;
  thread_local Tmp mask;
  detail::random_mask(mask, *d_, mode_, exp_bits_);
  d_->barrett_n2->mulmod(c.c.get(), c.c.get(), mask);
}

Ciphertext PublicKey::rerandomize(const Ciphertext& c) const {
  Ciphertext r = c;
  rerandomize_inplace(r);
  return r;
}

void PublicKey::add_inplace(Ciphertext& a, const Ciphertext& b) const {
  check_ct(*d_, a);
  check_ct(*d_, b);
  d_->barrett_n2->mulmod(a.c.get(), a.c.get(), b.c.get());
}

Ciphertext PublicKey::add(const Ciphertext& a, const Ciphertext& b) const {
  check_ct(*d_, a);
  check_ct(*d_, b);
  Ciphertext r;
  d_->barrett_n2->mulmod(r.c.get(), a.c.get(), b.c.get());
  return r;
}

Ciphertext PublicKey::add_plain(const Ciphertext& a, const BigInt& m) const {
  Ciphertext r;
  Tmp mm;
  mpz_mod(mm, m.get(), d_->n.get());
  mul_raw(r.c.get(), *d_, a.c.get(), mm);
  return r;
}

Ciphertext PublicKey::add_plain(const Ciphertext& a, int64_t m) const { return add_plain(a, BigInt::from_i64(m)); }

Ciphertext PublicKey::negate(const Ciphertext& a) const {
  Ciphertext r;
  if (mpz_invert(r.c.get(), a.c.get(), d_->n2.get()) == 0) throw invalid("ciphertext is not invertible mod n²");
  return r;
}

Ciphertext PublicKey::sub(const Ciphertext& a, const Ciphertext& b) const { return add(a, negate(b)); }

Ciphertext PublicKey::mul_scalar(const Ciphertext& a, const BigInt& k) const {
  Ciphertext r;
  Tmp s;
  signed_scalar(s, *d_, k.get());
  check_ct(*d_, a);
  if (mpz_sgn(s.v) < 0) {
    if (mpz_invert(r.c.get(), a.c.get(), d_->n2.get()) == 0) throw invalid("ciphertext is not invertible mod n²");
    mpz_neg(s, s);
    d_->mont_n2->pow(r.c.get(), r.c.get(), s);
  } else {
    d_->mont_n2->pow(r.c.get(), a.c.get(), s);
  }
  return r;
}

Ciphertext PublicKey::mul_scalar(const Ciphertext& a, int64_t k) const { return mul_scalar(a, BigInt::from_i64(k)); }

Ciphertext PublicKey::sum(std::span<const Ciphertext> cs) const {
  Ciphertext r;
  mpz_set_ui(r.c.get(), 1);
  for (const auto& c : cs) add_inplace(r, c);
  return r;
}

void PublicKey::check(const Ciphertext& c) const {
  if (mpz_sgn(c.c.get()) <= 0 || mpz_cmp(c.c.get(), d_->n2.get()) >= 0)
    throw invalid("ciphertext out of range: it must be in (0, n²)");
  Tmp g;
  mpz_gcd(g, c.c.get(), d_->n.get());
  if (mpz_cmp_ui(g.v, 1) != 0) throw invalid("ciphertext is not a unit mod n²");
}

// -------------------------------------------------------------------------------------------
BigInt PrivateKey::decrypt(const Ciphertext& c) const {
  const PrivateKeyData& k = *d_;
  thread_local Tmp xp, xq, tp, tq, t;
  // m_p = L_p(c^(p-1) mod p²)·hp mod p, the same mod q; then CRT. The two powers are the whole
  // cost: with IFMA they run interleaved in radix 2^52, otherwise through mpz_powm.
  mpz_mod(tp, c.c.get(), k.p2.get());
  mpz_mod(tq, c.c.get(), k.q2.get());
  if (k.ifma_p2) {
    Ifma52::powm2(xp, tp, k.pm1.get(), *k.ifma_p2, xq, tq, k.qm1.get(), *k.ifma_q2);
  } else {
    mpz_powm(xp, tp, k.pm1.get(), k.p2.get());
    mpz_powm(xq, tq, k.qm1.get(), k.q2.get());
  }
  mpz_sub_ui(xp, xp, 1);
  mpz_divexact(xp, xp, k.p.get());
  mpz_mul(xp, xp, k.hp.get());
  mpz_mod(xp, xp, k.p.get());
  mpz_sub_ui(xq, xq, 1);
  mpz_divexact(xq, xq, k.q.get());
  mpz_mul(xq, xq, k.hq.get());
  mpz_mod(xq, xq, k.q.get());
  BigInt m;
  mpz_sub(t, xp, xq);
  mpz_mul(t, t, k.q_inv_p.get());
  mpz_mod(t, t, k.p.get());
  mpz_mul(t, t, k.q.get());
  mpz_add(m.get(), xq, t);
  return m;
}

BigInt PrivateKey::decrypt_signed(const Ciphertext& c) const { return from_plaintext(pub_, decrypt(c)); }

Ciphertext PrivateKey::encrypt(const BigInt& m) const {
  const PublicKeyData& pd = pub_.data();
  const PrivateKeyData& k = *d_;
  if (pub_.obfuscation() == Obfuscation::None) return pub_.encrypt(m);
  check_plain_range(pd, m.get());
  if (pub_.obfuscation() == Obfuscation::FixedBase) {
    // h_s^a mod p² and mod q² from half-size tables, then CRT: the same value as h_s^a mod n².
    thread_local Tmp a, xp, xq, t;
    PrivateKeyData::CrtTables tabs = k.tables(pd.hs, pub_.exponent_bits());
    detail::random_bits(a, pub_.exponent_bits());
    FixedBaseTable::pow2(xp, *tabs.p, xq, *tabs.q, a);
    mpz_sub(t, xp, xq);
    mpz_mul(t, t, k.q2_inv_p2.get());
    mpz_mod(t, t, k.p2.get());
    mpz_mul(t, t, k.q2.get());
    Ciphertext c;
    mpz_add(c.c.get(), xq, t);
    mul_raw(c.c.get(), pd, c.c.get(), m.get());
    return c;
  }
  thread_local Tmp rp, rq;
  // Fresh r mod p and r mod q; when x ↦ x^q permutes Z*_p (and x ↦ x^p permutes Z*_q) the
  // inner powers of crt_mask can be skipped without changing the distribution of the mask.
  detail::random_unit(rp, k.p.get());
  detail::random_unit(rq, k.q.get());
  Ciphertext c;
  detail::crt_mask(c.c.get(), k, rp, rq, !k.lift_is_permutation);
  mul_raw(c.c.get(), pd, c.c.get(), m.get());
  return c;
}

Ciphertext PrivateKey::encrypt(int64_t v) const { return encrypt(to_plaintext(pub_, BigInt::from_i64(v))); }

// -------------------------------------------------------------------------------------------
namespace {
struct KeyParts {
  std::shared_ptr<PublicKeyData> pub;
  std::shared_ptr<PrivateKeyData> priv;
};

/// Builds the key material; `verify` re-checks primality (for primes given from outside).
KeyParts assemble(const BigInt& p, const BigInt& q, const KeyOptions& o, bool verify) {
  if (verify) {
    if (p.sign() <= 0 || q.sign() <= 0 || mpz_probab_prime_p(p.get(), 30) == 0 || mpz_probab_prime_p(q.get(), 30) == 0)
      throw invalid("private key: p and q must be primes");
  }
  if (p == q) throw invalid("private key: p and q must differ");
  BigInt n;
  mpz_mul(n.get(), p.get(), q.get());
  unsigned bits = static_cast<unsigned>(n.bits());
  if (bits < 256) throw invalid("key of " + std::to_string(bits) + " bits is too small (minimum 256, even for tests)");
  if (bits < 2048 && !o.allow_insecure)
    throw invalid("key of " + std::to_string(bits) + " bits is insecure; use 2048 or more (or --insecure-key-size)");
  Tmp phi, g;
  mpz_sub_ui(phi, p.get(), 1);
  mpz_sub_ui(g, q.get(), 1);
  mpz_mul(phi, phi, g);
  mpz_gcd(g, n.get(), phi);
  if (mpz_cmp_ui(g.v, 1) != 0) throw invalid("private key: gcd(n, (p-1)(q-1)) must be 1");
  auto priv = detail::make_private(p, q);
  // DJN base h_s = (-x² mod n)^n mod n², computed by CRT since the factors are at hand.
  BigInt hs;
  {
    Tmp x, hp, hq;
    detail::random_unit(x, n.get());
    mpz_mul(x, x, x);
    mpz_mod(x, x, n.get());
    mpz_sub(x, n.get(), x);
    mpz_mod(hp, x, priv->p.get());
    mpz_mod(hq, x, priv->q.get());
    detail::crt_mask(hs.get(), *priv, hp, hq, true);
  }
  return KeyParts{detail::make_public(n, hs), priv};
}
}  // namespace

KeyPair KeyPair::from_parts(std::shared_ptr<PublicKeyData> pub, std::shared_ptr<PrivateKeyData> priv,
                            const KeyOptions& o) {
  KeyPair kp;
  kp.pub.d_ = std::move(pub);
  kp.pub.set_obfuscation(o.obfuscation, o.exponent_bits);
  kp.priv.pub_ = kp.pub;
  kp.priv.d_ = std::move(priv);
  return kp;
}

KeyPair KeyPair::from_primes(const BigInt& p, const BigInt& q, const KeyOptions& o) {
  KeyParts k = assemble(p, q, o, true);
  return from_parts(k.pub, k.priv, o);
}

KeyPair KeyPair::generate(const KeyOptions& o) {
  if (o.bits < 256 || o.bits % 2) throw invalid("key size must be even and at least 256 bits (got " + std::to_string(o.bits) + ")");
  if (o.bits < 2048 && !o.allow_insecure)
    throw invalid("key of " + std::to_string(o.bits) + " bits is insecure; use 2048 or more (or --insecure-key-size)");
  if (o.bits > 16384) throw invalid("key size above 16384 bits is not supported");
  const unsigned half = o.bits / 2;
  auto prime = [&](BigInt& out) {
    while (true) {
      detail::random_bits(out.get(), half);
      mpz_setbit(out.get(), half - 1);  // top two bits set: |p·q| is exactly 2·half bits
      mpz_setbit(out.get(), half - 2);
      mpz_nextprime(out.get(), out.get());  // probable prime (GMP: trial division + 25 Miller-Rabin rounds)
      if (out.bits() == half) return;
    }
  };
  BigInt p, q;
  while (true) {
    prime(p);
    prime(q);
    if (p == q) continue;
    BigInt pm1, qm1, g;
    mpz_sub_ui(pm1.get(), p.get(), 1);
    mpz_sub_ui(qm1.get(), q.get(), 1);
    mpz_gcd(g.get(), p.get(), qm1.get());
    if (mpz_cmp_ui(g.get(), 1) != 0) continue;
    mpz_gcd(g.get(), q.get(), pm1.get());
    if (mpz_cmp_ui(g.get(), 1) != 0) continue;
    KeyParts k = assemble(p, q, o, false);
    return from_parts(k.pub, k.priv, o);
  }
}

// -------------------------------------------------------------------------------------------
BigInt to_plaintext(const PublicKey& pk, const BigInt& v) {
  if (mpz_cmpabs(v.get(), pk.max_int().get()) > 0)
    throw failed("overflow: |value| exceeds max_int (n/3 - 1) of the " + std::to_string(pk.bits()) + "-bit key");
  BigInt m = v;
  if (m.sign() < 0) mpz_add(m.get(), m.get(), pk.n().get());
  return m;
}

BigInt from_plaintext(const PublicKey& pk, const BigInt& m) {
  const PublicKeyData& d = pk.data();
  if (mpz_cmp(m.get(), d.max_int.get()) <= 0) return m;
  if (mpz_cmp(m.get(), d.neg_threshold.get()) >= 0) {
    BigInt r;
    mpz_sub(r.get(), m.get(), d.n.get());
    return r;
  }
  throw failed("overflow: decrypted value lies between max_int and n - max_int (the encrypted sum overflowed)");
}

}  // namespace fatectl::he
