// Retransmission state without sockets: message assembly (grows with what arrives), the sender's
// queue (window, cumulative acks, where to resume, lost frames) and the receiver's duplicate/gap
// check.
#include "resend.h"

#include <doctest/doctest.h>

#include "../../tests/fed/alloc_probe.h"

using namespace fatectl::fed;

TEST_CASE("the send queue numbers frames, keeps them until acknowledged and says where to resume") {
  SendQueue q;
  CHECK(q.fits(1000, 10));  // an empty queue always takes one frame
  q.push(std::string(100, 'a'), 90);
  q.push(std::string(100, 'b'), 90);
  q.push(std::string(100, 'c'), 90);
  CHECK(q.next_seq == 4);
  CHECK(q.bytes == 300);
  CHECK(!q.fits(1, 300));
  CHECK(q.fits(100, 400));
  CHECK(q.resume_from() == 1);
  REQUIRE(q.find(2));
  CHECK(q.find(2)->bytes == std::string(100, 'b'));
  CHECK(!q.find(4));
  q.ack_up_to(2);
  CHECK(q.acked == 2);
  CHECK(q.bytes == 100);
  CHECK(q.resume_from() == 3);
  CHECK(!q.find(2));
  CHECK(!q.lost(2));  // the receiver has everything before frame 3
  CHECK(q.lost(0));   // a receiver that restarted lost frames 1..2
  q.ack_up_to(1);     // an old acknowledgement changes nothing
  CHECK(q.acked == 2);
  q.ack_up_to(3);
  CHECK(q.empty());
  CHECK(q.resume_from() == 4);
  CHECK(!q.lost(0));
}

TEST_CASE("the receiver applies the next frame, drops duplicates and refuses gaps") {
  InState s;
  s.applied = 5;
  CHECK(s.classify(6) == InState::Seq::Next);
  CHECK(s.classify(5) == InState::Seq::Duplicate);
  CHECK(s.classify(1) == InState::Seq::Duplicate);
  CHECK(s.classify(7) == InState::Seq::Gap);
}

TEST_CASE("a message holds the bytes that arrive, not the size its first frame declares") {
  std::string piece(16384, 'p');
  Incoming m;
  m.total = 3ull << 30;  // declared: 3 GiB
  FramePayload f;
  std::uint64_t frame = 1 << 20;  // the frame declares 1 MiB of it
  fatectl::fed::testutil::AllocationProbe probe;
  f.append(std::string_view(piece).substr(0, 10), frame);
  CHECK(probe.largest() <= kBlockBytes + 1);  // + the terminating NUL
  std::uint64_t left = frame - 10;
  while (left > 0) {
    size_t n = (size_t)std::min<std::uint64_t>(left, piece.size());
    f.append(std::string_view(piece).substr(0, n), left);
    left -= n;
  }
  CHECK(f.size == frame);
  m.add(std::move(f));
  CHECK(m.received == frame);
  CHECK(f.size == 0);
  CHECK(probe.largest() <= kBlockBytes + 1);  // + the terminating NUL
  for (const std::string& b : m.blocks) CHECK(b.capacity() <= kBlockBytes);
  std::string all = m.take_all();
  CHECK(all == std::string(frame, 'p'));
  CHECK(m.blocks.empty());
}

TEST_CASE("a small message is one block, moved out whole") {
  Incoming m;
  m.total = 100;
  FramePayload f;
  f.append(std::string(60, 'h'), 100);
  f.append(std::string(40, 'i'), 40);
  REQUIRE(f.blocks.size() == 1);
  const char* where = f.blocks.front().data();
  m.add(std::move(f));
  std::string all = m.take_all();
  CHECK(all == std::string(60, 'h') + std::string(40, 'i'));
  CHECK(all.data() == where);  // no copy
}

TEST_CASE("frames of a message join in order") {
  Incoming m;
  m.total = 200000;
  for (char c : {'a', 'b', 'c'}) {
    FramePayload f;
    std::string chunk(c == 'c' ? 0 : 100000, c);
    for (size_t off = 0; off < chunk.size(); off += 7000)
      f.append(std::string_view(chunk).substr(off, 7000), chunk.size() - off);
    m.add(std::move(f));
  }
  CHECK(m.received == 200000);
  CHECK(m.take_all() == std::string(100000, 'a') + std::string(100000, 'b'));
}
