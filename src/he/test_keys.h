#pragma once
// Test-only: small Paillier key pairs, generated once per size per test binary (key generation
// is the slow part of the he/ml unit tests). Sizes below 2048 bits need allow_insecure.
#include <map>
#include <mutex>

#include "fatectl/he/paillier.h"

namespace fatectl::he::testing {

/// The key pair of `bits` bits shared by every test in this binary.
inline const KeyPair& test_keys(unsigned bits) {
  static std::mutex mu;
  static std::map<unsigned, KeyPair> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(bits);
  if (it == cache.end()) {
    KeyOptions o;
    o.bits = bits;
    o.allow_insecure = true;
    it = cache.emplace(bits, KeyPair::generate(o)).first;
  }
  return it->second;
}

}  // namespace fatectl::he::testing
