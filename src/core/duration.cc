#include "fatectl/core/duration.h"

#include <string>

#include "fatectl/core/error.h"

namespace fatectl {

std::chrono::milliseconds parse_duration(std::string_view s, std::string_view what) {
  const std::string pre = what.empty() ? std::string() : std::string(what) + ": ";
  auto bad = [&] {
    return invalid(pre + "'" + std::string(s.substr(0, 64)) + (s.size() > 64 ? "..." : "") +
                   "' is not a duration (e.g. 72h, 30m, 10s, 500ms, 1h30m)");
  };
  const long long max_ms = kMaxDuration.count();
  auto too_long = [&] {
    return invalid(pre + "'" + std::string(s.substr(0, 64)) + (s.size() > 64 ? "..." : "") +
                   "' is longer than 365d, the longest duration fatectl accepts");
  };
  if (s.empty()) throw bad();
  long long total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    long long v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (v > max_ms) throw too_long();  // already longer than any unit allows; stop before overflow
      v = v * 10 + (s[i++] - '0');
    }
    if (i == start) throw bad();
    size_t u = i;
    while (i < s.size() && (s[i] < '0' || s[i] > '9')) ++i;
    std::string_view unit = s.substr(u, i - u);
    long long mul;
    if (unit.empty() || unit == "s") mul = 1000;
    else if (unit == "ms") mul = 1;
    else if (unit == "m") mul = 60'000;
    else if (unit == "h") mul = 3'600'000;
    else if (unit == "d") mul = 86'400'000;
    else
      throw invalid(pre + "'" + std::string(s.substr(0, 64)) + "': unknown duration unit '" + std::string(unit.substr(0, 16)) +
                    "' (use ms, s, m, h or d)");
    if (unit.empty() && i != s.size()) throw bad();
    if (v > max_ms / mul) throw too_long();
    total += v * mul;  // both terms ≤ max_ms: no overflow
    if (total > max_ms) throw too_long();
  }
  return std::chrono::milliseconds(total);
}

}  // namespace fatectl
