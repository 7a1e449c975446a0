#pragma once
// Liveness of one peer of a supervised channel, free of sockets: when the peer was last heard from,
// what the connection attempts towards it showed since, and the verdict drawn from that.
//
// The rule (docs/job-file.md, "Failures"): a party is heard from when bytes arrive from it on any
// connection (heartbeats, data, acknowledgements) or a TLS session with it completes. An attempt to
// connect that fails either did not reach the first hop of the route (no TCP connection to the
// Exchange, or to the peer's address on a direct route) or reached it and got no TLS session with
// the peer (the Exchange closed the tunnel, the peer's host refused or the handshake went silent).
// A peer is
//   - not up yet     while it was never heard from (bounded by connectTimeout, as before);
//   - in an outage   while the latest attempt did not reach the first hop: ridden out until the
//                    job's deadline;
//   - dead           once it was heard from before, has been silent for peerDeadTimeout, and every
//                    attempt during those peerDeadTimeout reached the first hop (an outage restarts
//                    the count);
//   - finished       once it said goodbye (never dead).
// Apart from the verdict: a peer that is alive (heard from after this party's attempts to reach it
// began failing) while every attempt that reached the first hop has failed for connectTimeout is
// unreachable by a wrong route (a misrouted Exchange): waiting cannot help, the job fails.
#include <chrono>
#include <string>

namespace fatectl::fed {

using Clock = std::chrono::steady_clock;

/// What this party knows about one peer's liveness (the channel's lock guards it).
struct PeerLiveness {
  /// The verdict.
  enum class State { NotUpYet, Alive, Outage, Silent, Dead, Finished };

  bool ever_heard = false;
  bool finished = false;
  Clock::time_point last_heard{};
  std::string step;  ///< the peer's step as its last heartbeat said

  // the failed attempts since the peer was last heard
  int attempts = 0;
  Clock::time_point trouble_since{};     ///< first failed attempt of the run
  Clock::time_point first_hop_down_at{}; ///< latest attempt of the run whose first hop did not answer
  bool last_reached_first_hop = false;
  std::string last_error;
  Clock::time_point next_report{};
  /// first attempt that reached the first hop and failed since this party last had a session with
  /// the peer over its own route (hearing the peer on its connections does not reset it)
  Clock::time_point route_failing_since{};

  /// Bytes or a session from the peer: ends a run of failed attempts.
  void heard(Clock::time_point now);
  /// A failed connection attempt (`reached_first_hop`: see the file comment).
  void attempt_failed(bool reached_first_hop, const std::string& error, Clock::time_point now);
  State state(Clock::time_point now, std::chrono::milliseconds peer_dead_timeout) const;
  /// A TLS session with the peer over this party's own route: the route works.
  void route_ok();
  /// Whether the route to the peer is wrong: it is alive (heard since the failing attempts began and
  /// within `peer_dead_timeout`) and the attempts that reached the first hop failed for `connect_timeout`.
  bool misrouted(Clock::time_point now, std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds peer_dead_timeout) const;
  /// How long the current run of failed attempts has lasted (0 when none).
  std::chrono::milliseconds trouble_for(Clock::time_point now) const;
  /// Whether to print a progress line about the current run of failures now: the first once it has
  /// lasted `first`, then every `every`.
  bool report_due(Clock::time_point now, std::chrono::milliseconds first, std::chrono::milliseconds every);
};

/// "45 s", "4 min", "2 h 5 min": a duration for progress lines.
std::string human_duration(std::chrono::milliseconds d);
/// "2025-03-01 14:03:12 UTC": the wall-clock time at which `t` (steady clock) falls.
std::string wall_time_of(Clock::time_point t);

}  // namespace fatectl::fed
