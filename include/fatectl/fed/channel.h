#pragma once
// The message interface between the parties of one federated job. ml/ and the native toy
// check talk only through this; fed/ provides the TLS implementation, tests use Local.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fatectl/core/error.h"

namespace fatectl::fed {

using Bytes = std::string;  ///< an opaque message payload

/// Thrown by a Channel call when a peer restarted (a new process of that party joined the job):
/// what was exchanged so far is void. The program goes back to a checkpoint every party has, calls
/// Channel::rejoin() and runs again; the other parties do the same.
struct PeerRestarted : Error {
  long party;  ///< the party that restarted
  PeerRestarted(long p, const std::string& m) : Error(ErrorKind::Failed, m), party(p) {}
};

/// Sends and receives named messages to and from other parties of the same job.
/// Messages between two parties with the same name are delivered in order; `name`
/// is the protocol step, e.g. "epoch3/batch0/host_forward".
class Channel {
 public:
  virtual ~Channel() = default;
  virtual long self() const = 0;  ///< this party's id
  virtual void send(long to_party, const std::string& name, const Bytes& payload) = 0;
  /// Blocks until the message arrives; throws fatectl::Error(Timeout) after `timeout`.
  virtual Bytes recv(long from_party, const std::string& name, std::chrono::milliseconds timeout) = 0;

  // -- streaming (large vectors): neither side needs the whole message in one buffer --------
  /// Writes the next `n` bytes of the stream into `dst`.
  using Producer = std::function<void(char* dst, std::size_t n)>;
  /// Receives the next piece of the stream (pieces arrive in order).
  using Consumer = std::function<void(std::string_view piece)>;
  /// Sends one message of `total` bytes produced piecewise by `fill`; the receiver may take it
  /// with recv() or recv_stream(). Default: builds the message in memory and calls send().
  virtual void send_stream(long to_party, const std::string& name, std::uint64_t total, const Producer& fill);
  /// Receives one message piece by piece as it arrives; returns its size. `timeout` bounds the
  /// wait for the message to start and for each next piece. Default: recv() then one piece.
  virtual std::uint64_t recv_stream(long from_party, const std::string& name, std::chrono::milliseconds timeout,
                                    const Consumer& consume);
  /// Waits until every message sent so far has been acknowledged by its receiver (no-op in
  /// process); throws like send() when a peer is unreachable or refused a frame.
  virtual void flush(std::chrono::milliseconds timeout) {}
  /// After PeerRestarted: continue with the parties as they are now (every party's messages sent
  /// before the restart are dropped). No-op where parties cannot restart.
  virtual void rejoin() {}
};

/// In-process channels for tests and single-process runs: every party's Channel shares one
/// mailbox. Create one LocalHub, then hub.channel(party) per party (used from threads).
class LocalHub {
 public:
  std::unique_ptr<Channel> channel(long party);

 private:
  friend class LocalChannel;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::tuple<long, long, std::string>, std::vector<Bytes>> boxes_;  // (from, to, name)
};

}  // namespace fatectl::fed
