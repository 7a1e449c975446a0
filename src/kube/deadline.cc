#include "fatectl/kube/deadline.h"

#include <cstdint>
#include <mutex>

#include "fatectl/core/error.h"

namespace fatectl::kube {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kMaxNs = Deadline::kMaxBudget.count() * kNsPerMs;  // 2.6e15: far from int64's end

// The text as it may appear in a message: printable ASCII, at most 40 characters.
std::string shown(const std::string& t) {
  std::string o;
  for (unsigned char ch : t) {
    if (o.size() >= 40) return o + "...";
    o += (ch >= 0x20 && ch < 0x7f) ? static_cast<char>(ch) : '?';
  }
  return o;
}

// Nanoseconds of one unit, and how many bytes the unit name takes; 0 when none matches.
int64_t unit_ns(const std::string& t, size_t at, size_t& len) {
  struct U {
    const char* name;
    int64_t ns;
  };
  // longest names first: "ms" before "m", "ns"/"us" before nothing
  static const U units[] = {{"ns", 1},          {"us", 1000},          {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
                            {"ms", kNsPerMs},   {"s", 1000 * kNsPerMs}, {"m", 60'000 * kNsPerMs},
                            {"h", 3'600'000 * kNsPerMs}};
  for (const auto& u : units) {
    std::string n = u.name;
    if (t.compare(at, n.size(), n) == 0) {
      len = n.size();
      return u.ns;
    }
  }
  len = 0;
  return 0;
}

std::mutex g_default_mu;
Deadline& process_default_ref() {
  static Deadline d;
  return d;
}

}  // namespace

Deadline::Ms Deadline::parse(const std::string& text, const std::string& flag) {
  const std::string hint = " (examples: 30s, 2m, 1h30m, 500ms; a bare number is seconds, 0 = no limit)";
  auto bad = [&](const std::string& why) { return invalid(flag + ": '" + shown(text) + "' " + why + hint); };
  auto too_long = [&] {
    return invalid(flag + ": '" + shown(text) + "' is longer than " + describe(kMaxBudget) +
                   ", the most fatectl accepts");
  };
  if (text.empty()) throw bad("is not a duration");
  if (text.size() > 64) throw bad("is not a duration");
  size_t i = 0;
  if (text[0] == '-') throw bad("is negative");
  if (text[0] == '+') i = 1;
  bool all_digits = i < text.size();
  for (size_t k = i; k < text.size(); ++k)
    if (text[k] < '0' || text[k] > '9') all_digits = false;
  int64_t total = 0;  // nanoseconds, kept <= kMaxNs
  if (all_digits) {   // kubectl: a bare integer is seconds
    for (size_t k = i; k < text.size(); ++k) {
      total = total * 10 + (text[k] - '0');
      if (total > kMaxNs / (1000 * kNsPerMs)) throw too_long();
    }
    return Ms(total * 1000);
  }
  if (i >= text.size()) throw bad("is not a duration");
  while (i < text.size()) {
    int64_t whole = 0;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      whole = whole * 10 + (text[i] - '0');
      digits = true;
      if (whole > kMaxNs) throw too_long();
      ++i;
    }
    int64_t frac = 0, scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (scale < 1'000'000'000) {  // digits beyond nanoseconds change nothing
          frac = frac * 10 + (text[i] - '0');
          scale *= 10;
        }
        digits = true;
        ++i;
      }
    }
    if (!digits) throw bad("is not a duration");
    size_t len = 0;
    int64_t u = unit_ns(text, i, len);
    if (u == 0) throw bad(i < text.size() ? "has an unknown unit (use ns, us, ms, s, m or h)" : "needs a unit after the number");
    i += len;
    if (whole > kMaxNs / u) throw too_long();
    // frac * u could overflow for hours: split u by the scale (both products stay below 1e18)
    int64_t frac_ns = (u / scale) * frac + ((u % scale) * frac) / scale;
    int64_t add = whole * u + frac_ns;
    if (add > kMaxNs - total) throw too_long();
    total += add;
  }
  if (total > kMaxNs) throw too_long();
  int64_t ms = total / kNsPerMs + (total % kNsPerMs != 0 ? 1 : 0);  // a positive sub-millisecond rounds up
  return Ms(ms);
}

Deadline Deadline::from_request_timeout(const std::string& text) {
  Deadline d;
  if (text.empty()) return d;
  Ms v = parse(text, "--request-timeout");
  d.per_request_ = v;
  d.request_flag_ = v.count() == 0 ? "" : "--request-timeout " + shown(text);
  return d;
}

Deadline Deadline::for_command(Ms budget, const std::string& flag) const {
  if (budget.count() <= 0) throw invalid(flag + ": the timeout must be longer than 0");
  if (budget > kMaxBudget)
    throw invalid(flag + ": longer than " + describe(kMaxBudget) + ", the most fatectl accepts");
  Deadline d = *this;
  d.has_end_ = true;
  d.end_ = Clock::now() + budget;
  d.end_flag_ = flag;
  return d;
}

long long Deadline::Window::left_ms() const {
  if (!bounded()) return kMaxBudget.count();
  auto now = Clock::now();
  if (end <= now) return 0;
  return std::chrono::duration_cast<Ms>(end - now).count();
}

Deadline::Window Deadline::request(bool grace) const {
  Window w;
  auto now = Clock::now();
  if (per_request_.count() > 0) {
    w.end = now + per_request_;
    w.flag = request_flag_;
  }
  if (has_end_) {
    Clock::time_point e = grace ? end_ + kGrace : end_;
    if (e < w.end) {
      w.end = e;
      w.flag = end_flag_;
    }
  }
  if (w.bounded()) w.total = w.end > now ? std::chrono::duration_cast<Ms>(w.end - now) : Ms(0);
  return w;
}

Deadline::Window Deadline::stream(Ms own, const std::string& own_flag) const {
  Window w;
  auto now = Clock::now();
  if (own.count() > 0) {
    w.end = now + std::min(own, kMaxBudget);
    w.flag = own_flag;
  }
  if (has_end_ && end_ < w.end) {
    w.end = end_;
    w.flag = end_flag_;
  }
  if (w.bounded()) w.total = w.end > now ? std::chrono::duration_cast<Ms>(w.end - now) : Ms(0);
  return w;
}

Deadline::Ms Deadline::command_left() const {
  if (!has_end_) return kMaxBudget;
  auto now = Clock::now();
  return end_ <= now ? Ms(0) : std::chrono::duration_cast<Ms>(end_ - now);
}

void Deadline::set_process_default(const Deadline& d) {
  std::lock_guard<std::mutex> l(g_default_mu);
  process_default_ref() = d;
}

Deadline Deadline::process_default() {
  std::lock_guard<std::mutex> l(g_default_mu);
  return process_default_ref();
}

void Deadline::limit_command(Ms budget, const std::string& flag) {
  std::lock_guard<std::mutex> l(g_default_mu);
  process_default_ref() = process_default_ref().for_command(budget, flag);
}

std::string Deadline::describe(Ms d) {
  long long ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  long long s = ms / 1000;
  if (s < 60) {
    long long tenths = (ms % 1000) / 100;
    return std::to_string(s) + (tenths ? "." + std::to_string(tenths) : "") + " s";
  }
  long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  std::string o;
  if (h) o += std::to_string(h) + " h";
  if (m) o += (o.empty() ? "" : " ") + std::to_string(m) + " min";
  if (sec) o += (o.empty() ? "" : " ") + std::to_string(sec) + " s";
  return o;
}

}  // namespace fatectl::kube
