// Kubernetes quantities: every suffix, fractions, exponents, rounding up, and what is refused.
#include <doctest/doctest.h>

#include "fatectl/plan/quantity.h"

using namespace fatectl::plan;

TEST_CASE("CPU quantities in millicores") {
  CHECK(parse_milli("4") == 4000);
  CHECK(parse_milli("500m") == 500);
  CHECK(parse_milli("0.5") == 500);
  CHECK(parse_milli("1.5") == 1500);
  CHECK(parse_milli("2e3") == 2000000);
  CHECK(parse_milli("100u") == 1);  // rounded up, as MilliValue() does
  CHECK(parse_milli("0") == 0);
  CHECK(parse_milli("+3") == 3000);
  CHECK(format_cpu(4000) == "4");
  CHECK(format_cpu(2500) == "2500m");
}

TEST_CASE("memory and storage quantities in bytes") {
  CHECK(parse_units("8Gi") == 8589934592LL);
  CHECK(parse_units("8G") == 8000000000LL);
  CHECK(parse_units("1.5Gi") == 1610612736LL);
  CHECK(parse_units("16331904Ki") == 16331904LL * 1024);
  CHECK(parse_units("1k") == 1000);
  CHECK(parse_units("128974848000m") == 128974848);
  CHECK(parse_units("1m") == 1);  // rounded up
  CHECK(parse_units("1E") == 1000000000000000000LL);
  CHECK(parse_units("7Ei") == 7LL << 60);
  CHECK(format_bytes(8589934592LL) == "8Gi");
  CHECK(format_bytes(8000000000LL) == "8G");
  CHECK(format_bytes(1536LL << 20) == "1536Mi");
  CHECK(format_bytes(1234) == "1234");
  CHECK(format_bytes(0) == "0");
}

TEST_CASE("what is not a quantity, or does not fit") {
  for (const char* bad : {"", "-1", "lots", "1.2.3", "Gi", "4 Gi", "4gi", "1e", "1e+", "1e1000", "1x", ".", "8Ei",
                          "99999999999999999999999999999999999999", "1e99"})
    CHECK_MESSAGE(!parse_units(bad), bad);
  CHECK(!parse_milli("9223372036854775807"));  // x1000 overflows
  CHECK(parse_units("9223372036854775807") == 9223372036854775807LL);
  CHECK(!parse_units(std::string(65, '1')));
}

TEST_CASE("resource names decide the unit") {
  CHECK(is_cpu("cpu"));
  CHECK(is_cpu("requests.cpu"));
  CHECK(is_cpu("limits.cpu"));
  CHECK(!is_cpu("memory"));
  CHECK(format_resource("requests.memory", 1LL << 30) == "1Gi");
  CHECK(format_resource("limits.cpu", 500) == "500m");
  CHECK(format_resource("pods", 110) == "110");
  CHECK(parse_resource("pods", "110") == 110);
}

TEST_CASE("saturating sums") {
  CHECK(add_sat(INT64_MAX, 1) == INT64_MAX);
  CHECK(mul_sat(INT64_MAX / 2, 3) == INT64_MAX);
  CHECK(add_sat(2, 3) == 5);
}

TEST_CASE("any bytes: parsed or refused, never more than 63 bits") {
  const std::string alphabet = "0123456789.+-eEKMGTPinumk \x01\xff";
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift: the same strings every run
    std::string s;
    for (size_t n = x % 24; n > 0; --n) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      s += alphabet[x % alphabet.size()];
    }
    auto a = parse_units(s), b = parse_milli(s);
    if (a) CHECK(*a >= 0);
    if (b) CHECK(*b >= 0);
    if (a && b && *a < INT64_MAX / 1000) CHECK(*b <= *a * 1000);
  }
}
