// The liveness rule: outage vs dead peer, from what was heard and what attempts showed.
#include "liveness.h"

#include <doctest/doctest.h>

using namespace fatectl::fed;
using namespace std::chrono_literals;
using State = PeerLiveness::State;

TEST_CASE("a peer never heard from is not up yet, whatever the attempts say") {
  PeerLiveness p;
  auto t0 = Clock::now();
  CHECK(p.state(t0, 10s) == State::NotUpYet);
  p.attempt_failed(true, "closed", t0);
  CHECK(p.state(t0 + 1h, 10s) == State::NotUpYet);
}

TEST_CASE("silent while the first hop answers every attempt for peerDeadTimeout: dead") {
  PeerLiveness p;
  auto t0 = Clock::now();
  p.heard(t0);
  CHECK(p.state(t0 + 1h, 10s) == State::Alive);  // no failed attempt: nothing to judge
  p.attempt_failed(true, "TLS handshake: connection closed by the peer", t0 + 1s);
  CHECK(p.state(t0 + 5s, 10s) == State::Silent);
  p.attempt_failed(true, "TLS handshake: timed out", t0 + 9s);
  CHECK(p.state(t0 + 9s, 10s) == State::Silent);
  CHECK(p.state(t0 + 10s, 10s) == State::Dead);
  // one answer ends it
  p.heard(t0 + 11s);
  CHECK(p.state(t0 + 30s, 10s) == State::Alive);
}

TEST_CASE("an outage of the first hop is ridden out and restarts the count") {
  PeerLiveness p;
  auto t0 = Clock::now();
  p.heard(t0);
  for (int s = 1; s <= 300; s += 2) p.attempt_failed(false, "connect: Connection refused", t0 + std::chrono::seconds(s));
  CHECK(p.state(t0 + 301s, 10s) == State::Outage);
  // the Exchange is back (the last refusal was at 299 s) but the peer does not answer: dead only
  // a full peerDeadTimeout after the last attempt that could not reach the Exchange
  p.attempt_failed(true, "closed", t0 + 302s);
  CHECK(p.state(t0 + 305s, 10s) == State::Silent);
  p.attempt_failed(true, "closed", t0 + 308s);
  CHECK(p.state(t0 + 308s, 10s) == State::Silent);
  p.attempt_failed(true, "closed", t0 + 309s);
  CHECK(p.state(t0 + 309s, 10s) == State::Dead);
  // the latest attempt could not reach the first hop: an outage again, not dead
  p.attempt_failed(false, "connect: timed out", t0 + 312s);
  CHECK(p.state(t0 + 312s, 10s) == State::Outage);
}

TEST_CASE("alive on its own connections but unreachable past the first hop for connectTimeout: misrouted") {
  PeerLiveness p;
  auto t0 = Clock::now();
  p.heard(t0);
  p.attempt_failed(true, "TLS handshake: unexpected eof", t0 + 1s);
  p.heard(t0 + 2s);  // its heartbeats keep arriving on the connections it opens
  CHECK(p.state(t0 + 2s, 10s) == State::Alive);
  p.attempt_failed(true, "TLS handshake: unexpected eof", t0 + 3s);
  CHECK_FALSE(p.misrouted(t0 + 3s, 3s, 10s));
  p.heard(t0 + 4s);
  p.attempt_failed(true, "TLS handshake: unexpected eof", t0 + 4500ms);
  CHECK(p.misrouted(t0 + 4500ms, 3s, 10s));
  // a session over this party's own route: the route works
  p.route_ok();
  CHECK_FALSE(p.misrouted(t0 + 5s, 3s, 10s));
}

TEST_CASE("not misrouted: silent since the attempts began, an outage of the first hop, or gone quiet") {
  auto t0 = Clock::now();
  PeerLiveness dead;  // not heard since the attempts began: the liveness rule decides
  dead.heard(t0);
  for (int s = 1; s <= 9; ++s) dead.attempt_failed(true, "closed", t0 + std::chrono::seconds(s));
  CHECK_FALSE(dead.misrouted(t0 + 9s, 3s, 10s));
  PeerLiveness outage;  // the first hop down restarts the count
  outage.heard(t0);
  outage.attempt_failed(true, "closed", t0 + 1s);
  outage.attempt_failed(false, "connect: refused", t0 + 2s);
  outage.heard(t0 + 3s);
  outage.attempt_failed(true, "closed", t0 + 4s);
  outage.heard(t0 + 5s);
  CHECK_FALSE(outage.misrouted(t0 + 5s, 3s, 10s));
  CHECK(outage.misrouted(t0 + 7s, 3s, 10s));
  CHECK_FALSE(outage.misrouted(t0 + 15s, 3s, 10s));  // silent for peerDeadTimeout since: not "alive"
}

TEST_CASE("a party that said goodbye is never dead") {
  PeerLiveness p;
  auto t0 = Clock::now();
  p.heard(t0);
  p.finished = true;
  p.attempt_failed(true, "refused", t0 + 1s);
  CHECK(p.state(t0 + 1h, 10s) == State::Finished);
}

TEST_CASE("progress lines: the first when the trouble lasted connectTimeout, then one a minute") {
  PeerLiveness p;
  auto t0 = Clock::now();
  p.heard(t0);
  CHECK_FALSE(p.report_due(t0, 2min, 1min));
  p.attempt_failed(false, "refused", t0);
  CHECK_FALSE(p.report_due(t0 + 119s, 2min, 1min));
  CHECK(p.report_due(t0 + 120s, 2min, 1min));
  CHECK_FALSE(p.report_due(t0 + 150s, 2min, 1min));
  CHECK(p.report_due(t0 + 181s, 2min, 1min));
  CHECK(p.report_due(t0 + 600s, 2min, 1min));  // after a gap: one line, not a burst
  CHECK_FALSE(p.report_due(t0 + 601s, 2min, 1min));
  CHECK(p.trouble_for(t0 + 240s) == 240s);
}

TEST_CASE("durations and times for people") {
  CHECK(human_duration(500ms) == "500 ms");
  CHECK(human_duration(45s) == "45 s");
  CHECK(human_duration(4min) == "4 min");
  CHECK(human_duration(125min) == "2 h 5 min");
  CHECK(wall_time_of(Clock::now()).find(" UTC") != std::string::npos);
}
