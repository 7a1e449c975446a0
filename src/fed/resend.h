#pragma once
// Retransmission state of the TLS channel, private to fed/ and free of sockets: the sender's
// queue of unacknowledged frames (sequence numbers, window, cumulative acknowledgement, where
// to resume after a reconnect) and the receiver's record of one sending peer (last frame
// applied, so a resent frame is recognised and dropped, and the message being assembled).
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace fatectl::fed {

/// One message being received (assembled in place, once).
struct Incoming {
  std::string data;
  std::uint64_t total = 0, received = 0;
  bool complete = false, claimed = false;
};

/// What a receiver remembers about one sending peer across connections.
struct InState {
  std::uint64_t session = 0;
  std::uint64_t applied = 0;  ///< last DATA sequence number applied
  std::shared_ptr<Incoming> current;
  std::string current_name;
  std::uint64_t gen = 0;      ///< generation of the connection allowed to apply frames
  int active_fd = -1;
  bool active = false;

  /// How a DATA frame's sequence number relates to what was applied.
  enum class Seq { Duplicate, Next, Gap };
  Seq classify(std::uint64_t seq) const {
    return seq <= applied ? Seq::Duplicate : seq == applied + 1 ? Seq::Next : Seq::Gap;
  }
};

/// One encoded DATA frame kept until it is acknowledged.
struct OutFrame {
  std::uint64_t seq;
  std::string bytes;
  std::uint64_t payload;  ///< payload bytes in it (for statistics)
};

/// The sender's frames towards one peer that are not acknowledged yet, in sequence order.
struct SendQueue {
  std::deque<OutFrame> q;
  std::uint64_t next_seq = 1;   ///< sequence number of the next frame queued
  std::uint64_t acked = 0;      ///< highest sequence number acknowledged
  std::uint64_t bytes = 0;      ///< bytes of the queued frames
  std::uint64_t high_sent = 0;  ///< highest sequence number written at least once

  bool empty() const { return q.empty(); }
  /// Whether a frame of `size` bytes may be queued within `window` (always when empty).
  bool fits(std::uint64_t size, std::uint64_t window) const { return q.empty() || bytes + size <= window; }
  /// Queues a frame under the next sequence number.
  void push(std::string frame, std::uint64_t payload);
  /// Drops every frame up to `seq` (a cumulative acknowledgement).
  void ack_up_to(std::uint64_t seq);
  /// Where writing starts on a new connection: the oldest unacknowledged frame.
  std::uint64_t resume_from() const { return q.empty() ? next_seq : q.front().seq; }
  /// Whether a receiver that applied up to `applied` misses frames no longer queued (it restarted).
  bool lost(std::uint64_t applied) const { return !q.empty() && applied + 1 < q.front().seq; }
  /// The queued frame with sequence number `seq`, or null.
  const OutFrame* find(std::uint64_t seq) const {
    if (q.empty() || seq < q.front().seq || seq > q.back().seq) return nullptr;
    return &q[seq - q.front().seq];
  }
};

}  // namespace fatectl::fed
