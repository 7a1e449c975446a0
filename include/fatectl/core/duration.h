#pragma once
// Durations typed by operators (timeouts in flags and job files) with checked arithmetic, and
// deadlines that saturate instead of wrapping.
#include <chrono>
#include <string_view>

namespace fatectl {

/// The longest duration fatectl accepts anywhere (docs/limits.md): 365 days. Every parsed
/// duration is at most this, so now() + duration never overflows a clock.
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 365);

/// "500ms", "10s", "30m", "72h", "2d", compounds like "1h30m", or a bare number of seconds
/// ("3600"). Throws Invalid ("'x' is not a duration ..." or "... is longer than 365d"); the
/// caller adds where the value came from.
std::chrono::milliseconds parse_duration(std::string_view s);

/// steady_clock::now() + d; past the clock's range it saturates at time_point::max().
std::chrono::steady_clock::time_point deadline_after(std::chrono::nanoseconds d);

}  // namespace fatectl
