// Supervised channels (TlsOptions::supervise) on loopback, with relays standing in for the
// Exchange: heartbeats keep a quiet peer alive, a goodbye ends waits for it, a peer that stops
// answering while the Exchange answers is declared dead, an Exchange outage longer than
// connectTimeout and peerDeadTimeout is ridden out, a restarted peer is rejoined, aborts arrive,
// and connections cut mid-frame lose and duplicate nothing with heartbeats in between.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "../../tests/fed/fed_test_util.h"
#include "fatectl/core/error.h"
#include "fatectl/fed/tls_channel.h"

using namespace fatectl;
using namespace fatectl::fed;
using namespace fatectl::fed::testutil;
using namespace std::chrono_literals;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, (sockaddr*)&a, sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, (sockaddr*)&a, &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Supervised options: fixed listen port, fast heartbeats, routes given.
TlsOptions sup(long self, const std::string& dir, const std::vector<long>& parties, int port,
               const std::map<long, Route>& routes, std::atomic<int>* events = nullptr) {
  TlsOptions o = options(self, dir, parties);
  o.listen.port = port;
  o.routes = routes;
  o.supervise = true;
  o.deadline = std::chrono::steady_clock::now() + 2min;
  o.step = [] { return std::string("epoch 1"); };
  if (events) o.on_event = [events] { ++*events; };
  o.transport.heartbeat_interval = 100ms;
  o.transport.peer_dead_timeout = 1s;
  o.transport.connect_timeout = 5s;
  o.transport.handshake_timeout = 1s;
  o.transport.close_timeout = 2s;
  return o;
}

Route via_exchange(long party, int port) {
  Route r = direct(party, port);
  r.via = Route::Via::Exchange;
  return r;
}

ErrorKind kind_of(const std::function<void()>& f, std::string* msg = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (msg) *msg = e.what();
    return e.kind();
  }
  return ErrorKind::Failed;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("supervised: heartbeats keep a quiet peer alive; a goodbye ends waits for it") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  int pa = free_port(), pb = free_port();
  TlsChannel a(sup(9999, t.path, {9999, 10000}, pa, {{10000, direct(10000, pb)}}));
  auto b = std::make_unique<TlsChannel>(sup(10000, t.path, {9999, 10000}, pb, {{9999, direct(9999, pa)}}));
  a.send(10000, "m", "x");
  CHECK(b->recv(9999, "m", 5s) == "x");
  std::this_thread::sleep_for(1500ms);  // longer than peerDeadTimeout, no message
  CHECK_FALSE(a.peer_failure());
  CHECK_FALSE(b->peer_failure());
  b->close();
  auto t0 = std::chrono::steady_clock::now();
  std::string msg;
  kind_of([&] { a.recv(10000, "never", 10s); }, &msg);
  CHECK(msg.find("party 10000 finished without sending 'never'") != std::string::npos);
  CHECK(seconds_since(t0) < 3);
  b.reset();
  std::this_thread::sleep_for(1500ms);
  CHECK_FALSE(a.peer_failure());  // a party that said goodbye is not dead
}

TEST_CASE("supervised: a peer that stops answering while the Exchange answers is declared dead") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  int pa = free_port(), pb = free_port();
  Relay ra(pa, {}), rb(pb, {});  // the "Exchange" in front of each party
  std::atomic<int> events{0};
  TlsChannel a(sup(9999, t.path, {9999, 10000}, pa, {{10000, via_exchange(10000, rb.port())}}, &events));
  TlsChannel b(sup(10000, t.path, {9999, 10000}, pb, {{9999, via_exchange(9999, ra.port())}}));
  a.send(10000, "m", "x");
  CHECK(b.recv(9999, "m", 5s) == "x");
  std::this_thread::sleep_for(300ms);  // heartbeats both ways (they carry the step)
  // Party 10000 "dies": the Exchange still answers but closes every tunnel to it, and nothing
  // more comes from it.
  rb.set_mode(Relay::Mode::Close);
  ra.set_mode(Relay::Mode::Close);
  auto t0 = std::chrono::steady_clock::now();
  std::string msg;
  CHECK(kind_of([&] { a.recv(10000, "next", 30s); }, &msg) == ErrorKind::PeerFailed);
  double took = seconds_since(t0);
  CHECK(took >= 0.9);
  CHECK(took < 4);  // peerDeadTimeout (1 s) + the last attempt's handshake timeout + slack
  CHECK(msg.find("party 10000 failed at epoch 1: no sign of life for") != std::string::npos);
  CHECK(msg.find("while the exchange 127.0.0.1:" + std::to_string(rb.port()) + " answered") != std::string::npos);
  auto f = a.peer_failure();
  REQUIRE(f);
  CHECK(f->party == 10000);
  CHECK(f->reported_by == 9999);
  for (int i = 0; i < 50 && events.load() == 0; ++i) std::this_thread::sleep_for(20ms);  // called after the lock
  CHECK(events.load() >= 1);
  MESSAGE("declared dead after " << took << " s: " << msg);
}

