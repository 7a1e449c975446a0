#pragma once
// The two primitives of ECDH PSI on Curve25519 (docs/psi.md has the exact definitions):
//   hash_to_curve: an id (bytes) and a salt → the u-coordinate of a point of Curve25519 (never
//                  the twist), by SHA-512 try-and-increment with a Legendre-symbol test;
//   Blinder:       X25519 with a secret scalar (OpenSSL), applied to many u-coordinates at once.
// Blinding commutes: X25519(a, X25519(b, u)) = X25519(b, X25519(a, u)).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fatectl {
class ThreadPool;
}

namespace fatectl::psi {

/// A 32-byte little-endian u-coordinate (or X25519 output).
using Point = std::array<uint8_t, 32>;
constexpr size_t kPointBytes = 32;

/// The domain-separation prefix of the id hash (docs/psi.md).
constexpr std::string_view kHashDomain = "fatectl-psi-ecdh-v1";

/// u = H(salt, id): SHA-512(domain ‖ 0x00 ‖ be32(|salt|) ‖ salt ‖ be32(|id|) ‖ id ‖ be32(ctr)) read
/// little-endian mod p, for ctr = 0, 1, … until u³ + 486662u² + u is a nonzero square mod p and u
/// is not the u-coordinate of a point of order 1, 2, 4 or 8. Canonical encoding (u < p).
/// Throws Failed after 256 rejected counters (probability 2^-256).
Point hash_to_curve(std::string_view salt, std::string_view id);

/// hash_to_curve for ids[begin..end) into out[begin..end) (32 bytes each), split over `pool`.
void hash_to_curve(std::string_view salt, const std::string* ids, size_t n, uint8_t* out, ThreadPool& pool);

/// A secret X25519 scalar held by OpenSSL (fresh per intersection; never written anywhere except
/// in a debug transcript, see docs/psi.md).
class Blinder {
 public:
  Blinder();                                   ///< 32 random bytes from OpenSSL
  explicit Blinder(const std::array<uint8_t, 32>& secret);  ///< tests and transcripts
  ~Blinder();
  Blinder(const Blinder&) = delete;
  Blinder& operator=(const Blinder&) = delete;
  std::array<uint8_t, 32> secret() const;
  /// out[i] = X25519(secret, in[i]) for n 32-byte values (in and out may be the same buffer),
  /// split over `pool`. A value of small order (X25519 gives zero) throws Failed with `what`.
  void blind(const uint8_t* in, uint8_t* out, size_t n, ThreadPool& pool, const std::string& what) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Single-thread X25519 operations per second of OpenSSL on this machine, measured for about
/// `seconds` of thread CPU time (what `openssl speed ecdhx25519` measures).
double openssl_x25519_rate(double seconds);

}  // namespace fatectl::psi
