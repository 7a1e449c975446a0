#pragma once
// The Exchange route table in a fate-exchange spec: Traffic Server SNI routes, nginx routes and
// the rollsite party list — reading with file:line errors, validation, and edits that keep the
// rest of the operator's file byte for byte.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "fatectl/core/error.h"

namespace fatectl::ops {

/// "host:port" with a port in 1..65535 (IPv6 in brackets: "[fd00::1]:30109").
struct HostPort {
  std::string host;
  int port = 0;
  std::string str() const;
};
/// Parses "host:port"; throws Invalid naming `what` (e.g. "--tunnel").
HostPort parse_host_port(const std::string& s, const std::string& what);

/// One nginx endpoint "host:http_port:grpc_port" (a party's nginx or FATE Flow NodePorts).
struct NginxEndpoint {
  std::string host;
  int http_port = 0;
  int grpc_port = 0;
  std::string str() const;  ///< "host:http:grpc"
};
NginxEndpoint parse_nginx_endpoint(const std::string& s, const std::string& what);

/// trafficServer.route_table.sni[i]: TLS by SNI "<party>.<domain>" tunnelled to a party's
/// Pulsar TLS endpoint.
struct SniRoute {
  std::string fqdn;
  HostPort tunnel;
  long party = 0;  ///< the fqdn's first label when numeric, else 0
  Location where;
};
/// nginx.route_table.<party>: proxy (the party's nginx) and fateflow endpoints.
struct NginxRoute {
  long party = 0;
  std::vector<NginxEndpoint> proxy, fateflow;
  Location where;
};
/// rollsite.partyList[i].
struct RollsiteRoute {
  long party = 0;
  HostPort address;
  Location where;
};

/// Every route of an exchange spec.
struct RouteTable {
  std::vector<SniRoute> sni;
  std::vector<NginxRoute> nginx;
  std::vector<RollsiteRoute> rollsite;
  std::string connect_ports;  ///< Traffic Server's proxy.config.http.connect_ports in effect
  bool has_sni_section = false, has_nginx_section = false, has_rollsite_section = false;
};

/// KubeFATE's exchange chart value for proxy.config.http.connect_ports.
inline constexpr const char* kDefaultConnectPorts = "443 6650-6700 30000-33000";

/// Reads the route tables of a parsed exchange spec; malformed entries throw Invalid with
/// FILE:LINE:COL and the key path; duplicates (fqdn, party) are errors too.
RouteTable read_routes(const YAML::Node& root, const std::string& file);
/// Whether `port` is inside a connect_ports list ("443 6650-6700 30000-33000").
bool port_allowed(const std::string& connect_ports, int port);
/// Non-fatal findings: tunnel ports outside connect_ports, parties present in one table and
/// missing from another.
std::vector<std::string> route_warnings(const RouteTable& t);

/// A route change asked for on the command line. Add replaces a party's existing route
/// in each table it names (so changing a tunnel is another add).
struct RouteChange {
  long party = 0;
  std::string domain;                      ///< for the SNI fqdn; empty = inferred, else fate.org
  std::optional<HostPort> tunnel;          ///< SNI tunnel_route
  std::optional<NginxEndpoint> proxy;      ///< nginx proxy endpoint
  std::optional<NginxEndpoint> fateflow;   ///< nginx fateflow endpoint
  std::optional<HostPort> rollsite;        ///< rollsite partyList entry
};
/// Which tables `remove` touches (all by default).
struct RemoveScope {
  bool sni = true, nginx = true, rollsite = true;
};

/// What an edit did, for the report and for deciding what to apply and reload.
struct RouteEdit {
  std::string text;                 ///< the new file content
  bool sni_changed = false, nginx_changed = false, rollsite_changed = false;
  bool connect_ports_changed = false;  ///< needs a Traffic Server pod restart
  bool removed = false;             ///< a party was removed (nginx keeps it until restarted)
  std::vector<std::string> changes;   ///< one human line per change
  std::vector<std::string> warnings;
  RouteTable after;
};

/// The domain of the existing SNI routes when they all share one, else "fate.org".
std::string infer_domain(const RouteTable& t);

/// Applies an add to the spec text (`name` for messages). Only the route-table entries change;
/// the result is re-parsed and compared with the expected tree before it is returned.
RouteEdit add_route(const std::string& text, const std::string& name, const RouteChange& c);
/// Removes a party (and, for SNI, the fqdn "<party>.<domain>" or any fqdn whose first label is
/// the party) from the tables in scope. Throws Invalid when the party is in none of them.
RouteEdit remove_route(const std::string& text, const std::string& name, long party, const RemoveScope& scope,
                       const std::string& domain = "");

/// Parses a party id: digits only, 1..2^31-1 (what FATE accepts).
long parse_party_id(const std::string& s, const std::string& what);

/// The rendered Traffic Server sni.yaml for a route table (what the ConfigMap holds) — used to
/// check the file inside a pod. Same layout as render/: "sni:" then "  - fqdn:"/"    tunnel_route:".
std::string sni_yaml(const RouteTable& t);

/// Routes as a YAML tree (for -o json/yaml) and as table rows.
YAML::Node routes_to_yaml(const RouteTable& t);

}  // namespace fatectl::ops
