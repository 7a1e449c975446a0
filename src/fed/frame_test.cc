// The frame decoder on bytes alone (no socket, no TLS): frames fed whole, one byte at a time or
// in random pieces decode alike; garbage and frames over the limit are refused as soon as their
// header is in, without allocating what the header declares.
#include "frame.h"

#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "../../tests/fed/alloc_probe.h"

using namespace fatectl::fed;
using Event = FrameDecoder::Event;

namespace {

/// A frame as the decoder reports it, payload pieces joined.
struct Decoded {
  FrameHeader h;
  std::string job, name, payload;
  int pieces = 0;
};

/// Feeds `bytes` in pieces of the sizes `cut` returns, collecting whole frames.
template <typename Cut>
std::vector<Decoded> decode(const std::string& bytes, std::uint64_t limit, Cut cut) {
  FrameDecoder dec(limit);
  std::vector<Decoded> out;
  Decoded cur;
  size_t off = 0;
  for (;;) {
    size_t n = std::min(cut(), bytes.size() - off);
    std::string_view in(bytes.data() + off, n);
    off += n;
    for (Event ev; (ev = dec.next(in)) != Event::NeedMore;) {
      if (ev == Event::Header) cur = Decoded{dec.header(), "", "", "", 0};
      else if (ev == Event::Start) { cur.job = dec.job(); cur.name = dec.name(); }
      else if (ev == Event::Payload) { CHECK(!dec.piece().empty()); cur.payload += dec.piece(); cur.pieces++; }
      else out.push_back(cur);
    }
    CHECK(in.empty());
    if (off == bytes.size()) return out;
  }
}

std::string frame(FrameType t, std::uint8_t flags, std::uint64_t seq, std::uint64_t total, const std::string& job,
                  const std::string& name, const std::string& payload) {
  FrameHeader h;
  h.type = t;
  h.flags = flags;
  h.sender = 9999;
  h.receiver = -10000;
  h.seq = seq;
  h.total = total;
  return encode_frame(h, job, name, payload.data(), payload.size());
}

std::string stream() {
  std::string s;
  s += frame(FrameType::Hello, 0, 0, 0xfeedfacecafebeefull, "job-1", "", "");
  s += frame(FrameType::Data, kFrameFirst, 1, 70000, "job-1", "epoch0/batch0/fw", std::string(40000, 'a'));
  s += frame(FrameType::Data, kFrameLast, 2, 70000, "job-1", "epoch0/batch0/fw", std::string(30000, 'b'));
  s += frame(FrameType::Data, kFrameFirst | kFrameLast, 3, 0, "job-1", "empty", "");
  s += frame(FrameType::Ack, 0, 3, 0, "job-1", "", "");
  s += frame(FrameType::Error, 0, 0, 0, "", "", "refused: reasons");
  return s;
}

void check_same(const std::vector<Decoded>& a, const std::vector<Decoded>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].h.type == b[i].h.type);
    CHECK(a[i].h.flags == b[i].h.flags);
    CHECK(a[i].h.sender == b[i].h.sender);
    CHECK(a[i].h.receiver == b[i].h.receiver);
    CHECK(a[i].h.seq == b[i].h.seq);
    CHECK(a[i].h.total == b[i].h.total);
    CHECK(a[i].job == b[i].job);
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].payload == b[i].payload);
  }
}

}  // namespace

