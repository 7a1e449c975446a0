#include "fatectl/core/thread_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

TEST_CASE("parallel_for covers every index exactly once, repeatedly") {
  fatectl::ThreadPool pool(3);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(hits.size(), [&](size_t b, size_t e, unsigned w) {
      CHECK(w < pool.size());
      for (size_t i = b; i < e; ++i) hits[i]++;
    });
    for (auto& h : hits) REQUIRE(h.load() == 1);
  }
}

TEST_CASE("parallel_for rethrows the first exception") {
  fatectl::ThreadPool pool(2);
  CHECK_THROWS_AS(pool.parallel_for(100, [](size_t b, size_t, unsigned) {
    if (b == 0) throw std::runtime_error("boom");
  }), std::runtime_error);
  int n = 0;
  pool.parallel_for(1, [&](size_t, size_t, unsigned) { ++n; });
  CHECK(n == 1);
}
