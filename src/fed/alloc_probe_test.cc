// Test support for fatectl_fed_tests: a global operator new that reports the largest allocation
// to an AllocationProbe (tests/fed/alloc_probe.h), and a test that the probe sees allocations.
#include "../../tests/fed/alloc_probe.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

namespace {
std::atomic<bool> g_on{false};
std::atomic<std::size_t> g_largest{0};

void* allocate(std::size_t n) {
  if (g_on.load(std::memory_order_relaxed)) {
    std::size_t cur = g_largest.load(std::memory_order_relaxed);
    while (n > cur && !g_largest.compare_exchange_weak(cur, n)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace fatectl::fed::testutil {

AllocationProbe::AllocationProbe() {
  g_largest = 0;
  g_on = true;
}
AllocationProbe::~AllocationProbe() { g_on = false; }
std::size_t AllocationProbe::largest() const { return g_largest.load(); }

}  // namespace fatectl::fed::testutil

TEST_CASE("the allocation probe sees the largest allocation") {
  fatectl::fed::testutil::AllocationProbe probe;
  std::string s(3 << 20, 'x');
  CHECK(probe.largest() >= (3u << 20));
  CHECK(s.size() == (3u << 20));
}
