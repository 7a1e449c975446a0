#pragma once
// Test support: the largest single heap allocation since a probe started, so a test can show
// that code did not allocate a buffer sized by untrusted input. The global operator new that
// feeds it lives in src/fed/alloc_probe_test.cc (linked into fatectl_fed_tests only).
#include <cstddef>

namespace fatectl::fed::testutil {

/// Records the largest allocation made (by any thread) while it is alive.
class AllocationProbe {
 public:
  AllocationProbe();
  ~AllocationProbe();
  AllocationProbe(const AllocationProbe&) = delete;
  AllocationProbe& operator=(const AllocationProbe&) = delete;
  std::size_t largest() const;  ///< bytes of the largest single allocation so far
};

}  // namespace fatectl::fed::testutil
