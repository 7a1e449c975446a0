// Batch operations and the gradient kernel: weighted_sums (IFMA when the CPU has it, else GMP)
// against one-at-a-time scalar multiplication and against the plaintext sums; batch encryption
// and re-randomisation round trips.
#include <doctest/doctest.h>

#include <climits>
#include <random>
#include <tuple>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/he/paillier.h"

using namespace fatectl;
using namespace fatectl::he;

namespace {
KeyPair make_keys(unsigned bits) {
  KeyOptions o;
  o.bits = bits;
  o.allow_insecure = true;
  return KeyPair::generate(o);
}

BigInt plain_sum(const std::vector<int64_t>& d, const std::vector<int64_t>& x, size_t cols, size_t j) {
  BigInt want, t;
  for (size_t i = 0; i < d.size(); ++i) {
    mpz_mul(t.get(), BigInt::from_i64(d[i]).get(), BigInt::from_i64(x[i * cols + j]).get());
    mpz_add(want.get(), want.get(), t.get());
  }
  return want;
}

/// Random signed values below 2^bits in magnitude (bits ≤ 63), about half negative.
int64_t draw(std::mt19937_64& rng, unsigned bits) {
  uint64_t m = bits >= 63 ? uint64_t(INT64_MAX) : (uint64_t(1) << bits) - 1;
  int64_t v = static_cast<int64_t>(rng() & m);
  return (rng() & 1) ? -v : v;
}

void check_kernel(const KeyPair& kp, ThreadPool& pool, std::mt19937_64& rng, size_t rows, size_t cols, unsigned bits,
                  bool zero_column) {
  CAPTURE(kp.pub.bits());
  CAPTURE(rows);
  CAPTURE(cols);
  CAPTURE(bits);
  CAPTURE(zero_column);
  std::vector<int64_t> d(rows), x(rows * cols);
  for (auto& e : d) e = draw(rng, 40);
  for (auto& e : x) e = draw(rng, bits);
  if (zero_column)
    for (size_t i = 0; i < rows; ++i) x[i * cols + cols / 2] = 0;
  std::vector<Ciphertext> ed = encrypt_batch(kp.pub, d, pool);
  auto fast = weighted_sums(kp.pub, ed, x, cols, pool);
  auto naive = weighted_sums_naive(kp.pub, ed, x, cols, pool);
  REQUIRE(fast.size() == cols);
  for (size_t j = 0; j < cols; ++j) {
    CAPTURE(j);
    CHECK(fast[j] == naive[j]);
    CHECK(kp.priv.decrypt_signed(fast[j]) == plain_sum(d, x, cols, j));
  }
}
}  // namespace

TEST_CASE("batch: gradient kernel equals the naive products (shapes, widths, signs, zero columns)") {
  KeyPair k768 = make_keys(768), k1024 = make_keys(1024);
  ThreadPool pool(2);
  std::mt19937_64 rng(11);
  // rows = 1, a few rows, more rows than buckets; 1..9 columns (groups of 1..4 lanes); exponent
  // widths from 1 bit to 63 bits (windows change with the width).
  for (auto [rows, cols, bits] : {std::tuple<size_t, size_t, unsigned>{1, 1, 23}, {1, 5, 27}, {2, 3, 1}, {3, 4, 8},
                                  {7, 2, 63}, {16, 9, 23}, {37, 6, 27}, {60, 5, 40}, {129, 3, 17}}) {
    check_kernel(k768, pool, rng, rows, cols, bits, false);
    check_kernel(k1024, pool, rng, rows, cols, bits, cols > 2);
  }
  // Enough rows for the kernel to split rows as well as columns (few columns, two threads).
  check_kernel(k1024, pool, rng, 2100, 1, 23, false);
  check_kernel(k768, pool, rng, 1500, 3, 26, true);
}

