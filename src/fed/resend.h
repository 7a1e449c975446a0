#pragma once
// Retransmission state of the TLS channel, private to fed/ and free of sockets: the sender's
// queue of unacknowledged frames (sequence numbers, window, cumulative acknowledgement, where
// to resume after a reconnect) and the receiver's record of one sending peer (last frame
// applied, so a resent frame is recognised and dropped) with the message being assembled,
// which holds the bytes that arrived, never a size a peer declared.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace fatectl::fed {

/// Bytes of a message held in blocks of at most kBlockBytes. Blocks are allocated as bytes
/// arrive (sized by what is still to come, capped at kBlockBytes), so a size declared by a peer
/// is never allocated up front; a published block never moves or changes (std::deque keeps
/// references to its elements valid while more are appended).
constexpr std::size_t kBlockBytes = 64 << 10;

/// The payload of the DATA frame being read, kept by the connection until the frame is complete.
struct FramePayload {
  std::deque<std::string> blocks;
  std::uint64_t size = 0;
  /// Appends `piece`; `left` is how many bytes of the frame are still to come, `piece` included.
  void append(std::string_view piece, std::uint64_t left);
  void clear() { blocks.clear(); size = 0; }
};

/// One message being received. It holds what arrived, never what the sender declared: the
/// payloads of its applied frames, in order (a first frame that claims a huge message costs only
/// its own bytes). The channel's lock guards it; a reader may use a block outside the lock.
struct Incoming {
  std::deque<std::string> blocks;
  std::uint64_t total = 0, received = 0;  ///< declared size (checked against a limit) and bytes applied
  bool complete = false, claimed = false;

  /// Applies a complete frame's payload.
  void add(FramePayload&& p);
  /// The whole message in one string: the single block moved, or the blocks joined (each freed
  /// once copied). Leaves the message empty.
  std::string take_all();
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
  bool fresh = true;          ///< no DATA frame applied from this session yet

  /// A hello from the sender's process `session`, which will write frames from `first` on (0: not
  /// said). A new session starts over; a receiver that applied nothing from the session yet
  /// accepts `first` as where the sequence starts (the sender dropped frames meant for this
  /// party's previous process). Returns whether the sender's session changed.
  bool hello(std::uint64_t sender_session, std::uint64_t first) {
    bool changed = session != sender_session;
    if (changed) {
      session = sender_session;
      applied = first > 0 ? first - 1 : 0;
      fresh = true;
      current.reset();
    } else if (fresh && first > 0 && first - 1 > applied) {
      applied = first - 1;
    }
    return changed;
  }

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
