#pragma once
// Probing the path from one party to another through the Exchange's SNI tunnel, hop by hop: DNS,
// TCP connect, the TLS handshake with the peer's SNI and this party's certificate (the certificate
// that answers says where the route leads), then Pulsar's own CONNECT and PING on the party's
// broker: round trip, upload throughput with a bounded payload, the largest frame that passes, and
// an idle connection that must survive the Exchange's timeouts. Every failure names its hop and
// the likely fix.
#include <openssl/ssl.h>

#include <chrono>
#include <string>
#include <vector>

namespace fatectl::federation {

/// One hop's result.
struct Hop {
  std::string hop;      ///< "dns", "tcp connect", "tls handshake", "pulsar connect", "round trip", ...
  std::string result;   ///< "ok", "failed", "skipped", "warning"
  double ms = 0;        ///< time taken (round trip: p50)
  std::string detail;   ///< what was seen
  std::string fix;      ///< on failure: the likely cause and what to do
  bool ok() const { return result == "ok" || result == "warning"; }
};

/// Where to connect, as whom, and whom to expect.
struct TlsTarget {
  std::string host;
  int port = 0;
  std::string sni;          ///< "<to>.<domain>"
  std::string cert, key, ca;  ///< the connecting party's certificate and key, the federation CA
  std::string expect_cn;    ///< "<to>.<domain>"
  std::string exchange_cn;  ///< "proxy.<domain>": the Exchange's own certificate (no SNI route)
  std::string domain;
  std::chrono::milliseconds timeout{10'000};
};

/// An open TLS connection through the Exchange.
class TlsPath {
 public:
  TlsPath() = default;
  TlsPath(const TlsPath&) = delete;
  TlsPath& operator=(const TlsPath&) = delete;
  ~TlsPath();
  /// DNS, TCP connect, TLS handshake: appends a hop each, stops at the first failure (false).
  bool open(const TlsTarget& t, std::vector<Hop>& hops);
  /// Opens without reporting hops (for repeated probes); false with `err`.
  bool open_quiet(const TlsTarget& t, std::string& err);
  /// Writes everything before `deadline`; false with `err` (the peer closed, timeout).
  bool write(const std::string& bytes, std::chrono::steady_clock::time_point deadline, std::string& err);
  /// Reads what is there (waits up to `deadline`): >0 bytes, 0 closed, -1 timeout/error (`err`).
  long read(char* buf, size_t n, std::chrono::steady_clock::time_point deadline, std::string& err);
  void close();

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

/// What the probes measure and how long they may take.
struct PulsarProbeOptions {
  int rtt_rounds = 10;
  size_t payload = 1u << 20;        ///< throughput: CONNECT carrying this many bytes
  size_t max_message = 8u << 20;    ///< largest message: tried up to this size (0 = skip)
  std::chrono::milliseconds idle{35'000};  ///< idle connection: held this long (0 = skip)
  std::chrono::milliseconds timeout{10'000};
};

/// Runs DNS, TCP, TLS and the Pulsar hops against `t` (the peer's broker through the Exchange).
/// Hops after a failure are "skipped".
std::vector<Hop> probe_pulsar_path(const TlsTarget& t, const PulsarProbeOptions& o);
/// The quick check `federation up` runs per pair: TLS, CONNECT and one PING.
std::vector<Hop> check_pulsar_path(const TlsTarget& t);
/// DNS, TCP connect and connect-time round trips to `host:port` (rollsite paths: gRPC, so
/// nothing above TCP is probed).
std::vector<Hop> probe_tcp_path(const std::string& host, int port, const std::string& what, std::chrono::milliseconds timeout,
                                int rounds = 5);

/// "2.4 ms", "35.0 s", "1.5 MiB".
std::string fmt_ms(double ms);
std::string fmt_bytes(double b);

}  // namespace fatectl::federation
