#pragma once
// The few commands of Pulsar's binary protocol that a path probe needs (CONNECT, CONNECTED, ERROR,
// PING, PONG): a frame is a 4-byte total size, a 4-byte command size and a protobuf BaseCommand
// (pulsar-common/src/main/proto/PulsarApi.proto). Encoders return bytes; the decoder takes bytes,
// so it is tested and fuzzed without a socket. A probe reaches the party's real broker through the
// Exchange's SNI tunnel: CONNECT proves a broker answers, PING/PONG measures the round trip and
// keeps an idle connection honest, and a CONNECT carrying N bytes of (ignored) auth data measures
// how large a frame the path and the broker accept.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fatectl::federation::pulsar {

/// BaseCommand.Type values used here.
enum Type : int { kConnect = 2, kConnected = 3, kError = 14, kPing = 18, kPong = 19 };

/// The protocol version a probe announces (v14: CONNECTED carries max_message_size).
inline constexpr int kProtocolVersion = 14;

/// CONNECT with `client_version` and `auth_bytes` bytes of auth data (zeros; brokers without
/// authentication ignore it). Throws Invalid above 1 GiB.
std::string connect_frame(const std::string& client_version, size_t auth_bytes);
std::string ping_frame();
std::string pong_frame();

/// A decoded command.
struct Command {
  int type = 0;
  std::string server_version;       ///< CONNECTED
  int protocol_version = 0;         ///< CONNECTED
  long long max_message_size = -1;  ///< CONNECTED (-1 = not sent)
  std::string error;                ///< ERROR: its message
  size_t frame_bytes = 0;
};

/// Splits a byte stream into commands. A frame larger than `max_frame`, or a command that is not
/// a well-formed BaseCommand, throws fatectl::Error(Invalid) -- whatever the bytes.
class Decoder {
 public:
  explicit Decoder(size_t max_frame = 1u << 20) : max_frame_(max_frame) {}
  void feed(std::string_view bytes);
  /// The next complete command, if any.
  std::optional<Command> next();

 private:
  size_t max_frame_;
  std::string buf_;
};

/// Decodes one BaseCommand (without the size prefixes). Throws Invalid.
Command parse_command(std::string_view bytes);

}  // namespace fatectl::federation::pulsar
