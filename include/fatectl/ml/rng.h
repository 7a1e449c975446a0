#pragma once
// The trainer's documented, reproducible pseudo-random generator: SplitMix64 streams named by a
// tag, so C++ and the Python reference (tests/ml/reference.py) draw exactly the same numbers.
// Used for weight initialisation, batch shuffling and decoy selection only; never for keys,
// masks or anything secret (those come from OpenSSL).
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace fatectl::ml {

/// FNV-1a 64-bit hash of a tag string (offset 0xcbf29ce484222325, prime 0x100000001b3).
inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// SplitMix64 (Steele, Lea, Flood 2014) started at state = seed XOR fnv1a64(tag).
///   next(): state += 0x9e3779b97f4a7c15; z = state;
///           z = (z ^ z>>30) * 0xbf58476d1ce4e5b9; z = (z ^ z>>27) * 0x94d049bb133111eb;
///           return z ^ z>>31
///   uniform(): (next() >> 11) * 2^-53, in [0, 1)
///   normal():  Box–Muller, sqrt(-2 ln(1 - u1)) * cos(2π u2), one value per two draws
///   shuffle(): Fisher–Yates from the end, j = next() mod (i + 1)
class Rng {
 public:
  Rng(uint64_t seed, std::string_view tag) : state_(seed ^ fnv1a64(tag)) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {
    double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * M_PI * u2);
  }
  template <typename T> void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(next() % i);
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  uint64_t state_;
};

}  // namespace fatectl::ml
