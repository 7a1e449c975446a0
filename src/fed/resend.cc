// Retransmission state: the sender's queue of unacknowledged frames (see resend.h).
#include "resend.h"

namespace fatectl::fed {

void SendQueue::push(std::string frame, std::uint64_t payload) {
  bytes += frame.size();
  q.push_back(OutFrame{next_seq, std::move(frame), payload});
  next_seq++;
}

void SendQueue::ack_up_to(std::uint64_t seq) {
  while (!q.empty() && q.front().seq <= seq) {
    bytes -= q.front().bytes.size();
    q.pop_front();
  }
  if (seq > acked) acked = seq;
}

}  // namespace fatectl::fed
