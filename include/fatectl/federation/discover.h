#pragma once
// Where a site is reached from outside its cluster, read from its Services: a LoadBalancer's
// ingress (ip or hostname, the Service port) or a NodePort on a node's address (ExternalIP, else
// InternalIP, of the first Ready schedulable node by name) -- or the file's `address` with the
// Service's NodePort.
#include <optional>
#include <string>

#include "fatectl/federation/sites.h"
#include "fatectl/kube/client.h"

namespace fatectl::federation {

/// How one Service port is reached from outside.
struct Reach {
  std::string host;
  int port = 0;
  std::string source;  ///< "Service fate-9999/pulsar NodePort 30109 on node w1 (ExternalIP)"
};

/// The address NodePorts are reached at: `override` when given, else a node's. Throws Failed
/// naming what to set when no node has one (or nodes cannot be listed).
std::string node_address(kube::Client& c, const std::string& override_host, std::string* source = nullptr);

/// Service `svc` port `port_name` in `ns`: nullopt when the Service does not exist; throws Failed
/// when it exists but is not reachable from outside (ClusterIP, a LoadBalancer still pending).
std::optional<Reach> reach_service(kube::Client& c, const std::string& ns, const std::string& svc,
                                   const std::string& port_name, const std::string& override_host);

/// The Exchange's address, from its Services; nullopt when it is not installed yet.
std::optional<ExchangeAddress> discover_exchange(kube::Client& c, const Federation& f);
/// A party's address, from its Services; nullopt when it is not installed yet.
std::optional<PartyAddress> discover_party(kube::Client& c, const Federation& f, const Party& p);

}  // namespace fatectl::federation