TEST_CASE("supervised: an Exchange outage longer than connectTimeout and peerDeadTimeout is ridden out") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  int pa = free_port(), pb = free_port();
  Relay ra(pa, {}), rb(pb, {});
  auto oa = sup(9999, t.path, {9999, 10000}, pa, {{10000, via_exchange(10000, rb.port())}});
  auto ob = sup(10000, t.path, {9999, 10000}, pb, {{9999, via_exchange(9999, ra.port())}});
  oa.transport.connect_timeout = ob.transport.connect_timeout = 500ms;
  TlsChannel a(oa), b(ob);
  a.send(10000, "m", "0");
  CHECK(b.recv(9999, "m", 5s) == "0");
  ra.set_mode(Relay::Mode::Down);
  rb.set_mode(Relay::Mode::Down);
  for (int i = 1; i <= 50; ++i) a.send(10000, "m", std::to_string(i));  // queued during the outage
  std::this_thread::sleep_for(2500ms);  // > connectTimeout and > peerDeadTimeout
  CHECK_FALSE(a.peer_failure());
  CHECK_FALSE(b.peer_failure());
  ra.set_mode(Relay::Mode::Forward);
  rb.set_mode(Relay::Mode::Forward);
  for (int i = 1; i <= 50; ++i) CHECK(b.recv(9999, "m", 10s) == std::to_string(i));
  CHECK(kind_of([&] { b.recv(9999, "m", 300ms); }) == ErrorKind::Timeout);  // nothing twice
  a.flush(10s);
  CHECK(a.stats().reconnects >= 1);
  CHECK(a.stats().frames_sent == b.stats().frames_received);
}

TEST_CASE("supervised: a restarted peer makes calls throw PeerRestarted; after rejoin() its new process gets only new messages") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  int pa = free_port(), pb = free_port();
  Relay ra(pa, {}), rb(pb, {});
  std::atomic<int> events{0};
  auto oa = sup(9999, t.path, {9999, 10000}, pa, {{10000, via_exchange(10000, rb.port())}}, &events);
  oa.transport.peer_dead_timeout = 10s;
  TlsChannel a(oa);
  auto ob = sup(10000, t.path, {9999, 10000}, pb, {{9999, via_exchange(9999, ra.port())}});
  ob.transport.peer_dead_timeout = 10s;
  ob.transport.close_timeout = 300ms;
  auto b = std::make_unique<TlsChannel>(ob);
  a.send(10000, "m", "1");
  CHECK(b->recv(9999, "m", 5s) == "1");
  // Party 10000 crashes: no goodbye gets through.
  rb.set_mode(Relay::Mode::Close);
  ra.set_mode(Relay::Mode::Close);
  a.send(10000, "stale", "for the old process");
  b.reset();
  // ... and comes back as a new process on the same address.
  auto b2 = std::make_unique<TlsChannel>(ob);
  rb.set_mode(Relay::Mode::Forward);
  ra.set_mode(Relay::Mode::Forward);
  bool restarted = false;
  for (int i = 0; i < 100 && !restarted; ++i) {
    try {
      a.send(10000, "probe", "p");
      std::this_thread::sleep_for(100ms);
    } catch (const PeerRestarted& r) {
      restarted = true;
      CHECK(r.party == 10000);
    }
  }
  REQUIRE(restarted);
  CHECK(events.load() >= 1);
  CHECK_THROWS_AS(a.recv(10000, "x", 1s), PeerRestarted);  // until rejoin()
  a.rejoin();
  a.send(10000, "m", "2");
  CHECK(b2->recv(9999, "m", 5s) == "2");
  b2->send(9999, "r", "back");
  CHECK(a.recv(10000, "r", 5s) == "back");
  CHECK(kind_of([&] { b2->recv(9999, "stale", 300ms); }) == ErrorKind::Timeout);
  CHECK(kind_of([&] { b2->recv(9999, "probe", 300ms); }) == ErrorKind::Timeout);
  CHECK_FALSE(a.peer_failure());
}

