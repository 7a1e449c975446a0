#pragma once
// Small OpenSSL helpers private to fed/: owning pointers and the error queue as text.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace fatectl::fed::ossl {

template <typename T, void (*F)(T*)> struct Deleter {
  void operator()(T* p) const { F(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509p = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using SslCtx = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;

/// Drains OpenSSL's error queue into one line ("" when empty).
inline std::string errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed" -> keep the reason after the last ':'
    std::string s(buf);
    auto p = s.rfind(':');
    std::string reason = p == std::string::npos ? s : s.substr(p + 1);
    if (out.find(reason) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out;
}

/// The subject's commonName of a certificate ("" when none).
inline std::string common_name(X509* cert) {
  if (!cert) return "";
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return n > 0 ? std::string(buf, n) : "";
}

}  // namespace fatectl::fed::ossl
