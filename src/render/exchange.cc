// Chart fate-exchange: trafficServer (Apache Traffic Server tunnelling Pulsar TLS by SNI),
// nginx (HTTP/gRPC control traffic of Spark parties) and rollsite (Eggroll star network).
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

void traffic_server(Ctx& c, const std::string& f) {
  YAML::Node cfg = c.base(f, "ConfigMap", "traffic-server-config");
  Ctx::set_data(cfg, "ssl_multicert.config", c.text("exchange/ssl_multicert.config"));
  Ctx::set_data(cfg, "records.config", ats_records_config(c));
  c.add("trafficServer", cfg, "traffic-server");
  YAML::Node sni = c.base(f, "ConfigMap", "traffic-server-sni");
  Ctx::set_data(sni, "sni.yaml", ats_sni_yaml(c));
  c.add("trafficServer", sni, "traffic-server");

  YAML::Node svc = c.base(f, "Service", "traffic-server");
  c.service(svc, c.str({"trafficServer", "type"}, "ClusterIP"), {{"443", "nodePort"}}, {"trafficServer"});
  svc["spec"]["selector"] = c.match_labels("traffic-server");
  c.add("trafficServer", svc, "traffic-server");

  YAML::Node dep = c.base(f, "Deployment", "traffic-server");
  dep["spec"]["replicas"] = c.num({"trafficServer", "replicas"}, 1);
  c.workload(dep, "traffic-server", {"trafficServer"});
  // the chart pulls an untagged image (= latest); the tag is written out and can be pinned
  container(dep, "traffic-server")["image"] =
      c.registry + "/trafficserver:" + c.str({"trafficServer", "imageTag"}, "latest");
  c.add("trafficServer", dep, "traffic-server");
}

void nginx(Ctx& c, const std::string& f) {
  YAML::Node cm = c.base(f, "ConfigMap", "nginx-config");
  Ctx::set_data(cm, "route_table.yaml", nginx_route_table_yaml(c, true));
  Ctx::set_data(cm, "nginx.conf", c.text("exchange/nginx.conf"));
  c.add("nginx", cm, "nginx");
  YAML::Node dep = c.base(f, "Deployment", "nginx");
  dep["spec"]["replicas"] = c.num({"nginx", "replicas"}, 1);
  c.workload(dep, "nginx", {"nginx"});
  container(dep, "nginx")["image"] = c.image("nginx");
  c.add("nginx", dep, "nginx");
  YAML::Node svc = c.base(f, "Service", "nginx");
  c.service(svc, c.raw({"nginx", "type"}, "NodePort").empty() ? std::string("ClusterIP") : c.raw({"nginx", "type"}, "NodePort"), {{"http", "httpNodePort"}, {"grpc", "grpcNodePort"}}, {"nginx"});
  svc["spec"]["selector"] = c.match_labels("nginx");
  c.add("nginx", svc, "nginx");
}

void rollsite(Ctx& c, const std::string& f) {
  bool tls = c.flag({"rollsite", "enableTLS"});
  YAML::Node cm = c.base(f, "ConfigMap", "rollsite-config");
  std::string props = c.text("exchange/rollsite-eggroll.properties");
  props = set_property(props, "eggroll.rollsite.coordinator", c.party_name);
  props = set_property(props, "eggroll.rollsite.party.id", c.party_id);
  if (tls) {
    for (auto [k, v] : std::initializer_list<std::pair<const char*, const char*>>{
             {"eggroll.core.security.secure.cluster.enabled", "true"},
             {"eggroll.core.security.secure.client.auth.enabled", "true"},
             {"eggroll.core.security.ca.crt.path", "conf/cert/ca.pem"},
             {"eggroll.core.security.crt.path", "conf/cert/server.crt"},
             {"eggroll.core.security.key.path", "conf/cert/server.key"},
             {"eggroll.core.security.client.ca.crt.path", "conf/cert/ca.pem"},
             {"eggroll.core.security.client.crt.path", "conf/cert/client.crt"},
             {"eggroll.core.security.client.key.path", "conf/cert/client.key"}})
      props = set_property(props, k, v);
  }
  Ctx::set_data(cm, "eggroll.properties", props);
  Ctx::set_data(cm, "route_table.json", rollsite_route_table_json(c, true));
  c.add("rollsite", cm, "rollsite");

  YAML::Node dep = c.base(f, "Deployment", "rollsite");
  c.workload(dep, "rollsite", {"rollsite"});
  YAML::Node ctr = container(dep, "rollsite");
  ctr["image"] = c.image("eggroll");
  if (tls) {
    YAML::Node m(YAML::NodeType::Map);
    m["mountPath"] = "/data/projects/fate/eggroll/conf/cert/";
    m["name"] = "eggroll-certs";
    ctr["volumeMounts"].push_back(m);
    YAML::Node v(YAML::NodeType::Map);
    v["name"] = "eggroll-certs";
    v["secret"]["secretName"] = "eggroll-certs";
    dep["spec"]["template"]["spec"]["volumes"].push_back(v);
  }
  c.add("rollsite", dep, "rollsite");

  YAML::Node svc = c.base(f, "Service", "rollsite");
  c.service(svc, c.str({"rollsite", "type"}, "ClusterIP"), {{"tcp-rollsite", "nodePort"}}, {"rollsite"});
  svc["spec"]["selector"] = c.match_labels("rollsite");
  c.add("rollsite", svc, "rollsite");
}

}  // namespace

void render_exchange(Ctx& c) {
  const std::string f = "exchange/exchange.yaml";
  if (c.has_module("rollsite")) rollsite(c, f);
  if (c.has_module("nginx")) nginx(c, f);
  if (c.has_module("trafficServer")) traffic_server(c, f);
}

}  // namespace fatectl::render::detail
