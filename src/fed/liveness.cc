// Liveness of one peer: the verdict from what was heard and what connection attempts showed (see
// liveness.h for the rule).
#include "liveness.h"

#include <ctime>

namespace fatectl::fed {

using std::chrono::milliseconds;

void PeerLiveness::heard(Clock::time_point now) {
  ever_heard = true;
  last_heard = now;
  attempts = 0;
  trouble_since = first_hop_down_at = next_report = Clock::time_point{};
  last_reached_first_hop = false;
  last_error.clear();
}

void PeerLiveness::attempt_failed(bool reached_first_hop, const std::string& error, Clock::time_point now) {
  if (attempts++ == 0) trouble_since = now;
  if (!reached_first_hop) first_hop_down_at = now;
  last_reached_first_hop = reached_first_hop;
  last_error = error;
  if (!reached_first_hop) route_failing_since = Clock::time_point{};  // an outage, not a wrong route
  else if (route_failing_since == Clock::time_point{}) route_failing_since = now;
}

void PeerLiveness::route_ok() { route_failing_since = Clock::time_point{}; }

bool PeerLiveness::misrouted(Clock::time_point now, milliseconds connect_timeout, milliseconds peer_dead_timeout) const {
  if (finished || !ever_heard || route_failing_since == Clock::time_point{}) return false;
  return now - route_failing_since >= connect_timeout && last_heard > route_failing_since &&
         now - last_heard < peer_dead_timeout;
}

PeerLiveness::State PeerLiveness::state(Clock::time_point now, milliseconds peer_dead_timeout) const {
  if (finished) return State::Finished;
  if (!ever_heard) return State::NotUpYet;
  if (attempts == 0) return State::Alive;
  const bool silent_long = now - last_heard >= peer_dead_timeout;
  const bool first_hop_answered_throughout =
      first_hop_down_at == Clock::time_point{} || now - first_hop_down_at >= peer_dead_timeout;
  if (silent_long && first_hop_answered_throughout && last_reached_first_hop) return State::Dead;
  return last_reached_first_hop ? State::Silent : State::Outage;
}

milliseconds PeerLiveness::trouble_for(Clock::time_point now) const {
  if (attempts == 0) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(now - trouble_since);
}

bool PeerLiveness::report_due(Clock::time_point now, milliseconds first, milliseconds every) {
  if (attempts == 0) return false;
  if (next_report == Clock::time_point{}) next_report = trouble_since + first;
  if (now < next_report) return false;
  while (next_report <= now) next_report += every;
  return true;
}

std::string human_duration(milliseconds d) {
  long long s = d.count() / 1000;
  if (s < 1) return std::to_string(d.count()) + " ms";
  if (s < 120) return std::to_string(s) + " s";
  long long m = s / 60;
  if (m < 120) return std::to_string(m) + " min";
  return std::to_string(m / 60) + " h " + std::to_string(m % 60) + " min";
}

std::string wall_time_of(Clock::time_point t) {
  auto wall = std::chrono::system_clock::now() +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(t - Clock::now());
  std::time_t tt = std::chrono::system_clock::to_time_t(wall);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace fatectl::fed
