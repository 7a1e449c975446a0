#pragma once
// `federation diagnose`: the path from one party to another through the Exchange, hop by hop --
// the Exchange's recorded route and its pods, then DNS, TCP, TLS (SNI and certificate), the
// broker's CONNECT, round trip, throughput with a bounded payload, the largest message that
// passes, an idle connection surviving the Exchange's timeouts. Every failure names the hop and
// the likely fix.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/federation/probe.h"
#include "fatectl/federation/sites.h"

namespace fatectl::federation {

/// What to diagnose and how hard to try.
struct DiagnoseOptions {
  std::string kubeconfig;
  long from = 0, to = 0;
  std::string exchange_address;  ///< "host:port" where this machine reaches the Exchange ("" = discovered)
  bool offline = false;          ///< do not read the clusters (only the path; needs exchange_address)
  PulsarProbeOptions probe;
};

/// The hops and where they went.
struct DiagnoseReport {
  long from = 0, to = 0;
  std::string path;  ///< "9999 -> the Exchange 10.0.0.1:30007 (sni 10000.fate.org) -> 10000"
  std::vector<Hop> hops;
  /// The first failed hop, or nullptr.
  const Hop* failed() const;
};

DiagnoseReport diagnose(const Federation& f, const DiagnoseOptions& o);

YAML::Node diagnose_yaml(const DiagnoseReport& r);
std::string diagnose_text(const DiagnoseReport& r);

}  // namespace fatectl::federation
