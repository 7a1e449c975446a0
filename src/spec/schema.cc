// The key trees of KubeFATE cluster specs, written as data: one table for chart `fate`
// (each key tagged with the generations that read it) and one for chart `fate-exchange`.
// Facts come from each chart version's values-template.yaml (keys it reads) and its
// values-template-example.yaml (keys it documents).
#include "fatectl/spec/schema.h"

#include <initializer_list>

namespace fatectl::spec::schema {

unsigned gen_bit(Generation g) {
  switch (g) {
    case Generation::Fate16: return G16;
    case Generation::Fate19: return G19;
    case Generation::Fate20: return G20;
    case Generation::Exchange: return GX;
  }
  return 0;
}

std::string gen_label(unsigned mask) {
  std::string s;
  auto add = [&](unsigned bit, const char* label) {
    if (!(mask & bit)) return;
    if (!s.empty()) s += ", ";
    s += label;
  };
  add(G16, "v1.6.x");
  add(G19, "v1.9-v1.11");
  add(G20, "v2.0.x");
  add(GX, "fate-exchange");
  return s;
}

const Field* Shape::field(const std::string& name, unsigned gen) const {
  for (const auto& f : fields)
    if (f.name == name && (f.gens & gen)) return &f;
  return nullptr;
}

std::string Shape::describe() const {
  switch (kind) {
    case Kind::Any: return "any value";
    case Kind::String: return "a string";
    case Kind::Int: return "an integer (" + std::to_string(min) + "-" + std::to_string(max) + ")";
    case Kind::Bool: return "true or false";
    case Kind::Port: return "a port number (1-65535)";
    case Kind::NodePort: return "a NodePort (30000-32767)";
    case Kind::PartyId: return "a party id (positive integer)";
    case Kind::Host: return "a host name or IP address";
    case Kind::HostPort: return "host:port";
    case Kind::Quantity: return "a Kubernetes quantity such as 1Gi";
    case Kind::Enum: {
      std::string s = "one of ";
      for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + values[i];
      return s;
    }
    case Kind::Map: return "a mapping";
    case Kind::MapOf: return "a mapping";
    case Kind::List: return "a list";
  }
  return "?";
}

namespace {

// ---- a tiny builder vocabulary --------------------------------------------------------

/// A Field under construction: F("type", svc_type()).req().in(G19 | G20).
struct F : Field {
  F(std::string n, ShapeP s) {
    name = std::move(n);
    shape = std::move(s);
  }
  F& req() {
    required = true;
    return *this;
  }
  F& in(unsigned g, std::string hint = "") {
    gens = g;
    moved = std::move(hint);
    return *this;
  }
};

ShapeP make(Kind k) {
  auto s = std::make_shared<Shape>();
  s->kind = k;
  return s;
}
ShapeP any() { return make(Kind::Any); }
ShapeP str() { return make(Kind::String); }
ShapeP secret_str() {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::String;
  s->secret = true;
  return s;
}
ShapeP integer(long long lo, long long hi) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::Int;
  s->min = lo;
  s->max = hi;
  return s;
}
ShapeP boolean() { return make(Kind::Bool); }
ShapeP port() { return make(Kind::Port); }
ShapeP node_port() { return make(Kind::NodePort); }
ShapeP party_id() { return make(Kind::PartyId); }
ShapeP host() { return make(Kind::Host); }
ShapeP host_port() { return make(Kind::HostPort); }
ShapeP quantity() { return make(Kind::Quantity); }
ShapeP one_of(std::initializer_list<const char*> v) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::Enum;
  for (auto* x : v) s->values.emplace_back(x);
  return s;
}
ShapeP map(std::initializer_list<F> fields) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::Map;
  for (const auto& f : fields) s->fields.push_back(f);
  return s;
}
ShapeP map_of(ShapeP value, Kind key_kind = Kind::String, bool allow_default = false) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::MapOf;
  s->item = std::move(value);
  s->key_kind = key_kind;
  s->allow_default_key = allow_default;
  return s;
}
ShapeP scalar_map() {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::MapOf;
  s->item = str();
  s->scalar_map = true;
  return s;
}
ShapeP list(ShapeP item) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::List;
  s->item = std::move(item);
  return s;
}

/// Appends fields to a map shape built earlier.
ShapeP with(ShapeP base, std::initializer_list<F> more) {
  auto s = std::make_shared<Shape>(*base);
  for (const auto& f : more) s->fields.push_back(f);
  return s;
}

