#pragma once
// The inside of TlsChannel, private to fed/ and shared by its three files:
//   tls_channel.cc   setup (certificates, listener), the Channel API (send, recv, flush, close)
//   tls_inbound.cc   the receiving side: accept, authenticate, hello/welcome, apply DATA, acknowledge
//   tls_outbound.cc  the sending side: queue, connect, hello, write frames, read acks, reconnect
// The wire format is frame.h, sequence numbers and resend state resend.h, sockets and OpenSSL
// calls tls_connection.h.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fatectl/fed/tls_channel.h"
#include "resend.h"
#include "tls_connection.h"

namespace fatectl::fed {

/// The sending side towards one peer: queue of unacknowledged frames and its I/O thread.
struct Outbound {
  long peer = 0;
  Route route;
  std::mutex send_mu;  // one message at a time, so a message's frames are contiguous
  SendQueue q;         // guarded by TlsChannel::Impl::mu
  std::string fatal;
  ErrorKind fatal_kind = ErrorKind::Unreachable;
  std::thread th;
  int wake = -1;
  bool connected = false;
};

/// Shared state of one TlsChannel: options, TLS context, per-peer send and receive state, the
/// mailbox of received messages, and the threads (acceptor, one per inbound connection, one per
/// outbound peer). `mu` guards everything mutable; `cv` signals every change.
struct TlsChannel::Impl {
  TlsOptions o;
  ossl::SslCtx ctx;
  std::string self_name;
  int listen_fd = -1, port = 0, stop_fd = -1;
  std::atomic<bool> stopping{false};
  bool closed = false;
  std::uint64_t session = 0;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<long, std::unique_ptr<Outbound>> out;
  std::map<long, InState> in;
  std::map<std::pair<long, std::string>, std::deque<std::shared_ptr<Incoming>>> boxes;
  ChannelStats st;
  std::vector<std::string> refused;
  std::thread acceptor;
  std::vector<std::thread> inbound;

  std::string who() const { return "party " + std::to_string(o.self); }

  // ---- setup and the receiving API (tls_channel.cc)
  void setup_tls();
  void start_listener();
  std::shared_ptr<Incoming> wait_message(long from, const std::string& name, std::chrono::milliseconds timeout,
                                         bool need_complete, std::unique_lock<std::mutex>& l);
  void pop(long from, const std::string& name);  // mu held
  void check_peer(long from);

  // ---- receiving side (tls_inbound.cc)
  void refuse(const std::string& msg);
  void accept_loop();
  /// Sends an ERROR frame, half-closes, and drains briefly so the peer can read it.
  void send_error_and_close(SSL* ssl, int fd, long peer, const std::string& msg);
  /// Parses "<id>.<domain>" from a certificate that must name a party of this job.
  long party_of_cert(X509* cert);
  void serve_connection(int fd);
  /// Reads DATA frames from one authenticated peer, applies them once, and acknowledges them.
  void receive_loop(SSL* ssl, int fd, FrameReader& rd, long peer, std::uint64_t gen, const std::string& addr);

  // ---- sending side (tls_outbound.cc)
  Outbound& outbound(long to);
  void wake(Outbound& ob);
  [[noreturn]] void throw_fatal(const Outbound& ob);
  /// Queues one frame, waiting for window space.
  void enqueue(Outbound& ob, std::string frame, std::uint64_t payload, Clock::time_point deadline, const std::string& name);
  void check_name(const std::string& name);
  void deliver_local(const std::string& name, std::string data);
  void send_message(long to, const std::string& name, std::uint64_t total, const std::function<void(char*, size_t)>& fill);
  /// Connects, authenticates the peer, says hello and learns where to resume.
  std::pair<SSL*, int> open_connection(Outbound& ob);
  void ack_up_to(Outbound& ob, std::uint64_t seq);  // mu held
  /// Writes queued frames and reads acknowledgements until the connection fails or we stop.
  void send_loop(Outbound& ob, SSL* ssl, int fd);
  void sender_thread(Outbound& ob);
};

/// Largest acknowledgement, welcome or error frame a sender reads back (their payload is text
/// of at most 64 KiB; job id and name are at most 64 KiB each by the format).
constexpr std::uint64_t kControlFrameBytes = kFrameHeaderBytes + 2 * 0xffff + 65536;

}  // namespace fatectl::fed
