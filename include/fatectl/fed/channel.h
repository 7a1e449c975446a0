#pragma once
// The message interface between the parties of one federated job. ml/ and the native toy
// check talk only through this; fed/ provides the TLS implementation, tests use Local.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace fatectl::fed {

using Bytes = std::string;  ///< an opaque message payload

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
