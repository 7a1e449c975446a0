#pragma once
// `federation status`: one screen for the whole federation -- each site's cluster status, the
// Exchange's routes against the federation (missing, to a wrong address, a party's address that
// changed since its route was written, a route to a non-member, pods that do not run the recorded
// routes), certificates close to expiry, and the last connectivity result per pair.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/federation/connectivity.h"
#include "fatectl/federation/sites.h"

namespace fatectl::federation {

/// One site's cluster.
struct SiteStatus {
  std::string site;     ///< "the Exchange", "party 9999"
  std::string context, ns, name;
  std::string release;  ///< "revision 3 deployed", "not installed", "unreachable"
  std::string modules;  ///< "6/6 modules ready" or the first that is not
  std::string spec;     ///< "runs the federation's spec" / "differs from the federation's spec: run up"
  std::string address;  ///< where its federation traffic reaches it (discovered)
  bool ok = false;
  std::vector<std::string> problems;
};

/// One party's route in the Exchange against the federation.
struct RouteStatus {
  long party = 0;
  std::string recorded;  ///< the route the Exchange's record holds ("" = none)
  std::string expected;  ///< where the party is reached now ("" = unknown)
  std::string state;     ///< "ok", "missing", "wrong address", "address changed", "not a member", "unknown"
  std::string detail;
  bool ok() const { return state == "ok"; }
};

/// One certificate.
struct CertStatus {
  std::string what;  ///< "CA", "proxy.fate.org", "9999.fate.org", "Secret fate-9999/pulsar-cert"
  std::string not_after;
  long days_left = 0;
  std::string state;  ///< "ok", "expires soon", "expired", "missing", "differs from pki/9999.crt"
  bool ok() const { return state == "ok"; }
};

/// The whole screen.
struct StatusReport {
  std::vector<SiteStatus> sites;
  std::vector<RouteStatus> routes;
  std::vector<std::string> live;  ///< the Exchange's pods against its record (one line each)
  bool live_ok = true;
  std::vector<CertStatus> certs;
  Connectivity check;
  bool check_complete = false;  ///< every pair has a result
  bool ok() const;
};

/// Reads everything (nothing is changed). `warn_days`: certificates expiring sooner are off.
StatusReport status(const Federation& f, const std::string& kubeconfig, int warn_days = 30);

YAML::Node status_yaml(const Federation& f, const StatusReport& r);
std::string status_text(const Federation& f, const StatusReport& r);

}  // namespace fatectl::federation
