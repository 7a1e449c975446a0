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

  void hash(std::string_view id, uint8_t out[32]) {
    if (id.size() > 0xffffffffu) throw invalid("psi: id too long");
    uint8_t len[4], ctr[4], h[64];
    be32(len, static_cast<uint32_t>(id.size()));
    for (uint32_t c = 0; c < 256; ++c) {
      be32(ctr, c);
      unsigned int hl = 0;
      if (EVP_MD_CTX_copy_ex(work_.ctx, prefix_.ctx) != 1 || EVP_DigestUpdate(work_.ctx, len, 4) != 1 ||
          EVP_DigestUpdate(work_.ctx, id.data(), id.size()) != 1 || EVP_DigestUpdate(work_.ctx, ctr, 4) != 1 ||
          EVP_DigestFinal_ex(work_.ctx, h, &hl) != 1)
        throw failed("OpenSSL: SHA-512 failed");
      Fe u = detail::fe_from_bytes64(h);
      // f(u) = u·(u·(u + A) + 1), A = 486662
      Fe a = detail::fe_add(u, detail::fe_mul_small(Fe{{1, 0, 0, 0, 0}}, 486662));
      Fe f = detail::fe_mul(u, detail::fe_add(detail::fe_mul(u, a), Fe{{1, 0, 0, 0, 0}}));
      if (detail::fe_legendre(f) != 1) continue;
      detail::fe_to_bytes(out, u);
      bool small = false;
      for (int i = 0; i < 3; ++i) small = small || std::memcmp(out, small_order(i).data(), 32) == 0;
      if (!small) return;
    }
    throw failed("psi: no curve point found for an id after 256 tries (probability 2^-256)");
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
    for (size_t i = b; i < e; ++i) hashers[w]->hash(ids[i], out + i * kPointBytes);
  });
}

}  // namespace fatectl::psi
