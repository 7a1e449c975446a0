#pragma once
// `fatectl bench transport`: two parties in one process over real TLS sockets (directly or through
// an Exchange), measuring small-frame round trips and the throughput of one large stream.
#include <string>

#include "fatectl/fed/job.h"
#include "fatectl/fed/program.h"

namespace fatectl::fed {

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
