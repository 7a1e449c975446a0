// Montgomery products with GMP's mpn layer and the fixed-base windowed table.
#include "he/montgomery.h"

#include "he/ifma.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

// GMP 6.2's subquadratic Montgomery reduction (mullo + wrap-around product), which mpz_powm
// itself uses above ~40 limbs. It is exported by Debian's libgmp (shared and static) but is not
// part of the documented API, so every Montgomery context checks it against the portable
// reduction once and falls back when they disagree. Define FATECTL_HE_PORTABLE_REDC to never use it.
#ifndef FATECTL_HE_PORTABLE_REDC
extern "C" void __gmpn_redc_n(mp_ptr rp, mp_ptr up, mp_srcptr mp, mp_size_t n, mp_srcptr ip);
extern "C" void __gmpn_mullo_n(mp_ptr rp, mp_srcptr ap, mp_srcptr bp, mp_size_t n);
#endif

namespace fatectl::he {

namespace {

/// A per-thread temporary mpz (cleared when the thread ends).
struct ScratchMpz {
  mpz_t v;
  ScratchMpz() { mpz_init(v); }
  ~ScratchMpz() { mpz_clear(v); }
  operator mpz_ptr() { return v; }
};
// -N⁻¹ mod 2^64 by Newton iteration (N odd).
mp_limb_t neg_inverse_limb(mp_limb_t n0) {
  mp_limb_t x = n0;  // correct to 3 bits for odd n0 (n0·n0 ≡ 1 mod 8)
  for (int i = 0; i < 6; ++i) x *= 2 - n0 * x;
  return static_cast<mp_limb_t>(0) - x;
}

void copy_limbs(mp_ptr dst, mpz_srcptr src, mp_size_t k) {
  mp_size_t sz = mpz_size(src);
  if (sz > k) throw std::logic_error("montgomery: value wider than modulus");
  if (sz) std::memcpy(dst, mpz_limbs_read(src), sz * sizeof(mp_limb_t));
  if (k > sz) std::memset(dst + sz, 0, (k - sz) * sizeof(mp_limb_t));
}
}  // namespace

Montgomery::Montgomery(mpz_srcptr modulus) {
  if (mpz_sgn(modulus) <= 0 || mpz_even_p(modulus)) throw std::logic_error("montgomery: modulus must be odd");
  k_ = mpz_size(modulus);
  n_.resize(k_);
  copy_limbs(n_.data(), modulus, k_);
  ninv_ = neg_inverse_limb(n_[0]);
  mpz_init_set(nz_, modulus);
  mpz_init(r2z_);
  mpz_t t;
  mpz_init(t);
  mpz_setbit(t, 64 * k_);
  mpz_mod(t, t, modulus);
  one_.resize(k_);
  copy_limbs(one_.data(), t, k_);
  mpz_set_ui(t, 0);
  mpz_setbit(t, 128 * k_);
  mpz_mod(r2z_, t, modulus);
  r2_.resize(k_);
  copy_limbs(r2_.data(), r2z_, k_);
#ifndef FATECTL_HE_PORTABLE_REDC
  if (k_ > 16) {
    mpz_set_ui(t, 0);
    mpz_setbit(t, 64 * k_);
    mpz_invert(t, modulus, t);
    ninv_n_.resize(k_);
    copy_limbs(ninv_n_.data(), t, k_);
    // Self-check: reduce a few values both ways.
    std::vector<mp_limb_t> a(2 * k_), b(2 * k_), ra(k_), rb(k_);
    bool same = true;
    for (int trial = 0; trial < 3 && same; ++trial) {
      for (mp_size_t i = 0; i < 2 * k_; ++i) a[i] = 0x9e3779b97f4a7c15ull * (i + 1 + trial * 977) ^ (i << 7);
      a[2 * k_ - 1] = n_[k_ - 1] > 1 ? n_[k_ - 1] - 1 : 0;  // keep t < N·R
      if (trial == 2) std::fill(a.begin(), a.end(), 0), a[0] = 1;
      b = a;
      redc_portable(ra.data(), a.data());
      __gmpn_redc_n(rb.data(), b.data(), n_.data(), k_, ninv_n_.data());
      if (mpn_cmp(rb.data(), n_.data(), k_) >= 0) mpn_sub_n(rb.data(), rb.data(), n_.data(), k_);
      same = mpn_cmp(ra.data(), rb.data(), k_) == 0;
    }
    use_redc_n_ = same;
  }
#endif
  mpz_clear(t);
}

Montgomery::~Montgomery() {
  mpz_clear(nz_);
  mpz_clear(r2z_);
}

void Montgomery::redc(mp_ptr r, mp_ptr t) const {
#ifndef FATECTL_HE_PORTABLE_REDC
  if (use_redc_n_) {
    __gmpn_redc_n(r, t, n_.data(), k_, ninv_n_.data());
    if (mpn_cmp(r, n_.data(), k_) >= 0) mpn_sub_n(r, r, n_.data(), k_);
    return;
  }
#endif
  redc_portable(r, t);
}

void Montgomery::redc_portable(mp_ptr r, mp_ptr t) const {
  // Word-by-word reduction: each step clears one low limb; its carry is parked in the cleared
  // limb and all carries are added in one pass at the end.
  const mp_srcptr n = n_.data();
  for (mp_size_t i = 0; i < k_; ++i) {
    mp_limb_t m = t[i] * ninv_;
    t[i] = mpn_addmul_1(t + i, n, k_, m);
  }
  mp_limb_t cy = mpn_add_n(r, t + k_, t, k_);
  if (cy || mpn_cmp(r, n, k_) >= 0) mpn_sub_n(r, r, n, k_);
}

void Montgomery::mul(mp_ptr r, mp_srcptr a, mp_srcptr b, mp_ptr scratch) const {
  if (a == b) {
    mpn_sqr(scratch, a, k_);
  } else {
    mpn_mul_n(scratch, a, b, k_);
  }
  redc(r, scratch);
}

void Montgomery::sqr(mp_ptr r, mp_srcptr a, mp_ptr scratch) const {
  mpn_sqr(scratch, a, k_);
  redc(r, scratch);
}

void Montgomery::to_mont(mp_ptr r, mpz_srcptr a) const {
  mp_ptr s = thread_scratch(7, 3 * k_ + 2);
  mp_ptr tmp = s + 2 * k_ + 2;
  if (mpz_sgn(a) < 0) throw std::logic_error("montgomery: negative input");
  if (mpz_size(a) <= static_cast<size_t>(k_) && mpz_cmp(a, nz_) < 0) {
    copy_limbs(tmp, a, k_);
  } else {
    mpz_t red;
    mpz_init(red);
    mpz_mod(red, a, nz_);
    copy_limbs(tmp, red, k_);
    mpz_clear(red);
  }
  mul(r, tmp, r2_.data(), s);
}

void Montgomery::from_mont(mpz_ptr out, mp_srcptr a, mp_ptr scratch) const {
  std::memcpy(scratch, a, k_ * sizeof(mp_limb_t));
  std::memset(scratch + k_, 0, k_ * sizeof(mp_limb_t));
  mp_ptr dst = mpz_limbs_write(out, k_);
  redc(dst, scratch);
  mp_size_t sz = k_;
  while (sz > 0 && dst[sz - 1] == 0) --sz;
  mpz_limbs_finish(out, sz);
}

void Montgomery::pow(mpz_ptr out, mpz_srcptr base, mpz_srcptr e) const {
  const mp_size_t k = k_;
  size_t bits = mpz_sgn(e) == 0 ? 0 : mpz_sizeinbase(e, 2);
  if (bits == 0) {
    mpz_set_ui(out, 1);
    if (mpz_cmp_ui(nz_, 1) == 0) mpz_set_ui(out, 0);
    return;
  }
  // Window: 1 bit up to 8 bits of exponent, then growing (odd powers only).
  unsigned w = bits <= 8 ? 1 : bits <= 24 ? 2 : bits <= 80 ? 3 : bits <= 240 ? 4 : bits <= 672 ? 5 : 6;
  size_t odd = size_t(1) << (w - 1);
  mp_ptr s = thread_scratch(1, (2 * k + 2) + (odd + 2) * k);
  mp_ptr tab = s + 2 * k + 2;         // tab[i] = base^(2i+1)
  mp_ptr acc = tab + odd * k, b2 = acc + k;
  to_mont(tab, base);
  if (odd > 1) {
    sqr(b2, tab, s);
    for (size_t i = 1; i < odd; ++i) mul(tab + i * k, tab + (i - 1) * k, b2, s);
  }
  long i = static_cast<long>(bits) - 1;
  bool started = false;
  while (i >= 0) {
    if (!mpz_tstbit(e, i)) {
      if (started) sqr(acc, acc, s);
      --i;
      continue;
    }
    // Longest window [j, i] of at most w bits ending in a 1 bit.
    long j = std::max(0L, i - static_cast<long>(w) + 1);
    while (!mpz_tstbit(e, j)) ++j;
    unsigned val = 0;
    for (long b = i; b >= j; --b) val = (val << 1) | static_cast<unsigned>(mpz_tstbit(e, b));
    if (started) {
      for (long b = i; b >= j; --b) sqr(acc, acc, s);
      mul(acc, acc, tab + (val >> 1) * k, s);
    } else {
      std::memcpy(acc, tab + (val >> 1) * k, k * sizeof(mp_limb_t));
      started = true;
    }
    i = j - 1;
  }
  from_mont(out, acc, s);
}

Barrett::Barrett(mpz_srcptr modulus) {
  k_ = mpz_size(modulus);
  n_.assign(k_ + 1, 0);
  copy_limbs(n_.data(), modulus, k_);
  mpz_t t;
  mpz_init(t);
  mpz_setbit(t, 128 * k_);
  mpz_fdiv_q(t, t, modulus);
  mu_.assign(k_ + 1, 0);
  copy_limbs(mu_.data(), t, k_ + 1);
  mpz_clear(t);
}

void Barrett::mulmod(mpz_ptr out, mpz_srcptr a, mpz_srcptr b) const {
  // HAC 14.42 with base B = 2^64: q = ⌊⌊x/B^(k-1)⌋·μ / B^(k+1)⌋, r = x - q·N mod B^(k+1), then at
  // most two corrections.
  const mp_size_t k = k_;
  mp_ptr s = thread_scratch(2, 2 * k + 1 + 2 * (k + 1) + (k + 1) + 2 * k);
  mp_ptr x = s, q2 = x + 2 * k + 1, r2 = q2 + 2 * (k + 1), pa = r2 + (k + 1), pb = pa + k;
  copy_limbs(pa, a, k);
  copy_limbs(pb, b, k);
  if (a == b) mpn_sqr(x, pa, k);
  else mpn_mul_n(x, pa, pb, k);
  x[2 * k] = 0;
  mpn_mul_n(q2, x + k - 1, mu_.data(), k + 1);
#ifndef FATECTL_HE_PORTABLE_REDC
  __gmpn_mullo_n(r2, q2 + k + 1, n_.data(), k + 1);
#else
  {
    mp_ptr full = thread_scratch(3, 2 * (k + 1));
    mpn_mul_n(full, q2 + k + 1, n_.data(), k + 1);
    std::memcpy(r2, full, (k + 1) * sizeof(mp_limb_t));
  }
#endif
  mpn_sub_n(r2, x, r2, k + 1);  // mod B^(k+1)
  while (r2[k] != 0 || mpn_cmp(r2, n_.data(), k) >= 0) r2[k] -= mpn_sub_n(r2, r2, n_.data(), k);
  mp_size_t sz = k;
  while (sz > 0 && r2[sz - 1] == 0) --sz;
  mp_ptr dst = mpz_limbs_write(out, std::max<mp_size_t>(sz, 1));
  if (sz) std::memcpy(dst, r2, sz * sizeof(mp_limb_t));
  mpz_limbs_finish(out, sz);
}

FixedBaseTable::FixedBaseTable(mpz_srcptr base, mpz_srcptr modulus, unsigned max_bits, unsigned window,
                               size_t memory_budget, bool allow_ifma)
    : mont_(modulus), max_bits_(std::max(1u, max_bits)) {
  if (allow_ifma && Ifma52::available() && Ifma52::fits(mpz_sizeinbase(modulus, 2))) {
    ifma_ = std::make_unique<const Ifma52FixedBase>(base, modulus, max_bits_, window, memory_budget);
    w_ = ifma_->window();
    windows_ = (max_bits_ + w_ - 1) / w_;
    return;
  }
  const size_t k = mont_.limbs();
  if (window == 0) window = fixed_base_window(max_bits_, k * sizeof(mp_limb_t), memory_budget);
  w_ = std::min(window, 16u);
  windows_ = (max_bits_ + w_ - 1) / w_;
  const size_t per = (size_t(1) << w_) - 1;
  table_.resize(windows_ * per * k);
  std::vector<mp_limb_t> scratch(mont_.scratch_limbs()), cur(k);
  mont_.to_mont(cur.data(), base);  // cur = g^(2^(w·i)) in Montgomery form
  for (unsigned i = 0; i < windows_; ++i) {
    mp_ptr row = table_.data() + i * per * k;
    std::memcpy(row, cur.data(), k * sizeof(mp_limb_t));
    for (size_t d = 1; d < per; ++d) mont_.mul(row + d * k, row + (d - 1) * k, cur.data(), scratch.data());
    // next base: g^(2^(w·(i+1))) = row[per-1] · cur
    mont_.mul(cur.data(), row + (per - 1) * k, cur.data(), scratch.data());
  }
}

FixedBaseTable::~FixedBaseTable() = default;

unsigned FixedBaseTable::window() const { return w_; }

size_t FixedBaseTable::bytes() const { return ifma_ ? ifma_->bytes() : table_.size() * sizeof(mp_limb_t); }

void FixedBaseTable::pow2(mpz_ptr out1, const FixedBaseTable& t1, mpz_ptr out2, const FixedBaseTable& t2, mpz_srcptr e) {
  if (t1.ifma_ && t2.ifma_) {
    Ifma52FixedBase::pow2(out1, *t1.ifma_, out2, *t2.ifma_, e);
    return;
  }
  t1.pow(out1, e);
  t2.pow(out2, e);
}

void FixedBaseTable::pow_mont(mp_ptr r, mpz_srcptr e, mp_ptr scratch) const {
  const mp_size_t k = mont_.limbs();
  if (ifma_) {
    (void)scratch;
    thread_local ScratchMpz t;
    ifma_->pow(t, e);
    mont_.to_mont(r, t);
    return;
  }
  if (mpz_sgn(e) < 0 || mpz_sizeinbase(e, 2) > max_bits_) throw std::logic_error("fixed-base: exponent too large");
  const mp_srcptr el = mpz_limbs_read(e);
  const mp_size_t en = mpz_size(e);
  bool started = false;
  for (unsigned i = 0; i < windows_; ++i) {
    // digit i: bits [w·i, w·i + w) of e
    size_t bit = size_t(i) * w_;
    size_t limb = bit / 64, off = bit % 64;
    if (static_cast<mp_size_t>(limb) >= en) break;
    mp_limb_t v = el[limb] >> off;
    if (off + w_ > 64 && static_cast<mp_size_t>(limb + 1) < en) v |= el[limb + 1] << (64 - off);
    unsigned d = static_cast<unsigned>(v & ((mp_limb_t(1) << w_) - 1));
    if (!d) continue;
    if (!started) {
      std::memcpy(r, entry(i, d), k * sizeof(mp_limb_t));
      started = true;
    } else {
      mont_.mul(r, r, entry(i, d), scratch);
    }
  }
  if (!started) std::memcpy(r, mont_.one(), k * sizeof(mp_limb_t));
}

void FixedBaseTable::pow(mpz_ptr out, mpz_srcptr e) const {
  if (ifma_) {
    ifma_->pow(out, e);
    return;
  }
  const mp_size_t k = mont_.limbs();
  mp_ptr s = thread_scratch(0, 3 * k + 2);
  mp_ptr acc = s + 2 * k + 2;
  pow_mont(acc, e, s);
  mont_.from_mont(out, acc, s);
}

mp_ptr thread_scratch(size_t slot, size_t limbs) {
  thread_local std::vector<std::vector<mp_limb_t>> buffers;
  if (buffers.size() <= slot) buffers.resize(slot + 1);
  auto& b = buffers[slot];
  if (b.size() < limbs) b.resize(limbs);
  return b.data();
}

}  // namespace fatectl::he