// ---- shared pieces ----------------------------------------------------------------------

const unsigned G1x = G16 | G19;
const unsigned G19up = G19 | G20;

ShapeP svc_type() { return one_of({"ClusterIP", "NodePort", "LoadBalancer"}); }
ShapeP access_mode() { return one_of({"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}); }
ShapeP pull_policy() { return one_of({"Always", "IfNotPresent", "Never"}); }

/// resources.requests / limits: cpu, memory, ephemeral-storage, hugepages-<size> or a
/// domain-prefixed extended resource (nvidia.com/gpu), each with a quantity.
ShapeP resource_map() {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::MapOf;
  s->item = quantity();
  s->resource_names = true;
  return s;
}

ShapeP resources() {
  return map({F("requests", resource_map()), F("limits", resource_map()), F("claims", list(any()))});
}

/// nodeSelector, tolerations, affinity: accepted by every module.
std::vector<F> pod_keys(unsigned gens = GAll) {
  return {F("nodeSelector", scalar_map()).in(gens), F("tolerations", list(map_of(any()))).in(gens),
          F("affinity", map_of(any())).in(gens)};
}

ShapeP add(ShapeP base, const std::vector<F>& more) {
  auto s = std::make_shared<Shape>(*base);
  for (const auto& f : more) s->fields.push_back(f);
  return s;
}

const char* kImageHint = "per-module image/imageTag exist from chart v2.0 on; earlier charts use registry (and imageTag in v1.6)";

std::vector<F> image_keys() {
  return {F("image", str()).in(G20, kImageHint), F("imageTag", str()).in(G20, kImageHint)};
}

std::vector<F> storage_keys(bool sub_path = true) {
  std::vector<F> v = {F("existingClaim", str()), F("storageClass", str()), F("accessMode", access_mode()),
                      F("size", quantity())};
  if (sub_path) v.push_back(F("subPath", str()));
  return v;
}

ShapeP ingress_ui() {
  return map({F("annotations", scalar_map()),
              F("hosts", list(map({F("name", host()).req(), F("path", str())}))),
              F("tls", list(map({F("secretName", str()), F("hosts", list(host()))})))});
}

ShapeP party_list() {
  return list(map({F("partyId", party_id()).req(), F("partyIp", host()).req(), F("partyPort", port()).req()}));
}

ShapeP polling() {
  return map({F("enabled", boolean()), F("type", one_of({"server", "client"})),
              F("server", map({F("ip", host()), F("port", port())})),
              F("clientList", list(map({F("partID", party_id()).req()}))),
              F("concurrency", integer(1, 100000))});
}

/// rollsite (v1.x) and osx (v2.0) share one shape.
ShapeP rollsite_like() {
  auto s = map({F("type", svc_type()), F("nodePort", node_port()), F("loadBalancerIP", host()),
                F("enableTLS", boolean()).in(G19up | GX, "enableTLS arrived in chart v1.9"),
                F("exchange", map({F("ip", host()).req(), F("port", port()).req()})),
                F("partyList", party_list()), F("polling", polling()),
                F("resources", resources()).in(G19up, "rollsite.resources arrived in chart v1.9")});
  s = add(s, pod_keys());
  return add(s, image_keys());
}

ShapeP nginx_endpoint() {
  return map({F("host", host()).req(), F("http_port", port()).req(), F("grpc_port", port()).req()});
}
ShapeP nginx_route_table() {
  return map_of(map({F("proxy", list(nginx_endpoint())), F("fateflow", list(nginx_endpoint()))}), Kind::PartyId, true);
}

ShapeP spark_node(bool master) {
  auto s = map({F("Image", str()).in(G1x, "chart v2.0 spells it image"),
                F("ImageTag", str()).in(G1x, "chart v2.0 spells it imageTag"),
                F("image", str()).in(G20, "charts v1.x spell it Image"),
                F("imageTag", str()).in(G20, "charts v1.x spell it ImageTag"), F("replicas", integer(0, 1000)),
                F("resources", resources()), F("type", svc_type())});
  if (master) s = with(s, {F("nodePort", node_port())});
  return add(s, pod_keys());
}

// ---- chart fate ---------------------------------------------------------------------------

ShapeP build_fate() {
  auto python = map({
      F("replicas", integer(1, 1000)).in(G19up, "python.replicas arrived in chart v1.9"),
      F("resources", resources()),
      F("logLevel", one_of({"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"})).in(G19up, "python.logLevel arrived in chart v1.9"),
      F("type", svc_type()),
      F("httpNodePort", node_port()),
      F("grpcNodePort", node_port()),
      F("loadBalancerIP", host()),
      F("dependent_distribution", boolean()).in(G19up, "dependent_distribution arrived in chart v1.9"),
      F("serviceAccountName", str()),
      F("enabledNN", boolean()).in(G16, "enabledNN was replaced by algorithm: NN in chart v1.9"),
      F("failedTaskAutoRetryTimes", integer(0, 1000)).in(G19up),
      F("failedTaskAutoRetryDelay", integer(0, 86400)).in(G19up),
      F("claimName", str()),
      F("clustermanager", map({F("cores_per_node", integer(1, 100000)), F("nodes", integer(1, 100000))})),
      F("spark", map({F("cores_per_node", integer(1, 100000)), F("nodes", integer(1, 100000)), F("master", str()),
                      F("driverHost", str()), F("driverHostType", str()), F("portMaxRetries", integer(0, 10000)),
                      F("driverStartPort", port()), F("blockManagerStartPort", port()), F("pysparkPython", str())})),
      F("hdfs", map({F("name_node", str()), F("path_prefix", str())})),
      F("pulsar", map({F("host", host()), F("mng_port", port()), F("port", port()),
                       F("topic_ttl", integer(0, 1000000)).in(G19up), F("cluster", str()).in(G19up),
                       F("tenant", str()).in(G19up)})),
      F("rabbitmq", map({F("host", host()), F("mng_port", port()), F("port", port()), F("user", str()),
                         F("password", secret_str())})),
      F("nginx", map({F("host", host()), F("http_port", port()), F("grpc_port", port())})),
      F("hive", map({F("host", host()), F("port", port()), F("auth_mechanism", str()), F("username", str()),
                     F("password", secret_str())}))
          .in(G19up, "python.hive arrived in chart v1.9"),
  });
  python = add(add(add(python, pod_keys()), storage_keys(false)), image_keys());

  auto fateboard = map({F("type", svc_type()), F("username", str()), F("password", secret_str())});
  fateboard = add(add(fateboard, pod_keys(G19up)), image_keys());

  auto client = map({F("notebook_hashed_password", secret_str()).in(G19up, "notebook_hashed_password arrived in chart v1.9")});
  client = add(add(add(client, pod_keys()), storage_keys()), image_keys());

  auto mysql = map({F("type", svc_type()), F("ip", host()), F("port", port()), F("database", str()), F("user", str()),
                    F("password", secret_str())});
  mysql = add(add(add(mysql, pod_keys()), storage_keys()), image_keys());

  auto clustermanager = map({F("mysqlServerTimezone", str()).in(G19up),
                             F("resources", resources()).in(G19up, "clustermanager.resources arrived in chart v1.9")});
  clustermanager = add(add(clustermanager, pod_keys()), image_keys());

  auto nodemanager = map({F("count", integer(1, 1000)).in(G16, "chart v1.9 renamed nodemanager.count to replicas"),
                          F("replicas", integer(1, 1000)).in(G19up, "chart v1.6 calls it nodemanager.count"),
                          F("sessionProcessorsPerNode", integer(1, 100000)),
                          F("resources", resources()).in(G19up, "nodemanager.resources arrived in chart v1.9"),
                          F("subPath", str()).in(G19up), F("existingClaim", str()).in(G19up),
                          F("storageClass", str()), F("accessMode", access_mode()), F("size", quantity())});
  nodemanager = add(add(nodemanager, pod_keys()), image_keys());

  auto lbrollsite = map({F("type", svc_type()), F("nodePort", node_port()), F("loadBalancerIP", host()),
                         F("size", quantity()),
                         F("exchangeList", list(map({F("id", party_id()).req(), F("ip", host()).req(),
                                                     F("port", port()).req()}))),
                         F("resources", resources()).in(G19up)});
  lbrollsite = add(add(lbrollsite, pod_keys()), image_keys());

  auto spark = map({F("master", spark_node(true)), F("worker", spark_node(false))});

  auto hdfs_node = [](bool name) {
    auto s = map({F("type", svc_type()), F("image", str()).in(G20, kImageHint), F("imageTag", str()).in(G20, kImageHint)});
    if (name) s = with(s, {F("nodePort", node_port())});
    else s = with(s, {F("replicas", integer(1, 1000)).in(G19up, "datanode.replicas arrived in chart v1.9")});
    return add(add(s, pod_keys()), storage_keys(false));
  };
  auto hdfs = map({F("namenode", hdfs_node(true)), F("datanode", hdfs_node(false)),
                   F("image", str()).in(G20, kImageHint), F("imageTag", str()).in(G20, kImageHint)});

  auto nginx = map({F("type", svc_type()), F("httpNodePort", node_port()), F("grpcNodePort", node_port()),
                    F("loadBalancerIP", host()),
                    F("exchange", map({F("ip", host()).req(), F("httpPort", port()).req(), F("grpcPort", port()).req()})),
                    F("route_table", nginx_route_table())});
  nginx = add(add(nginx, pod_keys()), image_keys());

  auto rabbitmq = map({F("type", svc_type()), F("nodePort", node_port()), F("loadBalancerIP", host()),
                       F("default_user", str()), F("default_pass", secret_str()), F("user", str()),
                       F("password", secret_str()),
                       F("resources", resources()).in(G19up, "rabbitmq.resources arrived in chart v1.9"),
                       F("route_table", map_of(map({F("host", host()).req(), F("port", port()).req()}), Kind::PartyId))});
  rabbitmq = add(add(rabbitmq, pod_keys()), image_keys());

  auto pulsar = map({F("type", svc_type()), F("httpNodePort", node_port()), F("httpsNodePort", node_port()),
                     F("loadBalancerIP", host()), F("publicLB", map({F("enabled", boolean())})),
                     F("exchange", map({F("ip", host()).req(), F("port", port()).req(), F("domain", host())})),
                     F("route_table", map_of(map({F("host", host()).req(), F("port", port()).req(),
                                                  F("sslPort", port()), F("proxy", str())}),
                                             Kind::PartyId, true)),
                     F("env", list(map({F("name", str()).req(), F("value", str()), F("valueFrom", map_of(any()))})))
                         .in(G19up, "pulsar.env arrived in chart v1.9"),
                     F("confs", map({F("backlogQuotaDefaultLimitGB", integer(-1, 1000000)),
                                     F("brokerDeleteInactiveTopicsFrequencySeconds", integer(0, 100000000))}))
                         .in(G19up, "pulsar.confs arrived in chart v1.9"),
                     F("resources", resources()).in(G19up, "pulsar.resources arrived in chart v1.9")});
  pulsar = add(add(add(pulsar, pod_keys()), storage_keys(false)), image_keys());

  auto ingress = map({F("fateboard", ingress_ui()), F("client", ingress_ui()), F("spark", ingress_ui()),
                      F("rabbitmq", ingress_ui()), F("pulsar", ingress_ui())});

  return map({
      F("name", str()).req(),
      F("namespace", str()).req(),
      F("chartName", str()).req(),
      F("chartVersion", str()).req(),
      F("partyId", party_id()).req(),
      F("registry", str()),
      F("imageTag", str()).in(G16, "global imageTag was removed in chart v1.9: images take the chart's tag (v2.0: per-module image/imageTag)"),
      F("pullPolicy", pull_policy()),
      F("imagePullSecrets", list(map({F("name", str()).req()}))),
      F("persistence", boolean()),
      F("istio", map({F("enabled", boolean())})),
      F("podSecurityPolicy", map({F("enabled", boolean())})),
      F("ingressClassName", str()).in(G19up, "ingressClassName arrived in chart v1.8"),
      F("modules", list(str())).req(),
      F("backend", one_of({"eggroll", "spark"})).in(G16, "chart v1.9 replaced backend with computing/federation/storage"),
      F("computing", one_of({"Eggroll", "Spark", "Spark_local"})).req().in(G19up, "chart v1.6 uses backend: eggroll|spark"),
      F("federation", one_of({"Eggroll", "OSX", "Pulsar", "RabbitMQ"})).req().in(G19up, "chart v1.6 uses backend: eggroll|spark"),
      F("storage", one_of({"Eggroll", "HDFS", "LocalFS", "Hive"})).req().in(G19up, "chart v1.6 uses backend: eggroll|spark"),
      F("algorithm", one_of({"Basic", "NN", "ALL"})).in(G19up, "chart v1.6 uses python.enabledNN"),
      F("device", one_of({"CPU", "IPCL", "GPU"})).in(G19up, "device arrived in chart v1.9"),
      F("skippedKeys", list(str())).in(G19up, "skippedKeys arrived in chart v1.9"),
      F("ingress", ingress),
      F("host", map({F("fateboard", host()), F("client", host()), F("sparkUI", host()), F("rabbitmqUI", host()),
                     F("pulsarUI", host())}))
          .in(G16, "chart v1.9 replaced host.* with ingress.<ui>.hosts"),
      F("externalMysqlIp", host()),
      F("externalMysqlPort", port()),
      F("externalMysqlDatabase", str()),
      F("externalMysqlUser", str()),
      F("externalMysqlPassword", secret_str()),
      F("servingIp", host()),
      F("servingPort", port()),
      F("serving", map({F("useRegistry", boolean()),
                        F("zookeeper", map({F("hosts", list(host_port())), F("use_acl", boolean()), F("user", str()),
                                            F("password", secret_str())}))})),
      F("rollsite", rollsite_like()).in(G1x, "chart v2.0 replaced rollsite with osx"),
      F("osx", rollsite_like()).in(G20, "osx exists from chart v2.0 on; v1.x uses rollsite"),
      F("lbrollsite", lbrollsite),
      F("python", python),
      F("fateboard", fateboard),
      F("client", client),
      F("mysql", mysql),
      F("clustermanager", clustermanager),
      F("nodemanager", nodemanager),
      F("spark", spark),
      F("hdfs", hdfs),
      F("nginx", nginx),
      F("rabbitmq", rabbitmq),
      F("pulsar", pulsar),
  });
}

// ---- chart fate-exchange --------------------------------------------------------------

ShapeP build_exchange() {
  auto rollsite = map({F("type", svc_type()), F("nodePort", node_port()), F("loadBalancerIP", host()),
                       F("enableTLS", boolean()), F("partyList", party_list()),
                       F("exchange", map({F("ip", host()).req(), F("port", port()).req()}))});
  rollsite = add(rollsite, pod_keys());
  auto nginx = map({F("type", svc_type()), F("replicas", integer(1, 1000)), F("httpNodePort", node_port()),
                    F("grpcNodePort", node_port()), F("loadBalancerIP", host()), F("route_table", nginx_route_table())});
  nginx = add(nginx, pod_keys());
  // imageTag: KubeFATE's trafficserver image is untagged; fatectl lets the operator pin it.
  auto ts = map({F("type", svc_type()), F("replicas", integer(1, 1000)), F("nodePort", node_port()),
                 F("loadBalancerIP", host()), F("imageTag", str()),
                 F("route_table", map({F("sni", list(map({F("fqdn", host()).req(), F("tunnelRoute", host_port()).req()})))}))});
  ts = add(ts, pod_keys());
  return map({
      F("name", str()).req(),
      F("namespace", str()).req(),
      F("chartName", str()).req(),
      F("chartVersion", str()).req(),
      F("partyId", party_id()).req(),
      F("registry", str()),
      F("imageTag", str()),
      F("pullPolicy", pull_policy()),
      F("imagePullSecrets", list(map({F("name", str()).req()}))),
      F("persistence", boolean()),
      F("istio", map({F("enabled", boolean())})),
      F("podSecurityPolicy", map({F("enabled", boolean())})),
      F("modules", list(str())).req(),
      F("rollsite", rollsite),
      F("nginx", nginx),
      F("trafficServer", ts),
  });
}

}  // namespace

const Shape& fate_root() {
  static const ShapeP s = build_fate();
  return *s;
}

const Shape& exchange_root() {
  static const ShapeP s = build_exchange();
  return *s;
}

const Shape& root_for(Generation g) { return g == Generation::Exchange ? exchange_root() : fate_root(); }

const std::vector<std::string>& module_names(Generation g) {
  static const std::vector<std::string> v1 = {"rollsite", "lbrollsite", "clustermanager", "nodemanager", "mysql",
                                              "python",   "fateboard",  "client",         "spark",       "hdfs",
                                              "nginx",    "rabbitmq",   "pulsar"};
  static const std::vector<std::string> v2 = {"osx",    "lbrollsite", "clustermanager", "nodemanager", "mysql",
                                              "python", "fateboard",  "client",         "spark",       "hdfs",
                                              "nginx",  "rabbitmq",   "pulsar"};
  static const std::vector<std::string> ex = {"rollsite", "nginx", "trafficServer"};
  switch (g) {
    case Generation::Fate20: return v2;
    case Generation::Exchange: return ex;
    default: return v1;
  }
}

}  // namespace fatectl::spec::schema
