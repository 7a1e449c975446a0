// Real TLS on loopback: frames between 2 and 3 parties, refused certificates, the frame size
// limit, and a connection cut mid-stream that loses and duplicates nothing.
#include "fatectl/fed/tls_channel.h"

#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <thread>

#include "../../tests/fed/alloc_probe.h"
#include "../../tests/fed/fed_test_util.h"
#include "fatectl/core/error.h"
#include "fatectl/fed/program.h"

using namespace fatectl;
using namespace fatectl::fed;
using namespace fatectl::fed::testutil;
using namespace std::chrono_literals;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("two parties exchange frames in order, both ways, over mutual TLS") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  TlsChannel a(options(9999, t.path, {9999, 10000}));
  TlsChannel b(options(10000, t.path, {9999, 10000}));
  mesh({&a, &b});
  for (int i = 0; i < 50; ++i) a.send(10000, "step", "a" + std::to_string(i));
  b.send(9999, "reply", "");
  a.send(10000, "other", std::string(3 << 20, 'x'));  // several chunks
  for (int i = 0; i < 50; ++i) CHECK(b.recv(9999, "step", 10s) == "a" + std::to_string(i));
  CHECK(a.recv(10000, "reply", 10s).empty());
  CHECK(b.recv(9999, "other", 10s) == std::string(3 << 20, 'x'));
  a.send(9999, "self", "loop");  // to oneself: delivered locally
  CHECK(a.recv(9999, "self", 1s) == "loop");
  a.flush(10s);
  auto sa = a.stats();
  auto sb = b.stats();
  CHECK(sa.frames_sent == sb.frames_received);
  CHECK(sa.frames_resent == 0);
  CHECK(sb.duplicates_dropped == 0);
  CHECK(a.refusals().empty());
  CHECK(b.refusals().empty());
  // nothing more is waiting
  CHECK_THROWS_AS(b.recv(9999, "step", 200ms), Error);
}

