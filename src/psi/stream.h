#pragma once
// What every method's wire protocol shares (psi.cc): the hello each side sends first, and long
// lists of fixed-width values cut into messages of Settings::chunk values ("<name>/<k>").
// Nothing is allocated from a peer's declared count: lists grow as their bytes arrive.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fatectl/psi/psi.h"

namespace fatectl::psi::detail {

/// The first message of each side: protocol, method, a digest of the salt, id count, chunk size.
struct Hello {
  std::string method;
  uint64_t count = 0;
  uint64_t chunk = 0;
};
void send_hello(Link& l, const std::string& method, const Settings& s, uint64_t count);
/// Receives the peer's hello; Invalid when its method or salt differs, Failed when malformed.
Hello recv_hello(Link& l, const std::string& method, const Settings& s);

/// Sends n values of `width` bytes as messages name/0, name/1, … of up to `chunk` values.
void send_values(Link& l, const std::string& name, const uint8_t* data, size_t n, size_t width, size_t chunk);
/// Receives `count` values of `width` bytes sent by send_values with `chunk`; calls
/// fn(first index, bytes, number of values) per message as it arrives.
void recv_values(Link& l, const std::string& name, uint64_t count, uint64_t chunk, size_t width,
                 const std::function<void(size_t, const uint8_t*, size_t)>& fn);

/// A uniformly random permutation of 0..n−1 from OpenSSL's generator (hosts shuffle their lists
/// so that positions say nothing about their row order).
std::vector<size_t> secret_permutation(size_t n);

/// For each value of `mine`, the position of an equal value in `theirs` (−1 if none); values are
/// 32 bytes.
std::vector<int64_t> match_values(const std::vector<uint8_t>& mine, const std::vector<uint8_t>& theirs);

/// Lowercase hex.
std::string hex(const uint8_t* data, size_t n);

// The registered methods (one file each).
const Method& ecdh_method();  // ecdh.cc
const Method& raw_method();   // raw.cc

}  // namespace fatectl::psi::detail
