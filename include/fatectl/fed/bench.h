#pragma once
// `fatectl bench transport`: two parties in one process over real TLS sockets (directly or through
// an Exchange), measuring small-frame round trips and the throughput of one large stream.
#include <string>
#include <vector>

#include "fatectl/fed/job.h"
#include "fatectl/fed/program.h"
#include "fatectl/fed/tls_channel.h"

namespace fatectl::fed {

/// A temporary certificates directory (under $TMPDIR) with a CA for `domain` and certificates for
/// `parties`, removed on destruction: benchmarks that run several parties in one process.
class ThrowawayCerts {
 public:
  ThrowawayCerts(const std::string& domain, const std::vector<long>& parties);
  ~ThrowawayCerts();
  ThrowawayCerts(const ThrowawayCerts&) = delete;
  ThrowawayCerts& operator=(const ThrowawayCerts&) = delete;
  const std::string& dir() const { return dir_; }

 private:
  void remove();
  std::string dir_;
  std::vector<long> parties_;
};

/// Routes `from`'s messages for `to_party` directly to the loopback listener of `to`.
void route_loopback(TlsChannel& from, const TlsChannel& to, long to_party, const std::string& domain);

/// TlsOptions for party `self` of an in-process benchmark job whose certificates are in `certs_dir`.
TlsOptions bench_tls_options(const std::string& job_id, long self, const std::vector<long>& parties,
                             const std::string& certs_dir, const std::string& domain, Endpoint listen,
                             const TransportSettings& t);

/// Settings of one transport benchmark run.
struct TransportBenchOptions {
  std::string certs_dir;               ///< CA + certificates for 9999 and 10000; empty = throwaway
  std::string domain = "fate.org";
  Endpoint listen{"127.0.0.1", 0};     ///< the responder (party 10000)'s listener
  bool via_exchange = false;
  Endpoint exchange;                   ///< with via_exchange: connect here, SNI 10000.<domain>
  EchoParams params;
  TransportSettings transport;
};

/// Runs guest 9999 against host 10000 and returns the guest's measurements.
EchoResult bench_transport(const TransportBenchOptions& o);

}  // namespace fatectl::fed