TEST_CASE("frames decode the same fed whole, one byte at a time, or in random pieces") {
  const std::string s = stream();
  auto whole = decode(s, 1 << 20, [&] { return s.size(); });
  REQUIRE(whole.size() == 6);
  CHECK(whole[0].h.type == FrameType::Hello);
  CHECK(whole[0].h.total == 0xfeedfacecafebeefull);
  CHECK(whole[0].job == "job-1");
  CHECK(whole[1].h.type == FrameType::Data);
  CHECK(whole[1].h.flags == kFrameFirst);
  CHECK(whole[1].h.receiver == -10000);
  CHECK(whole[1].name == "epoch0/batch0/fw");
  CHECK(whole[1].payload == std::string(40000, 'a'));
  CHECK(whole[1].pieces == 1);
  CHECK(whole[2].payload == std::string(30000, 'b'));
  CHECK(whole[3].payload.empty());
  CHECK(whole[3].pieces == 0);
  CHECK(whole[4].h.type == FrameType::Ack);
  CHECK(whole[4].h.seq == 3);
  CHECK(whole[5].h.type == FrameType::Error);
  CHECK(whole[5].payload == "refused: reasons");

  auto bytewise = decode(s, 1 << 20, [] { return size_t(1); });
  check_same(whole, bytewise);
  CHECK(bytewise[1].pieces == 40000);

  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::uniform_int_distribution<size_t> d(1, 1 + (size_t(1) << (round % 17)));
    check_same(whole, decode(s, 1 << 20, [&] { return d(rng); }));
  }
}

TEST_CASE("wanted() never reaches past the current frame") {
  const std::string s = stream();
  FrameDecoder dec(1 << 20);
  size_t off = 0, frames = 0;
  while (off < s.size()) {
    std::string_view in(s.data() + off, std::min(dec.wanted(), s.size() - off));
    off += in.size();
    for (Event ev; (ev = dec.next(in)) != Event::NeedMore;)
      if (ev == Event::End) ++frames;
    CHECK(in.empty());
    CHECK(dec.wanted() > 0);
  }
  CHECK(frames == 6);
}

TEST_CASE("garbage is refused at the header") {
  FrameDecoder dec(1 << 20);
  std::string bad = frame(FrameType::Ack, 0, 1, 0, "j", "", "");
  bad[0] = 'X';
  std::string_view in(bad);
  try {
    dec.next(in);
    FAIL("garbage accepted");
  } catch (const FrameError& e) {
    CHECK(e.kind == FrameError::Kind::BadMagic);
  }
}

TEST_CASE("a header declaring a huge frame is refused before anything of that size is allocated") {
  FrameHeader h;
  h.type = FrameType::Data;
  h.flags = kFrameFirst;
  h.seq = 1;
  h.total = ~0ull;             // a message of 16 EiB
  h.payload_len = 0xffffffffu;  // and a 4 GiB chunk of it
  h.job_len = 0xffff;
  h.name_len = 0xffff;
  char hb[kFrameHeaderBytes];
  encode_header(h, hb);
  std::string bytes(hb, sizeof hb);
  bytes += std::string(1000, 'z');  // what follows the header does not matter

  fatectl::fed::testutil::AllocationProbe probe;
  FrameDecoder dec(16 << 20);
  std::string_view in(bytes);
  size_t fed = 0;
  try {
    for (;;) {  // one byte at a time: refused as soon as the 48th byte is in
      std::string_view one = in.substr(fed, 1);
      ++fed;
      while (dec.next(one) != Event::NeedMore) {
      }
    }
  } catch (const FrameError& e) {
    CHECK(e.kind == FrameError::Kind::TooLarge);
    CHECK(e.declared == kFrameHeaderBytes + 2 * 0xffffull + 0xffffffffull);
  }
  CHECK(fed == kFrameHeaderBytes);
  CHECK(probe.largest() < 4096);
}

TEST_CASE("job id and name grow as their bytes arrive, and the payload is never buffered") {
  // A frame within the limit that declares 2 × 64 KiB of job id and name and 8 MiB of payload,
  // of which only the first bytes arrive: nothing near those sizes is allocated.
  FrameHeader h;
  h.type = FrameType::Data;
  h.job_len = 0xffff;
  h.name_len = 0xffff;
  h.payload_len = 8u << 20;
  char hb[kFrameHeaderBytes];
  encode_header(h, hb);
  std::string bytes(hb, sizeof hb);
  bytes += std::string(100, 'j');

  fatectl::fed::testutil::AllocationProbe probe;
  FrameDecoder dec(16 << 20);
  std::string_view in(bytes);
  CHECK(dec.next(in) == Event::Header);
  CHECK(dec.next(in) == Event::NeedMore);
  CHECK(dec.wanted() == 2 * 0xffff - 100);
  CHECK(probe.largest() < 4096);
}