TEST_CASE("three parties, each sending to both others at once") {
  TempDir t;
  std::vector<long> ids = {9999, 10000, 10001};
  make_pki(t.path, ids);
  std::vector<std::unique_ptr<TlsChannel>> ch;
  for (long id : ids) ch.push_back(std::make_unique<TlsChannel>(options(id, t.path, ids)));
  mesh({ch[0].get(), ch[1].get(), ch[2].get()});
  std::vector<std::thread> th;
  std::vector<std::string> errors(3);
  for (int i = 0; i < 3; ++i) {
    th.emplace_back([&, i] {
      try {
        for (int k = 0; k < 20; ++k)
          for (int j = 0; j < 3; ++j)
            if (j != i) ch[i]->send(ids[j], "m", std::to_string(ids[i]) + ":" + std::to_string(k) + std::string(k * 1000, 'p'));
        for (int j = 0; j < 3; ++j) {
          if (j == i) continue;
          for (int k = 0; k < 20; ++k) {
            std::string got = ch[i]->recv(ids[j], "m", 20s);
            std::string want = std::to_string(ids[j]) + ":" + std::to_string(k) + std::string(k * 1000, 'p');
            if (got != want) throw failed("party " + std::to_string(ids[i]) + " got the wrong message " + std::to_string(k));
          }
        }
        ch[i]->flush(20s);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& x : th) x.join();
  for (auto& e : errors) CHECK(e == "");
}

TEST_CASE("a peer with a certificate from another CA is refused, with a clear message") {
  TempDir t;
  make_pki(t.sub("good"), {9999, 10000});
  make_pki(t.sub("evil"), {9999, 10000});
  SUBCASE("the listener's certificate is not from our CA") {
    auto bo = options(10000, t.sub("evil"), {9999, 10000});
    TlsChannel b(bo);
    auto ao = options(9999, t.sub("good"), {9999, 10000});
    TlsChannel a(ao);
    a.set_route(10000, direct(10000, b.listen_port()));
    a.send(10000, "x", "secret");
    std::string err = error_of([&] { a.flush(10s); });
    CHECK(err.find("not trusted by the federation CA") != std::string::npos);
    CHECK(err.find("party 10000") != std::string::npos);
    CHECK_THROWS_AS(b.recv(9999, "x", 200ms), Error);
  }
  SUBCASE("the connecting party's certificate is not from the listener's CA") {
    TlsChannel b(options(10000, t.sub("good"), {9999, 10000}));
    // a trusts b (b's cert is from "good", so give a the good CA to verify with)
    auto ao = options(9999, t.sub("evil"), {9999, 10000});
    ao.ca_file = CertDir{t.sub("good")}.ca_cert();
    TlsChannel a2(ao);
    a2.set_route(10000, direct(10000, b.listen_port()));
    a2.send(10000, "x", "secret");
    std::string err = error_of([&] { a2.flush(10s); });
    CHECK(err.find("refused this party's certificate") != std::string::npos);
    CHECK_THROWS_AS(b.recv(9999, "x", 200ms), Error);
    auto r = b.refusals();
    REQUIRE(r.size() >= 1);
    CHECK(r[0].find("refused a connection") != std::string::npos);
  }
}

TEST_CASE("the peer must be the party the route names") {
  TempDir t;
  std::vector<long> ids = {9999, 10000, 10001};
  make_pki(t.path, ids);
  TlsChannel a(options(9999, t.path, ids));
  TlsChannel c(options(10001, t.path, ids));  // a valid party, but not 10000
  a.set_route(10000, direct(10000, c.listen_port()));
  a.send(10000, "x", "for 10000 only");
  std::string err = error_of([&] { a.flush(10s); });
  CHECK(err.find("presented a certificate for '10001.fate.org', not 10000.fate.org") != std::string::npos);
  CHECK_THROWS_AS(c.recv(9999, "x", 200ms), Error);
  // waiting for the refused peer's answer fails at once with the reason, not after the timeout
  auto t0 = std::chrono::steady_clock::now();
  CHECK(error_of([&] { a.recv(10000, "answer", 60s); }).find("presented a certificate") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
}

TEST_CASE("a certificate that is not this party's own name is rejected at start") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  auto o = options(9999, t.path, {9999, 10000});
  o.cert_file = CertDir{t.path}.party_cert(10000);
  o.key_file = CertDir{t.path}.party_key(10000);
  std::string err = error_of([&] { TlsChannel a(o); });
  CHECK(err.find("not 9999.fate.org") != std::string::npos);
}

TEST_CASE("a frame over the receiver's size limit is refused") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  auto bo = options(10000, t.path, {9999, 10000});
  bo.transport.max_frame_bytes = 64 << 10;
  TlsChannel b(bo);
  auto ao = options(9999, t.path, {9999, 10000});
  ao.transport.chunk_bytes = 256 << 10;
  TlsChannel a(ao);
  mesh({&a, &b});
  a.send(10000, "small", "fits");
  CHECK(b.recv(9999, "small", 10s) == "fits");
  // the refusal may surface in send() (its second frame) or in flush(), depending on timing
  std::string err = error_of([&] {
    a.send(10000, "big", std::string(300 << 10, 'b'));
    a.flush(10s);
  });
  CHECK(err.find("refused a frame of") != std::string::npos);
  CHECK(err.find("over its limit of 65536 bytes") != std::string::npos);
  CHECK_THROWS_AS(b.recv(9999, "big", 300ms), Error);
  // and the sender's own message limit
  auto co = options(9999, t.path, {9999, 10000});
  co.transport.max_message_bytes = 1000;
  TlsChannel c(co);
  CHECK(error_of([&] { c.send(10000, "huge", std::string(1001, 'h')); }).find("over the limit of 1000") != std::string::npos);
}

TEST_CASE("a message's declared size is checked against the receiver's limit and not allocated before its bytes arrive") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  auto bo = options(10000, t.path, {9999, 10000});
  bo.transport.max_message_bytes = 3ull << 30;
  TlsChannel b(bo);
  TlsChannel a(options(9999, t.path, {9999, 10000}));  // its own limit: the default 4 GiB
  mesh({&a, &b});
  // Over the receiver's limit: refused on the first frame, whatever arrives after it.
  std::string err = error_of([&] {
    a.send_stream(10000, "over", (3ull << 30) + 1, [](char* dst, size_t n) { std::memset(dst, 'o', n); });
    a.flush(10s);
  });
  CHECK(err.find("sent a message of 3221225473 bytes, over this party's limit of 3221225472 (transport.maxMessageBytes)") !=
        std::string::npos);
  // Within the limit, a first frame that declares 3 GiB and brings 1 MiB (the sender stops
  // there): the receiver holds what arrived, not what was declared.
  TlsChannel c(options(9999, t.path, {9999, 10000}));
  c.set_route(10000, direct(10000, b.listen_port()));
  fatectl::fed::testutil::AllocationProbe probe;
  int fills = 0;
  CHECK_THROWS(c.send_stream(10000, "declared", 3ull << 30, [&](char* dst, size_t n) {
    if (fills++ > 0) throw std::runtime_error("the sender stops after one frame");
    std::memset(dst, 'd', n);
  }));
  for (int i = 0; i < 200 && b.stats().frames_received < 1; ++i) std::this_thread::sleep_for(50ms);
  CHECK(b.stats().frames_received == 1);
  CHECK(error_of([&] { b.recv(9999, "declared", 100ms); }).find("(1048576 of 3221225472 bytes arrived)") != std::string::npos);
  CHECK(probe.largest() < (64u << 20));
}

TEST_CASE("connections cut mid-stream reconnect and lose or duplicate nothing") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  auto bo = options(10000, t.path, {9999, 10000});
  TlsChannel b(bo);
  // The relay cuts the 1st connection after 3 MiB and the 2nd after 5 MiB from the sender.
  Relay relay(b.listen_port(), {3u << 20, 5u << 20});
  auto ao = options(9999, t.path, {9999, 10000});
  ao.transport.chunk_bytes = 256 << 10;
  ao.transport.window_bytes = 2 << 20;
  TlsChannel a(ao);
  a.set_route(10000, direct(10000, relay.port()));
  b.set_route(9999, direct(9999, a.listen_port()));

  const std::uint64_t total = 14u << 20;
  std::string sent_hash, recv_hash;
  std::uint64_t got = 0;
  std::string recv_error;
  std::vector<std::string> small;
  std::thread receiver([&] {
    try {
      recv_hash = recv_hashed_stream(b, 9999, "vector", 30s, got);
      for (int i = 0; i < 200; ++i) small.push_back(b.recv(9999, "after", 30s));
    } catch (const std::exception& e) {
      recv_error = e.what();
    }
  });
  sent_hash = send_hashed_stream(a, 10000, "vector", total, 42);
  for (int i = 0; i < 200; ++i) a.send(10000, "after", std::to_string(i));
  a.flush(30s);
  receiver.join();
  REQUIRE(recv_error == "");
  CHECK(got == total);
  CHECK(recv_hash == sent_hash);
  REQUIRE(small.size() == 200);
  for (int i = 0; i < 200; ++i) CHECK(small[i] == std::to_string(i));
  CHECK_THROWS_AS(b.recv(9999, "after", 200ms), Error);  // no duplicate delivered
  auto sa = a.stats();
  auto sb = b.stats();
  CHECK(relay.cuts() == 2);
  CHECK(sa.reconnects == 2);
  CHECK(sb.frames_received == sa.frames_sent);  // every frame applied exactly once
  CHECK(sa.frames_sent == 14 * 4 + 200);
  MESSAGE("resent " << sa.frames_resent << " frames, receiver dropped " << sb.duplicates_dropped << " duplicates");
}

TEST_CASE("a peer that never comes up is reported after the connect timeout") {
  TempDir t;
  make_pki(t.path, {9999, 10000});
  auto ao = options(9999, t.path, {9999, 10000});
  ao.transport.connect_timeout = 1s;
  TlsChannel a(ao);
  a.set_route(10000, direct(10000, 1));  // nothing listens on port 1
  a.send(10000, "x", "y");
  std::string err = error_of([&] { a.flush(10s); });
  CHECK(err.find("cannot reach party 10000") != std::string::npos);
}
