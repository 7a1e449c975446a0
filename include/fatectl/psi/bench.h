#pragma once
// `fatectl bench psi`: a guest and a host in this process, each with N ids of which half are
// common, run a full intersection (including the selection) over the real TLS transport.
#include <cstddef>
#include <string>

namespace fatectl::psi {

/// Settings of one PSI benchmark.
struct BenchOptions {
  size_t rows = 100000;          ///< ids per party
  std::string method = "ecdh";
  unsigned threads = 0;          ///< worker threads per party (0 = all cores)
  size_t chunk = size_t(1) << 16;  ///< ids per message
  double openssl_seconds = 1.0;  ///< how long to time OpenSSL's own X25519 for the ratio
};

/// What one run measured (seconds are wall-clock unless named cpu).
struct BenchResult {
  size_t rows = 0, common = 0;
  bool correct = false;           ///< the guest found exactly the common ids, the host the same rows
  double seconds = 0;             ///< from the first hash to the host holding its selected rows
  double guest_prepare_seconds = 0;  ///< hashing + blinding the guest's own ids
  double cpu_seconds = 0;         ///< CPU time of the whole process during the run
  unsigned threads = 0;           ///< per party
  double x25519_ops = 0;          ///< scalar multiplications of the run (ecdh: 4N)
  double openssl_x25519_per_s = 0;  ///< OpenSSL's single-thread X25519 rate, this run
  double bytes_sent = 0;          ///< payload bytes over TLS, both directions
  double load_before = 0, load_after = 0;  ///< 1-minute load average (/proc/loadavg)
};

BenchResult bench_psi(const BenchOptions& o);

}  // namespace fatectl::psi
