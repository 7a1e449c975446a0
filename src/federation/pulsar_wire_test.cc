#include "fatectl/federation/pulsar_wire.h"

#include <doctest/doctest.h>

#include <random>

#include "fatectl/core/error.h"

using namespace fatectl::federation::pulsar;

namespace {

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

// CONNECTED as a broker sends it: server_version "2.10", protocol_version 14, max_message_size 4 MiB.
std::string connected_frame() {
  std::string sub = std::string("\x0a\x04", 2) + "2.10" + std::string("\x10\x0e", 2) + std::string("\x18\x80\x80\x80\x02", 5);
  std::string cmd = std::string("\x08\x03", 2) + "\x1a" + std::string(1, char(sub.size())) + sub;
  std::string f(8, '\0');
  uint32_t total = uint32_t(cmd.size() + 4), size = uint32_t(cmd.size());
  for (int i = 0; i < 4; ++i) {
    f[i] = char(total >> (24 - 8 * i));
    f[4 + i] = char(size >> (24 - 8 * i));
  }
  return f + cmd;
}

}  // namespace

TEST_CASE("frames carry their sizes and the command type") {
  std::string p = ping_frame();
  CHECK(be32(p, 0) == p.size() - 4);
  CHECK(be32(p, 4) == p.size() - 8);
  Decoder d;
  d.feed(p);
  d.feed(pong_frame());
  auto a = d.next(), b = d.next();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->type == kPing);
  CHECK(b->type == kPong);
  CHECK_FALSE(d.next());
}

TEST_CASE("CONNECT carries the requested payload and reads back") {
  std::string c = connect_frame("fatectl-probe", 100000);
  CHECK(c.size() > 100000);
  CHECK(c.size() < 100100);
  Decoder d(1u << 20);
  d.feed(c);
  auto x = d.next();
  REQUIRE(x);
  CHECK(x->type == kConnect);
  CHECK(x->frame_bytes == c.size());
}

TEST_CASE("CONNECTED: server version, protocol and the broker's message limit") {
  Decoder d;
  std::string f = connected_frame();
  // fed byte by byte: nothing until the frame is complete
  for (size_t i = 0; i + 1 < f.size(); ++i) {
    d.feed(f.substr(i, 1));
    CHECK_FALSE(d.next());
  }
  d.feed(f.substr(f.size() - 1));
  auto x = d.next();
  REQUIRE(x);
  CHECK(x->type == kConnected);
  CHECK(x->server_version == "2.10");
  CHECK(x->protocol_version == 14);
  CHECK(x->max_message_size == (4 << 20));
}

TEST_CASE("frames above the bound and malformed commands are refused, never allocated") {
  Decoder d(1024);
  std::string big = "\x7f\xff\xff\xff" + std::string(4, '\0');
  CHECK_THROWS_AS(d.feed(big), fatectl::Error);
  Decoder e;
  // total 6, command size 2 claiming a length-delimited field longer than the frame
  e.feed(std::string("\x00\x00\x00\x06\x00\x00\x00\x02\x12\x7f", 10));
  CHECK_THROWS_AS(e.next(), fatectl::Error);
  Decoder g;
  g.feed(std::string("\x00\x00\x00\x02\x00\x00\x00\x00", 8));  // total smaller than its header
  CHECK_THROWS_AS(g.next(), fatectl::Error);
}

TEST_CASE("random bytes never crash the decoder") {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string s(size_t(rng() % 64), '\0');
    for (auto& ch : s) ch = char(rng());
    if (round % 2 && s.size() >= 8) s[0] = s[1] = 0;  // plausible sizes half of the time
    Decoder d(4096);
    try {
      d.feed(s);
      while (d.next()) {
      }
    } catch (const fatectl::Error&) {
    }
  }
  CHECK(true);
}
