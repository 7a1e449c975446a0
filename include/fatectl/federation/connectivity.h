#pragma once
// The connectivity check of a federation: from every party to every other, through the Exchange,
// and where its last result is kept (a ConfigMap in the Exchange's namespace, so every operator
// and `federation status` sees the same matrix).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "fatectl/federation/probe.h"
#include "fatectl/federation/sites.h"
#include "fatectl/kube/client.h"

namespace fatectl::federation {

/// One ordered pair's last check.
struct PairResult {
  long from = 0, to = 0;
  bool ok = false;
  std::string hop;     ///< the failed hop ("" when ok)
  std::string detail;  ///< what the failed hop saw, or a summary
  std::string fix;
  double ms = 0;
  std::string at;      ///< RFC 3339
};

/// Every pair's last result.
struct Connectivity {
  std::vector<PairResult> pairs;
  const PairResult* find(long from, long to) const;
  bool ok() const;
};

/// The probe target for "party `from` reaches party `to` through the Exchange at `ex`"
/// (certificates from the federation's certificates directory).
TlsTarget pair_target(const Federation& f, const ExchangeAddress& ex, long from, long to,
                      std::chrono::milliseconds timeout);

/// Checks every ordered pair of members (only pairs involving `only`, when given). Pulsar: TLS
/// through the Exchange as `from` to `to`, CONNECT and one PING on `to`'s broker. Eggroll/OSX:
/// TCP to the Exchange's rollsite and to the party's rollsite (`addrs`), which is what can be
/// seen from outside without speaking rollsite's gRPC.
/// Pairs with a party in `down` (party -> why: its install failed) are not probed; they fail
/// at hop "party" with that reason.
Connectivity check_pairs(const Federation& f, const ExchangeAddress& ex, const std::map<long, PartyAddress>& addrs,
                         const std::set<long>& only, std::chrono::milliseconds timeout,
                         const std::map<long, std::string>& down = {});

/// The name of the results ConfigMap: fatectl-federation-<name>.
std::string results_configmap(const Federation& f);
/// Stored results (empty when none or unreadable).
Connectivity load_results(kube::Client& exchange_cluster, const Federation& f);
/// Merges `now` into `old` (newer pairs win; pairs with a non-member dropped) and stores it.
Connectivity store_results(kube::Client& exchange_cluster, const Federation& f, const Connectivity& old,
                           const Connectivity& now);

YAML::Node connectivity_yaml(const Connectivity& c);
/// The matrix, one row per `from` party: "ok", "FAIL(tls handshake)", "-" (never checked).
std::string connectivity_matrix(const Federation& f, const Connectivity& c);

}  // namespace fatectl::federation
