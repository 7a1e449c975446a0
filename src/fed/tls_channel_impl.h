#pragma once
// The inside of TlsChannel, private to fed/ and shared by its three files:
//   tls_channel.cc   setup (certificates, listener), the Channel API (send, recv, flush, close)
//   tls_inbound.cc   the receiving side: accept, authenticate, hello/welcome, apply DATA, acknowledge
//   tls_outbound.cc  the sending side: queue, connect, hello, write frames, read acks, reconnect
//   tls_supervise.cc supervision: incarnations and views, liveness verdicts, aborts and goodbyes
// The wire format is frame.h, sequence numbers and resend state resend.h, sockets and OpenSSL
// calls tls_connection.h, the liveness rule liveness.h.
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fatectl/fed/tls_channel.h"
#include "liveness.h"
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
  // supervision
  std::uint64_t gen = 0;         ///< bumped when the peer restarts: a message being queued for it stops
  std::uint64_t stale_upto = 0;  ///< frames up to here were for the peer's previous process: dropped before the next hello
  std::deque<std::string> control;  ///< ABORT/BYE frames to write before any more DATA
  bool farewell_written = false;    ///< an ABORT or BYE went out on the current connection
  bool farewell_done = false;       ///< the peer closed the connection after reading it (or we gave up)
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

  // ---- supervision (TlsOptions::supervise), guarded by mu
  std::map<long, PeerLiveness> live;       ///< every peer's liveness
  std::map<long, std::uint64_t> sessions;  ///< every peer's incarnation (its session id; 0 = not known yet)
  std::uint64_t view = 0;          ///< hash of every party's incarnation once all are known (0 before)
  std::uint64_t program_view = 0;  ///< the view the program's messages are tagged with
  std::set<std::uint64_t> old_views;  ///< views a restart replaced
  long restarted = 0;              ///< a peer that restarted since program_view (calls throw PeerRestarted)
  std::optional<PeerFailure> failure;
  std::set<long> told_us;          ///< peers that sent us an abort: they know, no need to relay it back
  bool event_pending = false;      ///< on_event is due (called without the lock)
  bool aborted = false;            ///< abort() ran: close() neither flushes nor says goodbye
  bool relaying = false;           ///< the abort is another party's: one attempt per peer (it may be gone)
  std::map<std::string, Clock::time_point> outage_reported;  ///< last progress line per unreachable first hop

  std::string who() const { return "party " + std::to_string(o.self); }

  // ---- setup and the receiving API (tls_channel.cc)
  void setup_tls();
  void start_listener();
  /// Waits for the next message `name` (untagged) from `from`; its mailbox key is tagged(name).
  std::shared_ptr<Incoming> wait_message(long from, const std::string& name, std::chrono::milliseconds timeout,
                                         bool need_complete, std::unique_lock<std::mutex>& l);
  void pop(long from, const std::string& key, const std::shared_ptr<Incoming>& inc);  // mu held
  void check_peer(long from);

  // ---- receiving side (tls_inbound.cc)
  void refuse(const std::string& msg);
  void accept_loop();
  /// Sends an ERROR frame, half-closes, and drains briefly so the peer can read it.
  void send_error_and_close(SSL* ssl, int fd, long peer, const std::string& msg);
  /// Parses "<id>.<domain>" from a certificate that must name a party of this job.
  long party_of_cert(X509* cert);
  void serve_connection(int fd);
  /// Reads DATA frames from one authenticated peer, applies them once, and acknowledges them;
  /// supervised, also heartbeats, aborts and goodbyes.
  void receive_loop(SSL* ssl, int fd, FrameReader& rd, long peer, std::uint64_t gen, const std::string& addr);

  // ---- sending side (tls_outbound.cc)
  Outbound& outbound(long to);
  void wake(Outbound& ob);
  [[noreturn]] void throw_fatal(const Outbound& ob);
  /// Queues one frame, waiting for window space; throws PeerRestarted when the peer restarted since
  /// generation `gen` (the message is abandoned: its frames are dropped before the next hello).
  void enqueue(Outbound& ob, std::string frame, std::uint64_t payload, Clock::time_point deadline, const std::string& name,
               std::uint64_t gen);
  void check_name(const std::string& name);
  void deliver_local(const std::string& name, std::string data);
  void send_message(long to, const std::string& name, std::uint64_t total, const std::function<void(char*, size_t)>& fill);
  /// Connects, authenticates the peer, says hello and learns where to resume.
  std::pair<SSL*, int> open_connection(Outbound& ob);
  void ack_up_to(Outbound& ob, std::uint64_t seq);  // mu held
  /// Writes queued frames and reads acknowledgements until the connection fails or we stop.
  void send_loop(Outbound& ob, SSL* ssl, int fd);
  void sender_thread(Outbound& ob);
  /// After a failed attempt (mu held): gives up (returns the error to record as fatal) or says to retry.
  std::optional<std::pair<std::string, ErrorKind>> after_failure(Outbound& ob, const ConnFail& f, Clock::time_point& fail_since);
  /// Whether the sender thread should hold a connection to the peer now (mu held).
  bool wants_connection(const Outbound& ob) const;

  // ---- supervision (tls_supervise.cc)
  /// Records a peer's session id from its hello or welcome (mu held); a different one than known
  /// means the peer restarted. Returns true on a restart.
  bool learn_session(long peer, std::uint64_t session);
  void update_view();  // mu held
  /// The name a message travels under: "~<view>/<name>" when supervised (mu held).
  std::string tagged(const std::string& name) const;
  /// Supervised: waits until every peer's incarnation is known, then checks for a failure or a
  /// restart (throwing PeerFailed / PeerRestarted); `from` ≠ 0 also checks that peer's goodbye.
  void check_run(std::unique_lock<std::mutex>& l, Clock::time_point deadline);
  void heard(long peer);                          // mu held
  void fail_peer(PeerFailure f);                  // mu held
  /// Calls on_event if an event is pending (mu NOT held).
  void fire_event();
  /// A HEARTBEAT, ABORT or BYE frame to `peer` (name at most 1024 bytes).
  std::string control_frame(FrameType type, long peer, std::uint64_t total, std::string_view name,
                            std::string_view payload) const;
  std::string heartbeat_frame(long peer);
  /// Queues an ABORT or BYE to every peer in `to` and waits until each confirmed, up to `wait`.
  void farewell(const std::vector<long>& to, const std::function<std::string(long)>& frame, std::chrono::milliseconds wait);
};

/// Largest acknowledgement, welcome or error frame a sender reads back (their payload is text
/// of at most 64 KiB; job id and name are at most 64 KiB each by the format).
constexpr std::uint64_t kControlFrameBytes = kFrameHeaderBytes + 2 * 0xffff + 65536;

}  // namespace fatectl::fed
