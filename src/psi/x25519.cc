// X25519 through OpenSSL for PSI blinding: the secret is an EVP_PKEY; each worker thread keeps
// its own derive context and a peer key whose 32 bytes are replaced per value.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <time.h>

#include <cstring>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/psi/curve25519.h"

namespace fatectl::psi {
namespace {

EVP_PKEY* private_key(const uint8_t* secret) {
  EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, secret, 32);
  if (!k) throw failed("OpenSSL: cannot create an X25519 key");
  return k;
}

/// One thread's X25519 state: derive context for the secret, a reusable peer key.
class Worker {
 public:
  explicit Worker(EVP_PKEY* key) {
    static const uint8_t nine[32] = {9};
    ctx_ = EVP_PKEY_CTX_new(key, nullptr);
    peer_ = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, nine, 32);
    if (!ctx_ || !peer_ || EVP_PKEY_derive_init(ctx_) != 1) throw failed("OpenSSL: cannot set up X25519");
  }
  ~Worker() {
    EVP_PKEY_CTX_free(ctx_);
    EVP_PKEY_free(peer_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// false when OpenSSL refuses the value (all-zero result: a point of small order).
  bool apply(const uint8_t* in, uint8_t* out) {
    size_t len = 32;
    return EVP_PKEY_set1_encoded_public_key(peer_, in, 32) == 1 && EVP_PKEY_derive_set_peer_ex(ctx_, peer_, 0) == 1 &&
           EVP_PKEY_derive(ctx_, out, &len) == 1 && len == 32;
  }

 private:
  EVP_PKEY_CTX* ctx_ = nullptr;
  EVP_PKEY* peer_ = nullptr;
};

}  // namespace

struct Blinder::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

Blinder::Blinder() : impl_(std::make_unique<Impl>()) {
  uint8_t s[32];
  if (RAND_bytes(s, 32) != 1) throw failed("OpenSSL RAND_bytes failed");
  impl_->key = private_key(s);
  OPENSSL_cleanse(s, sizeof s);
}

Blinder::Blinder(const std::array<uint8_t, 32>& secret) : impl_(std::make_unique<Impl>()) {
  impl_->key = private_key(secret.data());
}

Blinder::~Blinder() = default;

std::array<uint8_t, 32> Blinder::secret() const {
  std::array<uint8_t, 32> s{};
  size_t len = 32;
  if (EVP_PKEY_get_raw_private_key(impl_->key, s.data(), &len) != 1 || len != 32)
    throw failed("OpenSSL: cannot read the X25519 secret");
  return s;
}

void Blinder::blind(const uint8_t* in, uint8_t* out, size_t n, ThreadPool& pool, const std::string& what) const {
  std::vector<std::unique_ptr<Worker>> workers(pool.size());
  pool.parallel_for(n, [&](size_t b, size_t e, unsigned w) {
    if (!workers[w]) workers[w] = std::make_unique<Worker>(impl_->key);
    uint8_t tmp[32];
    for (size_t i = b; i < e; ++i) {
      if (!workers[w]->apply(in + i * kPointBytes, tmp))
        throw failed(what + ": value " + std::to_string(i) + " is not usable (a point of small order)");
      std::memcpy(out + i * kPointBytes, tmp, 32);
    }
  });
}

double openssl_x25519_rate(double seconds) {
  auto cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
  };
  // The loop `openssl speed ecdhx25519` times: one derive context with its peer set once, then
  // derive again and again.
  uint8_t s[32], u[32] = {9}, out[32];
  if (RAND_bytes(s, 32) != 1) throw failed("OpenSSL RAND_bytes failed");
  EVP_PKEY* key = private_key(s);
  EVP_PKEY* peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u, 32);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  bool ok = peer && ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1;
  size_t done = 0;
  double t0 = cpu(), el = 0;
  while (ok) {
    for (int i = 0; i < 64 && ok; ++i) {
      size_t len = 32;
      ok = EVP_PKEY_derive(ctx, out, &len) == 1;
    }
    done += 64;
    el = cpu() - t0;
    if (el >= seconds) break;
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(peer);
  EVP_PKEY_free(key);
  if (!ok || el <= 0) throw failed("OpenSSL: X25519 failed");
  return double(done) / el;
}

}  // namespace fatectl::psi