TEST_CASE("supervised: an abort reaches every peer with the party, the step and the reason") {
  TempDir t;
  std::vector<long> ids = {9999, 10000, 10001};
  make_pki(t.path, ids);
  std::map<long, int> port;
  for (long id : ids) port[id] = free_port();
  auto routes = [&](long self) {
    std::map<long, Route> r;
    for (long id : ids)
      if (id != self) r[id] = direct(id, port[id]);
    return r;
  };
  TlsChannel a(sup(9999, t.path, ids, port[9999], routes(9999)));
  TlsChannel b(sup(10000, t.path, ids, port[10000], routes(10000)));
  TlsChannel c(sup(10001, t.path, ids, port[10001], routes(10001)));
  a.send(10000, "m", "x");
  CHECK(b.recv(9999, "m", 5s) == "x");
  std::thread waiter;
  std::string waited;
  ErrorKind wk = ErrorKind::Failed;
  waiter = std::thread([&] { wk = kind_of([&] { c.recv(10000, "never", 30s); }, &waited); });
  auto t0 = std::chrono::steady_clock::now();
  PeerFailure f;
  f.party = 9999;
  f.step = "epoch 10, batch 3";
  f.reason = "data/host.csv:57:4: x2: not a number: 'abc'";
  a.abort(f, 3s);
  waiter.join();
  CHECK(seconds_since(t0) < 3);
  CHECK(wk == ErrorKind::PeerFailed);
  CHECK(waited == "party 9999 failed at epoch 10, batch 3: data/host.csv:57:4: x2: not a number: 'abc'");
  for (TlsChannel* ch : {&b, &c}) {
    auto g = ch->peer_failure();
    REQUIRE(g);
    CHECK(g->party == 9999);
    CHECK(g->step == "epoch 10, batch 3");
    CHECK(g->reported_by == 9999);
  }
  auto t1 = std::chrono::steady_clock::now();
  a.close();  // after an abort: no flush, no goodbye
  CHECK(seconds_since(t1) < 2);
}

TEST_CASE("supervised: connections cut mid-frame, heartbeats in between, lose or duplicate nothing") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  int pa = free_port(), pb = free_port();
  // Cut points that are not frame boundaries (frames are 256 KiB + header, inside TLS records).
  Relay rb(pb, {(3u << 20) + 777, (5u << 20) + 4099});
  auto oa = sup(9999, t.path, {9999, 10000}, pa, {{10000, via_exchange(10000, rb.port())}});
  oa.transport.chunk_bytes = 256 << 10;
  oa.transport.window_bytes = 2 << 20;
  oa.transport.peer_dead_timeout = 10s;
  auto ob = sup(10000, t.path, {9999, 10000}, pb, {{9999, direct(9999, pa)}});
  ob.transport.peer_dead_timeout = 10s;
  TlsChannel b(ob);  // listening before the relay's first connection
  TlsChannel a(oa);
  const std::uint64_t total = 14u << 20;
  std::string sent_hash, recv_hash, recv_error;
  std::thread receiver([&] {
    try {
      std::uint64_t got = 0;
      recv_hash = recv_hashed_stream(b, 9999, "vector", 30s, got);
      if (got != total) recv_error = "short";
      for (int i = 0; i < 100; ++i)
        if (b.recv(9999, "after", 30s) != std::to_string(i)) recv_error = "out of order";
    } catch (const std::exception& e) {
      recv_error = e.what();
    }
  });
  sent_hash = send_hashed_stream(a, 10000, "vector", total, 7);
  for (int i = 0; i < 100; ++i) a.send(10000, "after", std::to_string(i));
  a.flush(30s);
  receiver.join();
  CHECK(recv_error == "");
  CHECK(recv_hash == sent_hash);
  CHECK(kind_of([&] { b.recv(9999, "after", 200ms); }) == ErrorKind::Timeout);  // no duplicate delivered
  CHECK(rb.cuts() == 2);
  CHECK(a.stats().reconnects >= 2);
  CHECK(b.stats().frames_received == a.stats().frames_sent);  // every frame applied exactly once
  CHECK(a.stats().frames_sent == 14 * 4 + 100);
  CHECK_FALSE(a.peer_failure());
}
