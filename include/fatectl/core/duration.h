#pragma once
// Durations typed by operators (timeouts in flags and job files), parsed with checked arithmetic
// and bounded, so that every deadline computed from one (now + duration) is representable.
#include <chrono>
#include <string_view>

namespace fatectl {

/// The longest duration fatectl accepts anywhere (docs/limits.md): 365 days. Every parsed
/// duration is at most this, so now() + duration never overflows a clock.
inline constexpr std::chrono::milliseconds kMaxDuration = std::chrono::hours(24 * 365);

/// "500ms", "10s", "30m", "72h", "2d", compounds like "1h30m", or a bare number of seconds
/// ("3600"). Throws Invalid ("WHAT: 'x' is not a duration ..." or "... is longer than 365d");
/// `what` names the flag (e.g. "--timeout"), or is empty when the caller adds a location.
std::chrono::milliseconds parse_duration(std::string_view s, std::string_view what = "");

}  // namespace fatectl
