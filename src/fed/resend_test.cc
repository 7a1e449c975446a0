// Retransmission state without sockets: the sender's queue (window, cumulative acks, where to
// resume, lost frames) and the receiver's duplicate/gap check.
#include "resend.h"

#include <doctest/doctest.h>

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
