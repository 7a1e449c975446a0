// Retransmission state: message assembly and the sender's queue of unacknowledged frames (see
// resend.h).
#include "resend.h"

#include <algorithm>

namespace fatectl::fed {

void FramePayload::append(std::string_view piece, std::uint64_t left) {
  while (!piece.empty()) {
    if (blocks.empty() || blocks.back().size() == blocks.back().capacity()) {
      blocks.emplace_back();
      blocks.back().reserve((size_t)std::min<std::uint64_t>(kBlockBytes, left));
    }
    std::string& b = blocks.back();
    size_t n = std::min(piece.size(), b.capacity() - b.size());
    b.append(piece.data(), n);
    piece.remove_prefix(n);
    left -= std::min<std::uint64_t>(left, n);
    size += n;
  }
}

void Incoming::add(FramePayload&& p) {
  for (auto& b : p.blocks) blocks.push_back(std::move(b));
  received += p.size;
  p.clear();
}

std::string Incoming::take_all() {
  std::string out;
  if (blocks.size() == 1) {
    out = std::move(blocks.front());
  } else if (!blocks.empty()) {
    out.reserve((size_t)received);  // bytes that arrived, not a declared size
    for (auto& b : blocks) {
      out.append(b);
      std::string().swap(b);
    }
  }
  blocks.clear();
  return out;
}

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
