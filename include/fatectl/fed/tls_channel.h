#pragma once
// fed::Channel over TLS 1.3 with mutual authentication: one listener per party, one outgoing
// connection per peer (direct, or through the Exchange with SNI <peer>.<domain>), frames with
// sequence numbers, acknowledgements, resend after reconnect, and duplicate suppression.
//
// Wire format (all integers big-endian), one frame:
//   magic "FTF1" | type u8 | flags u8 | name_len u16 | job_len u16 | reserved u16
//   | sender i64 | receiver i64 | seq u64 | total u64 | payload_len u32   (48 bytes)
//   | job id | name | payload
// Types: HELLO (client→server: job, sender, receiver, session id in `total`, first sequence number
// in `seq`), WELCOME (server→client: last sequence number applied from this sender in `seq`, the
// server's session id in `total`), DATA (one chunk of a message; FIRST carries the message size in
// `total`, LAST closes it), ACK (cumulative `seq`), ERROR (payload: why the receiver refuses; the
// sender fails instead of retrying), and with supervision (TlsOptions::supervise) HEARTBEAT, ABORT
// and BYE (frame.h).
// Encoder and byte-fed decoder of this format: src/fed/frame.h; the implementation's files:
// src/fed/tls_channel_impl.h.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fatectl/fed/channel.h"
#include "fatectl/fed/job.h"

namespace fatectl::fed {

/// Everything a TlsChannel needs; tls_options_for() derives it from a job file.
struct TlsOptions {
  std::string job_id;
  long self = 0;
  std::string domain;
  Endpoint listen;                   ///< port 0 = pick a free port (see listen_port())
  bool listen_enabled = true;        ///< false: send-only (no listener)
  std::string ca_file, cert_file, key_file;
  std::set<long> parties;            ///< every party of the job (peers allowed to connect)
  std::map<long, Route> routes;      ///< how to reach each peer
  TransportSettings transport;

  /// Supervision (`fatectl party serve`): the channel connects to every peer at once and keeps
  /// heartbeats going (transport.heartbeatInterval); a peer that stops answering is declared dead
  /// after transport.peerDeadTimeout, an outage is ridden out until `deadline`, a restarted peer
  /// is detected (calls throw PeerRestarted until rejoin()), aborts and goodbyes are exchanged.
  /// Every message travels tagged with the parties' incarnations, so messages of a run that a
  /// restart voided are never delivered. The rule: docs/job-file.md, "Failures".
  bool supervise = false;
  std::chrono::steady_clock::time_point deadline{};  ///< supervised: the job's deadline
  std::function<std::string()> step;                 ///< supervised: this party's step, for heartbeats
  std::function<void()> on_event;  ///< supervised: called (no lock held) when a peer failed, died or restarted
};
TlsOptions tls_options_for(const Job& job, long self);

/// Why a supervised job cannot go on: a peer's abort (its own, or relayed by another party), or
/// a peer this party declared dead.
struct PeerFailure {
  long party = 0;        ///< the party that failed
  std::string step;      ///< where it was, e.g. "epoch 10, batch 3" (empty: not known)
  std::string reason;    ///< its error, or why it was declared dead
  long reported_by = 0;  ///< who said so (the party itself, a relaying peer, or this party)
  /// "party 10000 failed at epoch 10, batch 3: <reason>"
  std::string message() const;
};

/// Counters for tests, logs and benchmarks.
struct ChannelStats {
  std::uint64_t frames_sent = 0;        ///< DATA frames written (first time)
  std::uint64_t frames_resent = 0;      ///< DATA frames written again after a reconnect
  std::uint64_t frames_received = 0;    ///< DATA frames applied
  std::uint64_t duplicates_dropped = 0; ///< DATA frames received again and ignored
  std::uint64_t reconnects = 0;         ///< outgoing connections re-established after a drop
  std::uint64_t bytes_sent = 0, bytes_received = 0;  ///< payload bytes (first time / applied)
};

/// The TLS implementation of Channel (see the file comment for the protocol).
class TlsChannel : public Channel {
 public:
  explicit TlsChannel(TlsOptions opts);  ///< loads certificates, binds and starts listening
  ~TlsChannel() override;
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  long self() const override;
  void send(long to, const std::string& name, const Bytes& payload) override;
  Bytes recv(long from, const std::string& name, std::chrono::milliseconds timeout) override;
  void send_stream(long to, const std::string& name, std::uint64_t total, const Producer& fill) override;
  std::uint64_t recv_stream(long from, const std::string& name, std::chrono::milliseconds timeout,
                            const Consumer& consume) override;
  void flush(std::chrono::milliseconds timeout) override;

  int listen_port() const;  ///< the bound port
  /// Sets or replaces the route to a peer before the first message to it (ephemeral ports in
  /// tests and benchmarks); throws Invalid once a connection to that peer exists.
  void set_route(long party, const Route& route);
  /// Flushes (up to transport.closeTimeout), then closes every connection and stops the threads.
  void close();
  ChannelStats stats() const;
  /// Incoming connections this party refused, one line each (also logged as warnings).
  std::vector<std::string> refusals() const;

  // -- supervision (TlsOptions::supervise) ---------------------------------------------------
  /// The first peer failure this party learned (an abort, or a peer declared dead).
  std::optional<PeerFailure> peer_failure() const;
  /// Tells every peer but `f.party` that the job failed (an ABORT frame), waiting up to `wait`
  /// until each has read it; afterwards close() neither flushes nor says goodbye.
  void abort(const PeerFailure& f, std::chrono::milliseconds wait);
  void rejoin() override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace fatectl::fed
