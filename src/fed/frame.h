#pragma once
// The federation wire format and its decoder. A connection carries frames, each
//   header (48 bytes) | job id | name | payload
// Header (all integers big-endian):
//   magic "FTF1" | type u8 | flags u8 | name_len u16 | job_len u16 | reserved u16
//   | sender i64 | receiver i64 | seq u64 | total u64 | payload_len u32
// The decoder takes bytes in whatever pieces they arrive (no socket, no TLS), so the transport
// (tls_inbound.cc, tls_outbound.cc) and fuzz harnesses call the same code. What each frame type
// means to a connection: include/fatectl/fed/tls_channel.h.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fatectl::fed {

constexpr std::uint32_t kFrameMagic = 0x46544631;  ///< "FTF1"
constexpr std::size_t kFrameHeaderBytes = 48;

/// The frame types. A new type takes the next free number and a line here; a receiver refuses a
/// type it does not expect at that point of a connection.
enum class FrameType : std::uint8_t {
  Hello = 1,      ///< client→server, first frame: job, sender, receiver; the session id in `total`, the first
                  ///< sequence number the sender will write in `seq`
  Welcome = 2,    ///< server→client answer to Hello: last sequence number applied from this sender, in `seq`;
                  ///< the server's session id in `total`
  Data = 3,       ///< one chunk of a message; kFrameFirst carries the message size in `total`, kFrameLast closes it
  Ack = 4,        ///< receiver→sender: every DATA frame up to `seq` is applied (cumulative)
  Error = 5,      ///< payload: why the receiver refuses; the sender fails instead of retrying
  Heartbeat = 6,  ///< client→server between DATA frames: the sender is alive; payload: its current step (text);
                  ///< the server answers with an Ack
  Abort = 7,      ///< client→server: the job failed in party `total` at step `name`, payload: the reason; the
                  ///< server closes the connection once it has read it (that confirms delivery)
  Bye = 8,        ///< client→server: the sender finished its program and leaves (no more heartbeats); the
                  ///< server closes the connection once it has read it
};

/// Flags of a DATA frame (bits of FrameHeader::flags).
enum FrameFlags : std::uint8_t { kFrameFirst = 1, kFrameLast = 2 };

/// The fixed part of a frame, decoded.
struct FrameHeader {
  FrameType type{};
  std::uint8_t flags = 0;
  std::uint16_t name_len = 0, job_len = 0;
  std::int64_t sender = 0, receiver = 0;
  std::uint64_t seq = 0, total = 0;
  std::uint32_t payload_len = 0;
  /// The whole frame's size as the header declares it (header + job + name + payload).
  std::uint64_t frame_bytes() const { return kFrameHeaderBytes + (std::uint64_t)job_len + name_len + payload_len; }
};

/// Writes the 48 header bytes to `out`.
void encode_header(const FrameHeader& h, char* out);
/// One whole frame in one buffer (job_len, name_len and payload_len are set from the arguments);
/// with `payload` null the payload area is left zeroed for the caller to fill.
std::string encode_frame(FrameHeader h, std::string_view job, std::string_view name, const char* payload, std::size_t n);

/// A byte stream the decoder cannot continue: not a frame, or a frame over the limit.
struct FrameError : std::runtime_error {
  enum class Kind { BadMagic, TooLarge };
  Kind kind;
  std::uint64_t declared;  ///< TooLarge: the frame size the header declared
  FrameError(Kind k, std::uint64_t d, const std::string& m) : std::runtime_error(m), kind(k), declared(d) {}
};

/// Decodes a stream of frames fed in pieces of any size, one event at a time. Nothing is
/// allocated from a header's declared sizes: a frame over `max_frame_bytes` is refused as soon
/// as its header is complete, the job id and name (at most 2 × 64 KiB by the format) grow as
/// their bytes arrive, and the payload is never buffered but handed out in the pieces it came in.
class FrameDecoder {
 public:
  /// What next() stopped at.
  enum class Event {
    NeedMore,  ///< everything fed is consumed; feed more bytes
    Header,    ///< header() is complete (magic and size checked); job and name follow
    Start,     ///< job() and name() are complete; the payload follows
    Payload,   ///< piece() holds the next payload bytes (never empty)
    End,       ///< the frame is complete; the next byte starts a new frame
  };

  explicit FrameDecoder(std::uint64_t max_frame_bytes) : max_(max_frame_bytes) {}
  /// Decodes from the front of `in` up to the next event and removes what it consumed from `in`.
  /// Throws FrameError (bad magic, frame over the limit); the stream is unusable afterwards.
  Event next(std::string_view& in);

  const FrameHeader& header() const { return h_; }  ///< valid from Header to the next frame's Header
  std::string_view job() const { return std::string_view(meta_).substr(0, h_.job_len); }  ///< from Start on
  std::string_view name() const { return std::string_view(meta_).substr(h_.job_len); }    ///< from Start on
  std::string_view piece() const { return piece_; }  ///< after Payload; points into the fed bytes
  /// Bytes still missing before the next event that needs input (> 0 after NeedMore); reading at
  /// most this many never reads past the end of the current frame.
  std::size_t wanted() const;
  std::uint64_t max_frame_bytes() const { return max_; }

 private:
  /// Which part of a frame the next bytes belong to.
  enum class Stage { Header, Meta, Payload };
  std::uint64_t max_;
  Stage stage_ = Stage::Header;
  char hb_[kFrameHeaderBytes] = {};
  std::size_t hgot_ = 0;
  FrameHeader h_;
  std::string meta_;  // job id then name, as much as has arrived
  std::uint64_t pgot_ = 0;
  std::string_view piece_;
};

}  // namespace fatectl::fed
