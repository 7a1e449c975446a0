#pragma once
// The one deadline of a command that talks to the API server: `--timeout` bounds the whole
// command (where the command has it), `--request-timeout` bounds each request with its retries
// and Retry-After waits. Every kube::Client carries one; connect, TLS, every request, every retry
// and every exec end by it.
#include <chrono>
#include <string>

namespace fatectl::kube {

/// A command's time limits (see the file comment). Values are checked: a non-positive or absurd
/// budget is a usage error (exit 2) naming the flag. Copyable; the CLI sets the process default
/// once (set_process_default) and every Client made afterwards carries a copy.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  using Ms = std::chrono::milliseconds;

  /// kube-apiserver's own default request timeout; what a request may take when nothing else is said.
  static constexpr Ms kDefaultRequestTimeout{60'000};
  /// The longest budget fatectl accepts for --timeout or --request-timeout (30 days).
  static constexpr Ms kMaxBudget{30LL * 24 * 3600 * 1000};
  /// How long requests that record or explain a failure may run past the command's deadline.
  static constexpr Ms kGrace{5'000};

  /// No command deadline; each request bounded by kDefaultRequestTimeout.
  Deadline() = default;

  /// Parses a duration in kubectl's --request-timeout format: a bare integer is seconds, else Go
  /// durations ("500ms", "30s", "2m", "1h30m", "1.5h"); "0" = no limit. Throws Invalid naming
  /// `flag` for anything else, negative values, or more than kMaxBudget.
  static Ms parse(const std::string& text, const std::string& flag);
  /// The deadline for --request-timeout TEXT ("" = the default, 60s; "0" = requests unbounded).
  static Deadline from_request_timeout(const std::string& text);

  /// This deadline with the whole command limited to `budget` from now; `flag` names it in
  /// messages, e.g. "--timeout 20s". Throws Invalid when budget <= 0 or > kMaxBudget.
  Deadline for_command(Ms budget, const std::string& flag) const;

  /// Where one request starting now must end, and which flag says so.
  struct Window {
    Clock::time_point end = Clock::time_point::max();
    std::string flag;  ///< "--timeout 20s", "--request-timeout 60s", "" when unbounded
    Ms total{0};       ///< end - the time the window was made (for messages)
    bool bounded() const { return end != Clock::time_point::max(); }
    /// Milliseconds left (0 when passed; a large number when unbounded).
    long long left_ms() const;
  };
  /// The window of a request starting now: the earlier of now + per-request limit and the
  /// command's end (plus kGrace when `grace`).
  Window request(bool grace = false) const;
  /// The window of a long stream (exec) limited by `own` (its own timeout) and the command's end.
  Window stream(Ms own, const std::string& own_flag) const;

  bool has_command_end() const { return has_end_; }
  Clock::time_point command_end() const { return has_end_ ? end_ : Clock::time_point::max(); }
  const std::string& command_flag() const { return end_flag_; }
  /// Time left to the command's end (0 when passed; kMaxBudget when there is none).
  Ms command_left() const;

  /// The deadline every Client made from now on carries (set by the CLI for the running command).
  static void set_process_default(const Deadline& d);
  static Deadline process_default();
  /// Limits the process default to `budget` from now (a command's --timeout); see for_command.
  static void limit_command(Ms budget, const std::string& flag);

  /// "20 s", "1.5 s", "2 min 5 s": a duration for messages.
  static std::string describe(Ms d);

 private:
  bool has_end_ = false;
  Clock::time_point end_{};
  std::string end_flag_;
  Ms per_request_ = kDefaultRequestTimeout;  ///< 0 = unbounded
  std::string request_flag_ = "--request-timeout 60s (the default)";
};

}  // namespace fatectl::kube
