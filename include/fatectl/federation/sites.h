#pragma once
// Each site's KubeFATE spec as the federation needs it: the spec a party or the Exchange starts
// from (its file, or fatectl's defaults for the engine and chart version), the finished party spec
// (the Exchange's address, Service types, the peers its own route tables name), the Exchange's spec
// with every party's route, and the checks of a starting spec against the federation.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fatectl/federation/federation.h"
#include "fatectl/ops/exchange_certs.h"
#include "fatectl/ops/routes.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::federation {

/// Where the parties reach the Exchange.
struct ExchangeAddress {
  std::string host;
  int sni_port = 0;                     ///< Pulsar: Traffic Server (443 in the pod)
  int nginx_http = 0, nginx_grpc = 0;   ///< Pulsar: nginx (9300/9310)
  int rollsite_port = 0;                ///< Eggroll/OSX: rollsite (9370)
  std::string source;                   ///< "Service traffic-server NodePort 30007 on node a-1 (ExternalIP)", "exchange.address"
  bool complete(const Federation& f) const;
  std::string str(const Federation& f) const;  ///< "10.0.0.1 (sni 30007, nginx 30003/30008)"
};

/// Where the Exchange reaches a party (what its routes point at).
struct PartyAddress {
  long party = 0;
  std::optional<ops::HostPort> tunnel;          ///< Pulsar broker TLS (6651)
  std::optional<ops::NginxEndpoint> proxy;      ///< the party's nginx (9300/9310)
  std::optional<ops::NginxEndpoint> fateflow;   ///< FATE Flow (9380/9360)
  std::optional<ops::HostPort> rollsite;        ///< rollsite / osx (9370)
  std::string source;
  bool complete(const Federation& f) const;
  /// One line: "tunnel 10.0.0.2:30109, proxy 10.0.0.2:30103:30108, fateflow 10.0.0.2:30107:30102".
  std::string str() const;
  /// Where its federation traffic goes: the tunnel (Pulsar) or rollsite address.
  std::string main() const;
  bool operator==(const PartyAddress& o) const { return str() == o.str(); }
};

/// NodePorts chosen ahead of time (provision: the sites cannot be asked), by spec key path
/// ("pulsar.httpsNodePort"). `up` leaves them to the cluster.
using NodePortPins = std::map<std::string, int>;

/// A site's starting spec, parsed and valid.
struct StartSpec {
  std::string label;  ///< its file, or "defaults for party 9999"
  spec::ClusterSpec spec;
};
/// The spec party `p` starts from. Throws Invalid (FILE:LINE:COL) for a bad spec file.
StartSpec party_start(const Federation& f, const Party& p);
/// The spec the Exchange starts from.
StartSpec exchange_start(const Federation& f);

/// The NodePort keys a site's Services need for the federation's engine (what provision pins).
std::vector<std::string> party_nodeport_keys(const Federation& f);
std::vector<std::string> exchange_nodeport_keys(const Federation& f);

/// The finished spec of party `p`: its start spec with NodePort (or LoadBalancer) Services for
/// what the Exchange reaches, the Exchange's address, and -- when its own route tables name peers
/// (rollsite/osx partyList, the Pulsar route table, nginx route table) -- every other member,
/// reached through the Exchange. `ex` must be complete. Deterministic text.
std::string party_spec_text(const Federation& f, const Party& p, const ExchangeAddress& ex, const NodePortPins& pins = {});
/// The Exchange's spec without routes (the route tables are emptied; the routes are the
/// transaction's). Deterministic text.
std::string exchange_base_text(const Federation& f, const NodePortPins& pins = {});
/// The route of one party, as `exchange route add` takes it.
ops::RouteChange party_route(const Federation& f, const PartyAddress& a);
/// The Exchange's spec with a route for each address (in the order given).
std::string exchange_text_with_routes(const Federation& f, const std::string& base, const std::vector<PartyAddress>& addrs);

/// An Exchange spec without its route tables: equal for two specs that differ only in routes.
/// Throws Invalid for text that does not parse.
std::string exchange_without_routes(const std::string& text);

/// What `certs exchange` is asked for to issue every certificate and Secret of the federation.
ops::ExchangeCertsOptions cert_options(const Federation& f);

/// The parties whose own route tables name peers (they change when a member comes or goes).
bool names_peers(const Federation& f, const Party& p);

/// Checks a party's starting spec against the federation (partyId, namespace, engine, modules,
/// the exchange settings, peers named in its own tables); appends to `out`.
void check_party_spec(const Federation& f, const Party& p, const spec::ClusterSpec& s, std::vector<spec::Diagnostic>& out);
/// Checks the Exchange's starting spec (chart, modules for the engine, routes only to members).
void check_exchange_spec(const Federation& f, const spec::ClusterSpec& s, std::vector<spec::Diagnostic>& out);

/// A line of a header comment written atop generated specs.
std::string generated_header(const Federation& f, const std::string& site);

}  // namespace fatectl::federation
