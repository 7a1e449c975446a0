#pragma once
// Logging to stderr with a verbosity level, colour control and secret redaction.
#include <fmt/core.h>
#include <string>
#include <string_view>

namespace fatectl::log {

/// Process-wide logging settings, set once by cli/ from -v, -q, --no-color and NO_COLOR.
struct Settings {
  int verbosity = 0;   ///< 0 normal, 1 -v (info), 2 -vv (debug), 3 -vvv (trace: HTTP)
  bool quiet = false;  ///< -q: only errors
  bool color = true;
};
Settings& settings();

/// Registers a secret (token, password, key material) that must never be printed:
/// every log line and error message passed through redact() has it replaced by "***".
void add_secret(std::string_view secret);
/// Forgets every registered secret (for fuzz harnesses that parse millions of credentials).
void clear_secrets();
std::string redact(std::string_view text);

void write(int level, std::string_view prefix, std::string_view message);

template <typename... Args> void error(fmt::format_string<Args...> f, Args&&... a) {
  write(-1, "error", fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args> void warn(fmt::format_string<Args...> f, Args&&... a) {
  write(0, "warning", fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args> void info(fmt::format_string<Args...> f, Args&&... a) {
  write(1, "", fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args> void debug(fmt::format_string<Args...> f, Args&&... a) {
  write(2, "debug", fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args> void trace(fmt::format_string<Args...> f, Args&&... a) {
  write(3, "trace", fmt::format(f, std::forward<Args>(a)...));
}

/// Progress line for long waits: rewritten in place on a terminal, one plain line per change
/// otherwise (or nothing with -q).
void progress(std::string_view line);
void progress_done();
bool stderr_is_terminal();

}  // namespace fatectl::log
