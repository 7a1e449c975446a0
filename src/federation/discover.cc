// Reading where a site is reached from its Services and the cluster's nodes.
#include "fatectl/federation/discover.h"

#include <algorithm>

#include "fatectl/core/error.h"
#include "fatectl/kube/api.h"

namespace fatectl::federation {

using kube::F;

namespace {

/// Lazily resolves the node address once per discovery.
struct NodeHost {
  kube::Client& c;
  const std::string& override_host;
  std::string host, source;
  const std::string& get() {
    if (host.empty()) host = node_address(c, override_host, &source);
    return host;
  }
};

std::optional<Reach> reach(kube::Client& c, const std::string& ns, const std::string& svc, const std::string& port_name,
                           NodeHost& nh) {
  auto obj = kube::get(c, kube::ObjectRef{"v1", "Service", ns, svc});
  if (!obj) return std::nullopt;
  const YAML::Node& o = *obj;
  std::string type = F(o)["spec"]["type"].str();
  std::string what = "Service " + ns + "/" + svc;
  YAML::Node port;
  for (const auto& p : F(o)["spec"]["ports"])
    if (F(p)["name"].str() == port_name) port.reset(p);
  if (!port) throw failed(what + " has no port named '" + port_name + "'");
  Reach r;
  if (type == "LoadBalancer") {
    for (const auto& ing : F(o)["status"]["loadBalancer"]["ingress"]) {
      std::string a = F(ing)["ip"].str().empty() ? F(ing)["hostname"].str() : F(ing)["ip"].str();
      if (a.empty()) continue;
      r.host = nh.override_host.empty() ? a : nh.override_host;
      r.port = static_cast<int>(F(port)["port"].num());
      r.source = what + " LoadBalancer " + a + ":" + std::to_string(r.port);
      return r;
    }
    if (F(port)["nodePort"].num() <= 0)
      throw failed(what + " is a LoadBalancer without an ingress address yet; wait for the cloud's load balancer, "
                          "or set the site's `address:`");
  } else if (type != "NodePort") {
    throw failed(what + " is " + (type.empty() ? std::string("ClusterIP") : type) +
                 ": nothing outside the cluster reaches it (the federation needs NodePort or LoadBalancer)");
  }
  long np = F(port)["nodePort"].num();
  if (np <= 0) throw failed(what + " has no nodePort for port '" + port_name + "' yet");
  r.host = nh.get();
  r.port = static_cast<int>(np);
  r.source = what + " NodePort " + std::to_string(np) + " on " + nh.source;
  return r;
}

ops::NginxEndpoint endpoint(const Reach& http, const Reach& grpc) {
  ops::NginxEndpoint e;
  e.host = http.host;
  e.http_port = http.port;
  e.grpc_port = grpc.port;
  return e;
}

}  // namespace

std::string node_address(kube::Client& c, const std::string& override_host, std::string* source) {
  if (!override_host.empty()) {
    if (source) *source = override_host + " (the federation file's address)";
    return override_host;
  }
  std::vector<YAML::Node> nodes;
  try {
    nodes = kube::list(c, "v1", "Node", "");
  } catch (const Error& e) {
    throw Error(e.kind(), std::string("cannot list the cluster's nodes to find the address of its NodePorts (") + e.what() +
                              "); set the site's `address:` in the federation file");
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const YAML::Node& a, const YAML::Node& b) { return F(a)["metadata"]["name"].str() < F(b)["metadata"]["name"].str(); });
  for (const char* kind : {"ExternalIP", "InternalIP"}) {
    for (const auto& n : nodes) {
      bool ready = false;
      for (const auto& cond : F(n)["status"]["conditions"])
        if (F(cond)["type"].str() == "Ready") ready = F(cond)["status"].str() == "True";
      if (!ready || F(n)["spec"]["unschedulable"].str() == "true") continue;
      for (const auto& a : F(n)["status"]["addresses"])
        if (F(a)["type"].str() == kind && !F(a)["address"].str().empty()) {
          if (source) *source = "node " + F(n)["metadata"]["name"].str() + " (" + kind + ")";
          return F(a)["address"].str();
        }
    }
  }
  throw failed("no Ready node of the cluster has an ExternalIP or InternalIP address for its NodePorts; set the "
               "site's `address:` in the federation file");
}

std::optional<Reach> reach_service(kube::Client& c, const std::string& ns, const std::string& svc,
                                   const std::string& port_name, const std::string& override_host) {
  NodeHost nh{c, override_host, "", ""};
  return reach(c, ns, svc, port_name, nh);
}

std::optional<ExchangeAddress> discover_exchange(kube::Client& c, const Federation& f) {
  NodeHost nh{c, f.exchange.address, "", ""};
  const std::string& ns = f.exchange.namespace_;
  ExchangeAddress a;
  if (f.pulsar()) {
    auto ts = reach(c, ns, "traffic-server", "443", nh);
    if (!ts) return std::nullopt;
    auto http = reach(c, ns, "nginx", "http", nh), grpc = reach(c, ns, "nginx", "grpc", nh);
    if (!http || !grpc) throw failed("the Exchange has Service " + ns + "/traffic-server but no Service nginx");
    a.host = ts->host;
    a.sni_port = ts->port;
    a.nginx_http = http->port;
    a.nginx_grpc = grpc->port;
    a.source = ts->source;
    if (http->host != ts->host)
      throw failed("the Exchange's Traffic Server (" + ts->source + ") and nginx (" + http->source +
                   ") are reached at different hosts; parties take one Exchange address -- set exchange.address");
  } else {
    auto rs = reach(c, ns, "rollsite", "tcp-rollsite", nh);
    if (!rs) return std::nullopt;
    a.host = rs->host;
    a.rollsite_port = rs->port;
    a.source = rs->source;
  }
  return a;
}

std::optional<PartyAddress> discover_party(kube::Client& c, const Federation& f, const Party& p) {
  NodeHost nh{c, p.address, "", ""};
  const std::string& ns = p.namespace_;
  PartyAddress a;
  a.party = p.id;
  if (f.pulsar()) {
    auto lb = kube::get(c, kube::ObjectRef{"v1", "Service", ns, "pulsar-public-tls"});
    auto tunnel = lb ? reach(c, ns, "pulsar-public-tls", "tls-port", nh) : reach(c, ns, "pulsar", "https-port", nh);
    if (!tunnel) return std::nullopt;
    auto nh_http = reach(c, ns, "nginx", "http", nh), nh_grpc = reach(c, ns, "nginx", "grpc", nh);
    auto ff_http = reach(c, ns, "fateflow-client", "tcp-http", nh), ff_grpc = reach(c, ns, "fateflow-client", "tcp-grpc", nh);
    if (!nh_http || !nh_grpc) throw failed("party " + std::to_string(p.id) + " has no Service " + ns + "/nginx");
    if (!ff_http || !ff_grpc) throw failed("party " + std::to_string(p.id) + " has no Service " + ns + "/fateflow-client");
    a.tunnel = ops::HostPort{tunnel->host, tunnel->port};
    a.proxy = endpoint(*nh_http, *nh_grpc);
    a.fateflow = endpoint(*ff_http, *ff_grpc);
    a.source = tunnel->source;
  } else {
    const char* m = f.engine == kEngineOSX ? "osx" : "rollsite";
    auto rs = reach(c, ns, m, std::string("tcp-") + m, nh);
    if (!rs) return std::nullopt;
    a.rollsite = ops::HostPort{rs->host, rs->port};
    a.source = rs->source;
  }
  return a;
}

}  // namespace fatectl::federation
