#include "fatectl/core/duration.h"

#include <doctest/doctest.h>

#include "fatectl/core/error.h"

using namespace fatectl;
using namespace std::chrono;

TEST_CASE("durations: units, compounds, bare seconds") {
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("90") == seconds(90));
  CHECK(parse_duration("1h30m") == minutes(90));
  CHECK(parse_duration("1h30") == seconds(3630));
  CHECK(parse_duration("2d") == hours(48));
  CHECK(parse_duration("365d") == kMaxDuration);
}

TEST_CASE("every duration fits: now() + 365 days is far inside steady_clock's range") {
  CHECK(duration_cast<nanoseconds>(kMaxDuration).count() < nanoseconds::max().count() / 100);
}

TEST_CASE("durations past 365 days are refused before anything can overflow") {
  CHECK_THROWS_WITH_AS(parse_duration("366d"), "'366d' is longer than 365d, the longest duration fatectl accepts", Error);
  CHECK_THROWS_WITH_AS(parse_duration("99999999999999999999h", "--timeout"),
                       "--timeout: '99999999999999999999h' is longer than 365d, the longest duration fatectl accepts",
                       Error);
  CHECK_THROWS_AS(parse_duration("200d200d"), Error);  // each part fits, the sum does not
  CHECK_THROWS_AS(parse_duration(std::string(5000, '9') + "ms"), Error);
  CHECK_THROWS_WITH_AS(parse_duration("10x"), "'10x': unknown duration unit 'x' (use ms, s, m, h or d)", Error);
  CHECK_THROWS_AS(parse_duration(""), Error);
  CHECK_THROWS_AS(parse_duration("h"), Error);
  CHECK_THROWS_AS(parse_duration("10 s"), Error);
  CHECK(parse_duration("5s10") == seconds(15));  // a bare number at the end counts seconds
}
