#include "fatectl/ml/secure_agg.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <cmath>
#include <cstring>

#include "fatectl/core/error.h"

namespace fatectl::ml {

struct PadCipher::Impl {
  EVP_PKEY* key = nullptr;
  std::map<long, std::string> secrets;
  ~Impl() { EVP_PKEY_free(key); }
};

PadCipher::PadCipher() : impl_(std::make_unique<Impl>()) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr);
  if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &impl_->key) <= 0) {
    EVP_PKEY_CTX_free(ctx);
    throw failed("secure aggregation: X25519 key generation failed (OpenSSL)");
  }
  EVP_PKEY_CTX_free(ctx);
}

PadCipher::~PadCipher() = default;

std::string PadCipher::public_key() const {
  unsigned char buf[32];
  size_t len = sizeof buf;
  if (EVP_PKEY_get_raw_public_key(impl_->key, buf, &len) <= 0 || len != 32)
    throw failed("secure aggregation: cannot export the X25519 public key");
  return std::string(reinterpret_cast<char*>(buf), len);
}

void PadCipher::add_peer(long peer, const std::string& pub) {
  if (pub.size() != 32) throw failed("secure aggregation: party " + std::to_string(peer) + " sent a malformed X25519 public key");
  EVP_PKEY* pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(pub.data()), pub.size());
  if (!pk) throw failed("secure aggregation: party " + std::to_string(peer) + " sent an invalid X25519 public key");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(impl_->key, nullptr);
  unsigned char secret[32];
  size_t len = sizeof secret;
  bool ok = ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, pk) > 0 &&
            EVP_PKEY_derive(ctx, secret, &len) > 0 && len == 32;
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pk);
  if (!ok) throw failed("secure aggregation: X25519 key agreement with party " + std::to_string(peer) + " failed");
  impl_->secrets[peer] = std::string(reinterpret_cast<char*>(secret), len);
}

std::vector<uint64_t> pad_stream(const std::string& secret, const std::string& job_id, long lo, long hi, long round,
                                 size_t count) {
  return pad_stream(secret, job_id, lo, hi, std::to_string(round), count);
}

std::vector<uint64_t> pad_stream(const std::string& secret, const std::string& job_id, long lo, long hi,
                                 const std::string& tag, size_t count) {
  unsigned char key[32];
  std::string info = "fatectl/homo-lr/pad/" + std::to_string(lo) + "-" + std::to_string(hi) + "/" + tag;
  EVP_PKEY_CTX* k = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  size_t klen = sizeof key;
  bool ok = k && EVP_PKEY_derive_init(k) > 0 && EVP_PKEY_CTX_set_hkdf_md(k, EVP_sha256()) > 0 &&
            EVP_PKEY_CTX_set1_hkdf_salt(k, reinterpret_cast<const unsigned char*>(job_id.data()),
                                        static_cast<int>(job_id.size())) > 0 &&
            EVP_PKEY_CTX_set1_hkdf_key(k, reinterpret_cast<const unsigned char*>(secret.data()),
                                       static_cast<int>(secret.size())) > 0 &&
            EVP_PKEY_CTX_add1_hkdf_info(k, reinterpret_cast<const unsigned char*>(info.data()),
                                        static_cast<int>(info.size())) > 0 &&
            EVP_PKEY_derive(k, key, &klen) > 0;
  EVP_PKEY_CTX_free(k);
  if (!ok) throw failed("secure aggregation: HKDF failed (OpenSSL)");
  std::vector<unsigned char> zero(count * 8, 0), out(count * 8 + 16);
  unsigned char iv[16] = {0};
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int outl = 0;
  ok = c && EVP_EncryptInit_ex(c, EVP_chacha20(), nullptr, key, iv) > 0 &&
       EVP_EncryptUpdate(c, out.data(), &outl, zero.data(), static_cast<int>(zero.size())) > 0;
  EVP_CIPHER_CTX_free(c);
  if (!ok) throw failed("secure aggregation: ChaCha20 failed (OpenSSL)");
  std::vector<uint64_t> v(count);
  for (size_t i = 0; i < count; ++i) {
    uint64_t x = 0;
    for (int b = 0; b < 8; ++b) x |= static_cast<uint64_t>(out[i * 8 + b]) << (8 * b);
    v[i] = x;
  }
  return v;
}

std::vector<uint64_t> PadCipher::mask(long self, const std::string& job_id, long round, std::vector<uint64_t> v) const {
  for (auto& [peer, secret] : impl_->secrets) {
    long lo = std::min(self, peer), hi = std::max(self, peer);
    auto pad = pad_stream(secret, job_id, lo, hi, round, v.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = self < peer ? v[i] + pad[i] : v[i] - pad[i];
  }
  return v;
}

std::vector<unsigned __int128> PadCipher::mask128(long self, const std::string& job_id, const std::string& tag,
                                                  std::vector<unsigned __int128> v) const {
  for (auto& [peer, secret] : impl_->secrets) {
    long lo = std::min(self, peer), hi = std::max(self, peer);
    auto pad = pad_stream(secret, job_id, lo, hi, tag, 2 * v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      unsigned __int128 q = (static_cast<unsigned __int128>(pad[2 * i + 1]) << 64) | pad[2 * i];
      v[i] = self < peer ? v[i] + q : v[i] - q;
    }
  }
  return v;
}

unsigned __int128 to_fixed128(double x, const std::string& what) {
  double s = std::nearbyint(std::ldexp(x, 40));
  if (!(std::fabs(s) < 0x1p120))
    throw failed("secure aggregation: " + what + ": value " + std::to_string(x) + " is too large to aggregate");
  // |s| < 2^120: split into 2^60-sized halves to convert exactly.
  bool neg = s < 0;
  double a = std::fabs(s);
  double hi = std::floor(std::ldexp(a, -60)), lo = a - std::ldexp(hi, 60);
  unsigned __int128 u = (static_cast<unsigned __int128>(static_cast<uint64_t>(hi)) << 60) + static_cast<uint64_t>(lo);
  return neg ? ~u + 1 : u;
}

double from_fixed128(unsigned __int128 v) {
  bool neg = static_cast<__int128>(v) < 0;
  unsigned __int128 a = neg ? ~v + 1 : v;
  double x = std::ldexp(static_cast<double>(static_cast<uint64_t>(a >> 64)), 64) + static_cast<double>(static_cast<uint64_t>(a));
  x = std::ldexp(x, -40);
  return neg ? -x : x;
}

uint64_t to_fixed(double x) {
  double s = std::nearbyint(std::ldexp(x, 32));
  if (!(std::fabs(s) < 0x1p62)) throw failed("secure aggregation: value " + std::to_string(x) + " is too large to aggregate");
  return static_cast<uint64_t>(static_cast<int64_t>(s));
}

double from_fixed(uint64_t v) { return std::ldexp(static_cast<double>(static_cast<int64_t>(v)), -32); }

}  // namespace fatectl::ml
