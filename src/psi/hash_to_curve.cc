// Ids onto Curve25519: SHA-512 try-and-increment with a Legendre test, so every hashed id is the
// u-coordinate of a curve point (never a twist point). Definition and security argument:
// docs/psi.md.
#include <openssl/evp.h>

#include <cstring>
#include <memory>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/psi/curve25519.h"
#include "field25519.h"

namespace fatectl::psi {
namespace {

using detail::Fe;

// u-coordinates of the curve points of order 4 and 8 (canonical, little-endian); u = 0 (order 2)
// fails the square test, and the twist's small-order points fail it too.
const Point& small_order(int i) {
  static const Point kSmall[3] = {
      Point{1},
      Point{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
            0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
      Point{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
            0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
  };
  return kSmall[i];
}

constexpr uint32_t kMaxTries = 256;

bool small(const uint8_t u[32]) {
  for (int i = 0; i < 3; ++i)
    if (std::memcmp(u, small_order(i).data(), 32) == 0) return true;
  return false;
}

Error exhausted() { return failed("psi: no curve point found for an id after 256 tries (probability 2^-256)"); }

struct MdCtx {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~MdCtx() { EVP_MD_CTX_free(ctx); }
};

const EVP_MD* sha512() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  if (!md) throw failed("OpenSSL has no SHA-512");
  return md;
}

void be32(uint8_t* b, uint32_t v) {
  b[0] = uint8_t(v >> 24);
  b[1] = uint8_t(v >> 16);
  b[2] = uint8_t(v >> 8);
  b[3] = uint8_t(v);
}

/// One hasher per thread: the SHA-512 state after domain ‖ 0x00 ‖ salt is computed once.
class Hasher {
 public:
  explicit Hasher(std::string_view salt) {
    if (salt.size() > 0xffffffffu) throw invalid("psi: salt too long");
    if (!prefix_.ctx || !work_.ctx || EVP_DigestInit_ex2(prefix_.ctx, sha512(), nullptr) != 1)
      throw failed("OpenSSL: cannot start SHA-512");
    uint8_t zero = 0, len[4];
    be32(len, static_cast<uint32_t>(salt.size()));
    EVP_DigestUpdate(prefix_.ctx, kHashDomain.data(), kHashDomain.size());
    EVP_DigestUpdate(prefix_.ctx, &zero, 1);
    EVP_DigestUpdate(prefix_.ctx, len, 4);
    EVP_DigestUpdate(prefix_.ctx, salt.data(), salt.size());
  }

  /// Counter `ctr`'s candidate u for `id` (canonical bytes) and f(u) = u³ + 486662u² + u.
  void candidate(std::string_view id, uint32_t ctr, uint8_t u_out[32], detail::Fe& f) {
    if (id.size() > 0xffffffffu) throw invalid("psi: id too long");
    uint8_t len[4], c[4], h[64];
    be32(len, static_cast<uint32_t>(id.size()));
    be32(c, ctr);
    unsigned int hl = 0;
    if (EVP_MD_CTX_copy_ex(work_.ctx, prefix_.ctx) != 1 || EVP_DigestUpdate(work_.ctx, len, 4) != 1 ||
        EVP_DigestUpdate(work_.ctx, id.data(), id.size()) != 1 || EVP_DigestUpdate(work_.ctx, c, 4) != 1 ||
        EVP_DigestFinal_ex(work_.ctx, h, &hl) != 1)
      throw failed("OpenSSL: SHA-512 failed");
    Fe u = detail::fe_from_bytes64(h);
    Fe a = detail::fe_add(u, detail::fe_mul_small(Fe{{1, 0, 0, 0, 0}}, 486662));
    f = detail::fe_mul(u, detail::fe_add(detail::fe_mul(u, a), Fe{{1, 0, 0, 0, 0}}));
    detail::fe_to_bytes(u_out, u);
  }

  /// One id, one Legendre symbol at a time.
  void hash(std::string_view id, uint8_t out[32]) {
    for (uint32_t c = 0; c < kMaxTries; ++c) {
      Fe f;
      candidate(id, c, out, f);
      if (detail::fe_legendre(f) == 1 && !small(out)) return;
    }
    throw exhausted();
  }

  /// ids[b..e) into out, sixteen Legendre symbols at a time on AVX-512 IFMA (same results as hash()).
  void hash_many(const std::string* ids, size_t b, size_t e, uint8_t* out) {
    if (!detail::legendre16_available()) {
      for (size_t i = b; i < e; ++i) hash(ids[i], out + i * kPointBytes);
      return;
    }
    struct Try {
      size_t idx;
      uint32_t ctr;
    };
    std::vector<Try> retry;  // candidates that were not on the curve, with their next counter
    Try lane[16];
    uint8_t u[16][32], fb[16][32];
    int sym[16];
    size_t next = b;
    for (;;) {
      int n = 0;
      while (n < 16 && (!retry.empty() || next < e)) {
        Try t{next, 0};
        if (!retry.empty()) {
          t = retry.back();
          retry.pop_back();
        } else {
          ++next;
        }
        Fe f;
        candidate(ids[t.idx], t.ctr, u[n], f);
        detail::fe_to_bytes(fb[n], f);
        lane[n++] = t;
      }
      if (n == 0) return;
      for (int k = n; k < 16; ++k) std::memcpy(fb[k], fb[0], 32);
      detail::legendre16(fb, sym);
      for (int k = 0; k < n; ++k) {
        if (sym[k] == 1 && !small(u[k])) {
          std::memcpy(out + lane[k].idx * kPointBytes, u[k], 32);
        } else {
          if (lane[k].ctr + 1 >= kMaxTries) throw exhausted();
          retry.push_back({lane[k].idx, lane[k].ctr + 1});
        }
      }
    }
  }

 private:
  MdCtx prefix_, work_;
};

}  // namespace

Point hash_to_curve(std::string_view salt, std::string_view id) {
  Point p;
  Hasher(salt).hash(id, p.data());
  return p;
}

void hash_to_curve(std::string_view salt, const std::string* ids, size_t n, uint8_t* out, ThreadPool& pool) {
  std::vector<std::unique_ptr<Hasher>> hashers(pool.size());
  pool.parallel_for(n, [&](size_t b, size_t e, unsigned w) {
    if (!hashers[w]) hashers[w] = std::make_unique<Hasher>(salt);
    hashers[w]->hash_many(ids, b, e, out);
  });
}

}  // namespace fatectl::psi
