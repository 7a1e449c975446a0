#pragma once
// OpenSSL's error queue as one line, for messages of rooms that speak TLS themselves (ops'
// toy --native, federation's diagnose). Header-only: core does not link OpenSSL, those rooms do.
#include <openssl/err.h>

#include <string>

namespace fatectl {

/// Drains OpenSSL's error queue: "error:0A000086:SSL routines::certificate verify failed; ..."
/// ("" when it is empty).
inline std::string ssl_error_queue() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char b[256];
    ERR_error_string_n(e, b, sizeof b);
    if (!out.empty()) out += "; ";
    out += b;
  }
  return out;
}

}  // namespace fatectl