TEST_CASE("batch: gradient kernel edge values and a 2048-bit key") {
  KeyPair k2048 = make_keys(2048);
  ThreadPool pool(2);
  std::mt19937_64 rng(5);
  check_kernel(k2048, pool, rng, 9, 5, 27, true);
  // Extreme scalars: INT64_MIN / INT64_MAX (65-bit offset digits) and ±1.
  std::vector<int64_t> d = {3, -5, 7, 1};
  std::vector<int64_t> x = {INT64_MIN, 1, INT64_MAX, -1, -1, INT64_MIN, 1, 0};
  auto ed = encrypt_batch(k2048.pub, d, pool);
  auto fast = weighted_sums(k2048.pub, ed, x, 2, pool);
  auto naive = weighted_sums_naive(k2048.pub, ed, x, 2, pool);
  for (size_t j = 0; j < 2; ++j) {
    CHECK(fast[j] == naive[j]);
    CHECK(k2048.priv.decrypt_signed(fast[j]) == plain_sum(d, x, 2, j));
  }
  // An all-zero matrix gives E(0) = 1 in every column; a wrong shape is refused.
  std::vector<int64_t> zeros(8, 0);
  auto z = weighted_sums(k2048.pub, ed, zeros, 2, pool);
  CHECK(mpz_cmp_ui(z[0].c.get(), 1) == 0);
  CHECK(mpz_cmp_ui(z[1].c.get(), 1) == 0);
  CHECK_THROWS_AS(weighted_sums(k2048.pub, ed, zeros, 3, pool), Error);
  CHECK_THROWS_AS(weighted_sums(k2048.pub, ed, zeros, 0, pool), Error);
  // A ciphertext out of range is refused, not folded in.
  std::vector<Ciphertext> bad = ed;
  bad[2].c = k2048.pub.n_squared();
  CHECK_THROWS_AS(weighted_sums(k2048.pub, bad, x, 2, pool), Error);
}

TEST_CASE("batch: encryption and re-randomisation round trips (fixed-base and textbook)") {
  KeyPair kp = make_keys(1024);
  ThreadPool pool(2);
  std::mt19937_64 rng(7);
  std::vector<int64_t> v = {0, 1, -1, INT64_MAX, INT64_MIN + 1, 42};
  for (int i = 0; i < 37; ++i) v.push_back(static_cast<int64_t>(rng()));
  for (Obfuscation mode : {Obfuscation::FixedBase, Obfuscation::Textbook}) {
    PublicKey pk = kp.pub;
    pk.set_obfuscation(mode);
    CAPTURE(to_string(mode));
    auto cs = encrypt_batch(pk, v, pool);
    auto again = encrypt_batch(pk, v, pool);
    auto back = decrypt_batch(kp.priv, cs, pool);
    for (size_t i = 0; i < v.size(); ++i) {
      CHECK(back[i].to_i64() == v[i]);
      CHECK(!(cs[i] == again[i]));  // fresh randomness every time
      CHECK(mpz_cmp(cs[i].c.get(), pk.n_squared().get()) < 0);
    }
    std::vector<BigInt> big;
    for (int64_t x : v) big.push_back(to_plaintext(pk, BigInt::from_i64(x)));
    auto cb = encrypt_batch(pk, std::span<const BigInt>(big), pool);
    back = decrypt_batch(kp.priv, cb, pool);
    for (size_t i = 0; i < v.size(); ++i) CHECK(back[i].to_i64() == v[i]);
    auto before = cs;
    rerandomize_batch(pk, cs, pool);
    back = decrypt_batch(kp.priv, cs, pool);
    for (size_t i = 0; i < v.size(); ++i) {
      CHECK(back[i].to_i64() == v[i]);
      CHECK(!(cs[i] == before[i]));
    }
    // Plaintexts outside [0, n) are refused as by PublicKey::encrypt.
    std::vector<BigInt> out_of_range = {pk.n()};
    CHECK_THROWS_AS(encrypt_batch(pk, std::span<const BigInt>(out_of_range), pool), Error);
  }
  CHECK(encrypt_batch(kp.pub, std::span<const int64_t>(), pool).empty());
}
