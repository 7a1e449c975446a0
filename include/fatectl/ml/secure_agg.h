#pragma once
// Secure aggregation for homo LR (FATE's pairwise-cancelling pads): every pair of clients
// agrees on a secret by X25519 (OpenSSL), expands it per round with HKDF-SHA-256 into a
// ChaCha20 key, and adds (+pad if its id is smaller than the peer's, else −pad) to its
// fixed-point vector mod 2^64. The arbiter's sum cancels every pad.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fatectl::ml {

/// One client's X25519 key pair and the secrets it shares with its peers.
class PadCipher {
 public:
  PadCipher();  ///< generates a fresh X25519 key pair (OpenSSL)
  ~PadCipher();
  PadCipher(const PadCipher&) = delete;
  PadCipher& operator=(const PadCipher&) = delete;
  std::string public_key() const;  ///< 32 raw bytes
  /// Derives the shared secret with `peer` (its 32-byte public key); throws Failed on bad keys.
  void add_peer(long peer, const std::string& peer_public_key);
  /// v + Σ_peers ±pad(peer, round) mod 2^64, for party `self` (the pads cancel in the sum).
  std::vector<uint64_t> mask(long self, const std::string& job_id, long round, std::vector<uint64_t> v) const;
  /// The same in 128-bit arithmetic for sums of statistics, with pads from the stream of `tag`
  /// (info ".../<lo>-<hi>/<tag>", two 64-bit words per value, low word first).
  std::vector<unsigned __int128> mask128(long self, const std::string& job_id, const std::string& tag,
                                         std::vector<unsigned __int128> v) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The pad stream of one pair for one round: HKDF-SHA-256(secret, salt = job id,
/// info = "fatectl/homo-lr/pad/<lo>-<hi>/<round>") → 32-byte key → ChaCha20 keystream (zero
/// nonce), read as little-endian u64.
std::vector<uint64_t> pad_stream(const std::string& secret, const std::string& job_id, long lo, long hi, long round,
                                 size_t count);

/// The same stream for a tag other than a round number (info ".../<lo>-<hi>/<tag>").
std::vector<uint64_t> pad_stream(const std::string& secret, const std::string& job_id, long lo, long hi,
                                 const std::string& tag, size_t count);

/// Fixed-point for aggregation: round(x·2^32) as two's complement u64, and back.
uint64_t to_fixed(double x);
double from_fixed(uint64_t v);
/// Fixed-point for statistics: round(x·2^40) as two's complement u128 (|x| < 2^80), and back.
unsigned __int128 to_fixed128(double x, const std::string& what);
double from_fixed128(unsigned __int128 v);

}  // namespace fatectl::ml
