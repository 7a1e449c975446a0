#pragma once
// Running a command in a pod's container (`kubectl exec` without kubectl): a WebSocket over
// the TLS connection libcurl opens (CONNECT_ONLY), subprotocol v5.channel.k8s.io with
// fallback to v4, stdout/stderr streamed, the exit code read from the status channel.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fatectl/kube/client.h"

namespace fatectl::kube {

/// What to run and how to deliver output. Without callbacks, output is collected in the result.
struct ExecOptions {
  std::string container;                  ///< "" = the pod's only/default container
  std::optional<std::string> stdin_data;  ///< sent on channel 0, then closed (v5; v4 cannot close)
  std::function<void(std::string_view)> on_stdout;
  std::function<void(std::string_view)> on_stderr;
  /// Whole exec, connect included; the client's Deadline (the command's --timeout) may end it sooner.
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
  /// Output collected without callbacks (stdout and stderr together) beyond this ends the exec
  /// with ResponseTooLarge (exit 3). Callbacks see everything and keep what they need.
  uint64_t max_output = 16 * kMiB;
  /// Subprotocols offered, best first (tests narrow this to force v4).
  std::vector<std::string> protocols = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
};

/// How the command ended.
struct ExecResult {
  int exit_code = 0;        ///< the command's exit status; -1 when it could not run (see error)
  std::string stdout_data;  ///< collected when no on_stdout callback
  std::string stderr_data;  ///< collected when no on_stderr callback
  std::string error;        ///< Status message when the server reports a failure other than an exit code
  std::string protocol;     ///< negotiated subprotocol
};

/// Runs `command` in `pod` (namespace `ns`) and waits for it to end. Throws Unreachable when the
/// upgrade is refused (403 names the identity), Failed for 404 and protocol errors, Timeout
/// when `timeout` or the client's deadline passes first, ResponseTooLarge when collected output
/// passes max_output or a WebSocket frame passes ws::kMaxFrameBytes.
ExecResult exec(Client& c, const std::string& ns, const std::string& pod, const std::vector<std::string>& command,
                const ExecOptions& opts = {});

namespace ws {

/// The largest frame (and fragmented message) accepted; the kubelet sends 32 KiB pieces.
inline constexpr uint64_t kMaxFrameBytes = 4 * kMiB;

/// One WebSocket frame (RFC 6455 §5.2).
struct Frame {
  bool fin = true;
  uint8_t opcode = 0;  ///< 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string payload;
};

/// Encodes a frame; `mask` = the 4-byte key of a client frame (nullptr: unmasked, server side).
std::string encode(uint8_t opcode, std::string_view payload, const uint8_t* mask, bool fin = true);

/// Incremental decoder: feed bytes as they arrive, take whole frames out.
class Decoder {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// Next complete frame (unmasked), or false when more bytes are needed. A frame longer than
  /// kMaxFrameBytes throws ResponseTooLarge as soon as its header arrives.
  bool next(Frame& out);
  size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

/// The Sec-WebSocket-Accept value for a key.
std::string accept_for(const std::string& key);

}  // namespace ws
}  // namespace fatectl::kube
