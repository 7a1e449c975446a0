// Structural tests over every object rendered from every example spec (and the specs in
// tests/render/specs), plus targeted checks of generated config files and chart rules.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "fatectl/core/yaml.h"
#include "fatectl/render/render.h"
#include "render_test_util.h"
#include "fatectl/spec/cluster_spec.h"

using namespace fatectl;

namespace {

std::string source_dir() {
  const char* s = std::getenv("FATECTL_SOURCE_DIR");
  return s ? s : ".";
}

// Every spec fatectl renders: examples of chart fate v1.6, v1.9-v1.11, v2.0 and fate-exchange
// (v1.6 and v1.11), and our own.
std::vector<std::string> render_specs() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const char* dir : {"examples/v1.6", "examples/v1.11", "examples/v2.0", "examples/exchange", "tests/render/specs"}) {
    fs::path p = fs::path(source_dir()) / dir;
    if (!fs::is_directory(p)) continue;
    for (const auto& e : fs::directory_iterator(p)) {
      if (e.path().extension() != ".yaml") continue;
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::map<std::string, std::string> kApiVersion = {
    {"Namespace", "v1"},
    {"ServiceAccount", "v1"},
    {"ConfigMap", "v1"},
    {"Secret", "v1"},
    {"Service", "v1"},
    {"PersistentVolumeClaim", "v1"},
    {"Deployment", "apps/v1"},
    {"StatefulSet", "apps/v1"},
    {"Ingress", "networking.k8s.io/v1"},
    {"Gateway", "networking.istio.io/v1alpha3"},
    {"VirtualService", "networking.istio.io/v1alpha3"},
    {"PodSecurityPolicy", "policy/v1beta1"},
    {"Role", "rbac.authorization.k8s.io/v1"},
    {"RoleBinding", "rbac.authorization.k8s.io/v1"},
};

// Secrets the user creates before install (certificates), documented in the examples.
const std::set<std::string> kUserSecrets = {"pulsar-cert", "traffic-server-cert", "eggroll-certs"};

bool dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}
bool dns1123_subdomain(const std::string& s) {
  if (s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!dns1123_label(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start))) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

bool subset(const YAML::Node& small, const YAML::Node& big) {
  if (!small.IsMap() || !big.IsMap()) return false;
  for (const auto& kv : small) {
    YAML::Node v = big[kv.first.Scalar()];
    if (!v || !v.IsScalar() || v.Scalar() != kv.second.Scalar()) return false;
  }
  return true;
}

void check_structure(const std::string& file, const std::vector<render::Object>& objs, const spec::ClusterSpec& s) {
  INFO("spec: " << file);
  REQUIRE(!objs.empty());
  CHECK(objs.front().kind() == "Namespace");
  CHECK(objs.front().name() == s.namespace_);
  std::set<std::string> seen, configmaps, secrets, secret_keys, claims;
  std::vector<YAML::Node> workloads;
  for (const auto& o : objs) {
    INFO("object: " << o.kind() << "/" << o.name());
    REQUIRE(kApiVersion.count(o.kind()) == 1);
    CHECK(o.node["apiVersion"].Scalar() == kApiVersion.at(o.kind()));
    CHECK(seen.insert(o.kind() + "/" + o.name()).second);  // unique
    if (o.kind() == "Service" || o.kind() == "Namespace") CHECK(dns1123_label(o.name()));
    else CHECK(dns1123_subdomain(o.name()));
    if (o.kind() == "Namespace" || o.kind() == "PodSecurityPolicy") CHECK(o.namespace_().empty());
    else CHECK(o.namespace_() == s.namespace_);
    YAML::Node labels = o.node["metadata"]["labels"];
    CHECK(labels["app.kubernetes.io/managed-by"].Scalar() == "fatectl");
    CHECK(labels["app.kubernetes.io/instance"].Scalar() == s.name);
    for (const auto& kv : labels) {
      CHECK(yaml::scalar_type(kv.second) == yaml::ScalarType::String);  // label values are strings
    }
    if (o.kind() == "ConfigMap") {
      configmaps.insert(o.name());
      for (const auto& kv : o.node["data"]) CHECK(yaml::scalar_type(kv.second) == yaml::ScalarType::String);
    }
    if (o.kind() == "Secret") {
      secrets.insert(o.name());
      for (const char* d : {"data", "stringData"})
        if (o.node[d])
          for (const auto& kv : o.node[d]) secret_keys.insert(o.name() + "/" + kv.first.Scalar());
    }
    if (o.kind() == "PersistentVolumeClaim") claims.insert(o.name());
    if (o.kind() == "Deployment" || o.kind() == "StatefulSet") workloads.push_back(o.node);
  }
  // workloads: selector matches the pod template; every mounted volume is rendered or user-provided
  std::set<std::string> claims_ok;
  for (const auto& w : workloads) {
    INFO("workload: " << w["metadata"]["name"].Scalar());
    YAML::Node sel = w["spec"]["selector"]["matchLabels"];
    YAML::Node tl = w["spec"]["template"]["metadata"]["labels"];
    CHECK(sel.size() > 0);
    CHECK(subset(sel, tl));
    YAML::Node pod = w["spec"]["template"]["spec"];
    std::set<std::string> vols;
    for (const auto& v : pod["volumes"]) {
      std::string name = v["name"].Scalar();
      vols.insert(name);
      if (v["configMap"]) CHECK_MESSAGE(configmaps.count(v["configMap"]["name"].Scalar()) == 1, "ConfigMap " << v["configMap"]["name"].Scalar());
      if (v["secret"]) {
        std::string sn = v["secret"]["secretName"].Scalar();
        CHECK_MESSAGE((kUserSecrets.count(sn) == 1 || secrets.count(sn) == 1), "Secret " << sn);
      }
      if (v["projected"])
        for (const auto& src : v["projected"]["sources"]) {  // a ConfigMap and its Secret (files with passwords)
        if (src["configMap"]) CHECK_MESSAGE(configmaps.count(src["configMap"]["name"].Scalar()) == 1, "ConfigMap " << src["configMap"]["name"].Scalar());
        if (src["secret"]) CHECK_MESSAGE(secrets.count(src["secret"]["name"].Scalar()) == 1, "Secret " << src["secret"]["name"].Scalar());
      }
      if (v["persistentVolumeClaim"]) {
        // a rendered PVC (chart v1.6) or an existing claim named in the spec
        std::string claim = v["persistentVolumeClaim"]["claimName"].Scalar();
        CHECK_MESSAGE((claims.count(claim) == 1 || yaml::to_yaml(s.root).find(claim) != std::string::npos),
                      "PVC " << claim << " neither rendered nor from the spec");
      }
    }
    for (const auto& t : w["spec"]["volumeClaimTemplates"]) vols.insert(t["metadata"]["name"].Scalar());
    for (const char* k : {"containers", "initContainers"})
      for (const auto& c : pod[k]) {
        CHECK(c["image"].IsScalar());
        CHECK(!c["image"].Scalar().empty());
        for (const auto& m : c["volumeMounts"]) CHECK_MESSAGE(vols.count(m["name"].Scalar()) == 1, "mount " << m["name"].Scalar());
        for (const auto& cm : c["envFrom"])
          if (cm["configMapRef"]) CHECK(configmaps.count(cm["configMapRef"]["name"].Scalar()) == 1);
        for (const auto& e : c["env"]) {
          if (e["value"]) CHECK(yaml::scalar_type(e["value"]) == yaml::ScalarType::String);
          if (e["valueFrom"] && e["valueFrom"]["secretKeyRef"])
            CHECK_MESSAGE(secret_keys.count(e["valueFrom"]["secretKeyRef"]["name"].Scalar() + "/" +
                                            e["valueFrom"]["secretKeyRef"]["key"].Scalar()) == 1,
                          "env " << e["name"].Scalar());
        }
      }
  }
  // Services: the selector picks a workload, and every port is a container port of it
  for (const auto& o : objs) {
    if (o.kind() != "Service") continue;
    INFO("service: " << o.name());
    YAML::Node sel = o.node["spec"]["selector"];
    const YAML::Node* target = nullptr;
    for (const auto& w : workloads)
      if (subset(sel, w["spec"]["template"]["metadata"]["labels"])) target = &w;
    REQUIRE_MESSAGE(target != nullptr, "no workload for Service " << o.name());
    std::set<long> cports;
    for (const auto& c : (*target)["spec"]["template"]["spec"]["containers"])
      for (const auto& p : c["ports"]) cports.insert(p["containerPort"].as<long>());
    std::string type = o.node["spec"]["type"] ? o.node["spec"]["type"].Scalar() : "ClusterIP";
    for (const auto& p : o.node["spec"]["ports"]) {
      CHECK_MESSAGE(cports.count(p["targetPort"].as<long>()) == 1, "port " << p["targetPort"].Scalar());
      if (p["nodePort"]) {
        CHECK(type != "ClusterIP");
        long np = p["nodePort"].as<long>();
        CHECK(np >= 30000);
        CHECK(np <= 32767);
      }
    }
    if (o.node["spec"]["clusterIP"] && o.node["spec"]["clusterIP"].Scalar() == "None") CHECK(type == "ClusterIP");
  }
}

const render::Object* find(const std::vector<render::Object>& objs, const std::string& kind, const std::string& name) {
  for (const auto& o : objs)
    if (o.kind() == kind && o.name() == name) return &o;
  return nullptr;
}

spec::ClusterSpec spec_text(const std::string& text) { return spec::parse(text, "test.yaml", {true}); }

// Party 9999 on Eggroll, chart v1.11.2: the top of the specs the tests below complete.
const char* kEggroll9999 = R"(name: fate-9999
namespace: fate-9999
chartName: fate
chartVersion: v1.11.2
partyId: 9999
modules: [rollsite, clustermanager, nodemanager, mysql, python, fateboard, client]
computing: Eggroll
federation: Eggroll
storage: Eggroll
algorithm: Basic
device: CPU
)";

}  // namespace

TEST_CASE("every object of every example is well-formed") {
  auto specs = render_specs();
  REQUIRE(specs.size() >= 5);
  for (const auto& f : specs) {
    spec::ClusterSpec s = spec::load(f, {true});
    for (const char* kv : {"", "1.24"}) {
      render::RenderOptions o;
      o.kube_version = kv;
      check_structure(f, render::render(s, o), s);
    }
  }
}

TEST_CASE("apply order: namespace, RBAC, config, services, workloads, ingress") {
  spec::ClusterSpec s = spec::load(source_dir() + "/examples/v1.11/party-9999-spark-pulsar.yaml", {true});
  auto objs = render::render(s);
  std::vector<std::string> order = {"Namespace", "ServiceAccount", "PodSecurityPolicy", "Role", "RoleBinding", "Secret",
                                    "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "StatefulSet", "Ingress"};
  auto rank = [&](const std::string& k) { return std::find(order.begin(), order.end(), k) - order.begin(); };
  for (size_t i = 1; i < objs.size(); ++i) CHECK(rank(objs[i - 1].kind()) <= rank(objs[i].kind()));
}

TEST_CASE("eggroll party: names, images and route table as the chart makes them") {
  auto s = spec_text(std::string(kEggroll9999) + R"(rollsite:
  type: NodePort
  nodePort: 30091
  partyList:
    - {partyId: 10000, partyIp: 192.168.10.1, partyPort: 30101}
python:
  type: NodePort
  httpNodePort: 30097
  grpcNodePort: 30092
)");
  auto objs = render::render(s);
  for (auto [k, n] : std::vector<std::pair<std::string, std::string>>{
           {"StatefulSet", "python"}, {"Service", "fateflow"}, {"Service", "fateflow-client"}, {"StatefulSet", "mysql"},
           {"Deployment", "rollsite"}, {"Service", "rollsite"}, {"Deployment", "clustermanager"},
           {"StatefulSet", "nodemanager"}, {"Secret", "eggroll-config"}, {"ConfigMap", "rollsite-config"},
           {"Deployment", "fateboard"}, {"StatefulSet", "client"}, {"Service", "notebook"}, {"Ingress", "fateboard"}})
    CHECK_MESSAGE(find(objs, k, n) != nullptr, k << "/" << n);
  auto imgs = render::images(s);
  CHECK(std::count(imgs.begin(), imgs.end(), "federatedai/fateflow:1.11.2-release") == 1);
  CHECK(std::count(imgs.begin(), imgs.end(), "federatedai/eggroll:1.11.2-release") == 1);
  CHECK(std::count(imgs.begin(), imgs.end(), "mysql:8.0.28") == 1);
  CHECK(std::count(imgs.begin(), imgs.end(), "fluent/fluent-bit:2.1.4") == 1);

  const auto* rs = find(objs, "ConfigMap", "rollsite-config");
  YAML::Node rt = yaml::parse(rs->node["data"]["route_table.json"].Scalar(), "route_table.json");
  CHECK(rt["route_table"]["default"]["default"][0]["ip"].Scalar() == "rollsite");
  CHECK(rt["route_table"]["10000"]["default"][0]["ip"].Scalar() == "192.168.10.1");
  CHECK(rt["route_table"]["10000"]["default"][0]["port"].as<int>() == 30101);
  CHECK(rt["route_table"]["9999"]["fateflow"][0]["port"].as<int>() == 9360);
  CHECK(rt["permission"]["default_allow"].as<bool>());

  const auto* svc = find(objs, "Service", "rollsite");
  CHECK(svc->node["spec"]["type"].Scalar() == "NodePort");
  CHECK(svc->node["spec"]["ports"][0]["nodePort"].as<int>() == 30091);
  const auto* headless = find(objs, "Service", "fateflow");
  CHECK(headless->node["spec"]["clusterIP"].Scalar() == "None");
  CHECK(!headless->node["spec"]["ports"][0]["nodePort"]);

  YAML::Node sc = yaml::parse(render::test::config_file(objs, "python-config", "service_conf.yaml"), "service_conf.yaml");
  CHECK(sc["party_id"].as<int>() == 9999);
  CHECK(sc["fateflow"]["proxy"].Scalar() == "rollsite");
  CHECK(sc["fateflow"]["host"].Scalar() == "fateflow_ip");
  CHECK(sc["default_engines"]["computing"].Scalar() == "eggroll");
  CHECK(sc["database"]["host"].Scalar() == "mysql");
  CHECK(sc["database"]["passwd"].Scalar() == "fate_dev");
  std::string props = render::test::config_file(objs, "eggroll-config", "eggroll.properties");
  CHECK(props.find("\neggroll.rollsite.party.id=9999\n") != std::string::npos);
  CHECK(props.find("jdbc:mysql://mysql:3306/eggroll_meta?useSSL=false&serverTimezone=UTC") != std::string::npos);
  CHECK(props.find("\neggroll.session.processors.per.node=4\n") != std::string::npos);
}

TEST_CASE("spark + pulsar through an exchange: TLS broker, route tables, no empty nginx default") {
  auto s = spec_text(R"(name: fate-10000
namespace: fate-10000
chartName: fate
chartVersion: v1.11.2
partyId: 10000
registry: harbor.local/fate
modules: [python, mysql, fateboard, client, spark, hdfs, nginx, pulsar]
computing: Spark
federation: Pulsar
storage: HDFS
persistence: true
pulsar:
  type: NodePort
  httpNodePort: 30104
  httpsNodePort: 30109
  exchange: {ip: 192.168.0.1, port: 30000}
  storageClass: "-"
)");
  auto objs = render::render(s);
  std::string conf = render::test::config_file(objs, "pulsar-config", "standalone.conf");
  CHECK(conf.find("\ntlsEnabled=true\n") != std::string::npos);
  CHECK(conf.find("\nbrokerServicePortTls=6651\n") != std::string::npos);
  CHECK(conf.find("\nbrokerClientTlsEnabled=true\n") != std::string::npos);
  CHECK(conf.find("\nbrokerServicePort=6650\n") == std::string::npos);
  YAML::Node prt = yaml::parse(render::test::config_file(objs, "pulsar-route-table", "pulsar_route_table.yaml"), "prt");
  CHECK(prt["default"]["proxy"].Scalar() == "192.168.0.1:30000");
  CHECK(prt["default"]["domain"].Scalar() == "fate.org");
  CHECK(prt["10000"]["host"].Scalar() == "pulsar");
  YAML::Node nrt = yaml::parse(render::test::config_file(objs, "nginx-config", "route_table.yaml"), "nrt");
  CHECK(!nrt["default"]);
  CHECK(nrt["10000"]["fateflow"][0]["http_port"].as<int>() == 9380);
  const auto* sts = find(objs, "StatefulSet", "pulsar");
  bool cert = false;
  for (const auto& v : sts->node["spec"]["template"]["spec"]["volumes"])
    if (v["secret"] && v["secret"]["secretName"].Scalar() == "pulsar-cert") cert = true;
  CHECK(cert);
  CHECK(sts->node["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"].Scalar() == "");
  auto imgs = render::images(s);
  CHECK(std::count(imgs.begin(), imgs.end(), "harbor.local/fate/fateflow-spark:1.11.2-release") == 1);
  CHECK(std::count(imgs.begin(), imgs.end(), "harbor.local/fate/mysql:8.0.28") == 1);  // third-party prefixed
  CHECK(std::count(imgs.begin(), imgs.end(), "harbor.local/fate/pulsar:2.10.1") == 1);
  const auto* py = find(objs, "StatefulSet", "python");
  CHECK(py->node["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"].Scalar() == "python");
  std::string spark_defaults = render::test::config_file(objs, "python-config", "spark-defaults.conf");
  CHECK(spark_defaults.find("spark.master                      spark://spark-master:7077\n") == 0);
}

TEST_CASE("exchange: sni.yaml, connect_ports, nodePort only when exposed") {
  auto s = spec_text(R"(name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
modules: [trafficServer, nginx]
trafficServer:
  type: ClusterIP
  nodePort: 30000
  route_table:
    sni:
      - {fqdn: 10000.fate.org, tunnelRoute: "192.168.10.1:30109"}
      - {fqdn: 9999.fate.org, tunnelRoute: "192.168.9.1:40099"}
nginx:
  type: NodePort
  httpNodePort: 30003
  grpcNodePort: 30008
  route_table:
    9999:
      proxy: [{host: 192.168.9.1, http_port: 30093, grpc_port: 30098}]
)");
  auto objs = render::render(s);
  std::string sni = render::test::config_file(objs, "traffic-server-sni", "sni.yaml");
  CHECK(sni == "sni:\n  - fqdn: 10000.fate.org\n    tunnel_route: 192.168.10.1:30109\n"
               "  - fqdn: 9999.fate.org\n    tunnel_route: 192.168.9.1:40099\n");
  std::string rec = render::test::config_file(objs, "traffic-server-config", "records.config");
  CHECK(rec.find("CONFIG proxy.config.http.connect_ports STRING 443 6650-6700 30000-33000 40099\n") != std::string::npos);
  const auto* svc = find(objs, "Service", "traffic-server");
  CHECK(svc->node["spec"]["type"].Scalar() == "ClusterIP");
  CHECK(!svc->node["spec"]["ports"][0]["nodePort"]);
  CHECK(svc->node["spec"]["ports"][0]["name"].Scalar() == "443");
  CHECK(yaml::scalar_type(svc->node["spec"]["ports"][0]["name"]) == yaml::ScalarType::String);
  auto imgs = render::images(s);
  CHECK(std::count(imgs.begin(), imgs.end(), "federatedai/trafficserver:latest") == 1);
  YAML::Node nrt = yaml::parse(render::test::config_file(objs, "nginx-config", "route_table.yaml"), "nrt");
  CHECK(nrt["default"]["proxy"][0]["host"].Scalar() == "nginx");
  CHECK(nrt["1"]["fateflow"][0]["host"].Scalar() == "fateflow");
  CHECK(nrt["9999"]["proxy"][0]["http_port"].as<int>() == 30093);
  const auto* nsvc = find(objs, "Service", "nginx");
  CHECK(nsvc->node["spec"]["ports"][0]["nodePort"].as<int>() == 30003);

  auto empty = spec_text("name: x\nnamespace: x\nchartName: fate-exchange\nchartVersion: v1.11.2\npartyId: 1\nmodules: [trafficServer]\n");
  auto eo = render::render(empty);
  CHECK(find(eo, "ConfigMap", "traffic-server-sni")->node["data"]["sni.yaml"].Scalar() == "sni: []\n");
}

TEST_CASE("PodSecurityPolicy below 1.25, Pod Security Admission labels from 1.25") {
  auto s = spec_text(R"(name: fate-9999
namespace: fate-9999
chartName: fate
chartVersion: v1.11.2
partyId: 9999
podSecurityPolicy: {enabled: true}
modules: [mysql, python, fateboard, client, rollsite, clustermanager, nodemanager]
computing: Eggroll
federation: Eggroll
storage: Eggroll
)");
  render::RenderOptions old;
  old.kube_version = "1.24";
  auto o1 = render::render(s, old);
  CHECK(find(o1, "PodSecurityPolicy", "fate-9999") != nullptr);
  CHECK(find(o1, "Role", "fate-9999") != nullptr);
  CHECK(find(o1, "RoleBinding", "fate-9999")->node["subjects"][0]["namespace"].Scalar() == "fate-9999");
  CHECK(!o1.front().node["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]);
  auto o2 = render::render(s);
  CHECK(find(o2, "PodSecurityPolicy", "fate-9999") == nullptr);
  CHECK(find(o2, "ServiceAccount", "fate-9999") != nullptr);
  // mysql adds SYS_NICE and nodemanager SYS_PTRACE: outside "baseline"
  CHECK(o2.front().node["metadata"]["labels"]["pod-security.kubernetes.io/enforce"].Scalar() == "privileged");
  CHECK(find(o2, "StatefulSet", "mysql")->node["spec"]["template"]["spec"]["serviceAccountName"].Scalar() == "fate-9999");
  render::RenderOptions bad;
  bad.kube_version = "latest";
  CHECK_THROWS_AS(render::render(s, bad), Error);
}

TEST_CASE("lbrollsite replaces rollsite: nginx sidecar over the exchange list") {
  const std::string base = R"(name: fate-9999
namespace: fate-9999
chartName: fate
chartVersion: v1.11.2
partyId: 9999
computing: Eggroll
federation: Eggroll
storage: Eggroll
lbrollsite:
  exchangeList:
    - {id: 1, ip: 192.168.0.1, port: 30000}
    - {id: 2, ip: 192.168.0.2, port: 30001}
rollsite:
  partyList:
    - {partyId: 10000, partyIp: 192.168.10.1, partyPort: 30101}
)";
  auto objs = render::render(spec_text(base + "modules: [lbrollsite, clustermanager, nodemanager, mysql, python, fateboard, client]\n"));
  const auto* dep = find(objs, "Deployment", "rollsite");
  REQUIRE(dep);
  YAML::Node ctrs = dep->node["spec"]["template"]["spec"]["containers"];
  REQUIRE(ctrs.size() == 2);
  CHECK(ctrs[0]["name"].Scalar() == "exchange");
  CHECK(ctrs[0]["image"].Scalar() == "nginx:1.17");  // third-party: no federatedai/ prefix
  CHECK(ctrs[1]["image"].Scalar() == "federatedai/eggroll:1.11.2-release");
  CHECK(find(objs, "Service", "exchange"));
  const auto* cm = find(objs, "ConfigMap", "rollsite-config");
  REQUIRE(cm);
  std::string conf = cm->node["data"]["nginx.conf"].Scalar();
  CHECK(conf.find("server 192.168.0.1:30000;") != std::string::npos);
  CHECK(conf.find("server 192.168.0.2:30001;") != std::string::npos);
  CHECK(conf.find("client_max_body_size 2M;") != std::string::npos);
  YAML::Node rt = yaml::parse(cm->node["data"]["route_table.json"].Scalar(), "route_table.json")["route_table"];
  CHECK(rt["default"]["default"][0]["ip"].Scalar() == "exchange");
  CHECK(rt["default"]["default"][0]["port"].Scalar() == "9390");
  CHECK(rt["10000"]["default"][0]["ip"].Scalar() == "192.168.10.1");
  // both modules would create the same Deployment: refused by validation
  CHECK_THROWS_WITH(spec_text(base + "modules: [lbrollsite, rollsite, clustermanager, nodemanager, mysql, python, fateboard, client]\n"),
                    doctest::Contains("lbrollsite replaces rollsite"));
}

TEST_CASE("istio: Gateway and VirtualServices instead of Ingresses") {
  const std::string base = R"(namespace: fate-9999
chartName: fate
partyId: 9999
istio:
  enabled: true
)";
  auto objs = render::render(spec_text("name: fate-9999\nchartVersion: v1.11.2\n" + base +
                                       "modules: [rollsite, clustermanager, nodemanager, python, mysql, fateboard, client]\n"
                                       "computing: Eggroll\nfederation: Eggroll\nstorage: Eggroll\n"
                                       "ingress:\n  fateboard:\n    hosts: [{name: board.bank.local}]\n"));
  CHECK(find(objs, "Ingress", "fateboard") == nullptr);
  const auto* gw = find(objs, "Gateway", "fate-9999-gateway");
  REQUIRE(gw);
  CHECK(gw->node["spec"]["servers"].size() == 3);  // http, fateboard-https, client-https
  CHECK(gw->node["spec"]["servers"][1]["hosts"][0].Scalar() == "board.bank.local");
  CHECK(gw->node["spec"]["servers"][2]["tls"]["credentialName"].Scalar() == "client-credential");
  const auto* vs = find(objs, "VirtualService", "fateboard");
  REQUIRE(vs);
  CHECK(vs->node["spec"]["gateways"][0].Scalar() == "fate-9999-gateway");
  CHECK(vs->node["spec"]["http"][0]["route"][0]["destination"]["port"]["number"].Scalar() == "8080");
  const auto* nb = find(objs, "VirtualService", "notebook");
  REQUIRE(nb);
  CHECK(nb->node["spec"]["hosts"][0].Scalar() == "notebook.example.com");  // values.yaml default
  // chart v1.6: HTTP only, hosts from host.<ui> (default <party>.<ui>.kubefate.net), and the
  // gateway named after the release (the chart hard-codes fate-9999-gateway)
  auto o16 = render::render(spec_text("name: fate-10000\nnamespace: fate-10000\nchartName: fate\nchartVersion: v1.6.1\n"
                                      "partyId: 10000\nbackend: eggroll\nistio: {enabled: true}\n"
                                      "modules: [rollsite, clustermanager, nodemanager, python, mysql, fateboard, client]\n"));
  const auto* gw16 = find(o16, "Gateway", "fate-10000-gateway");
  REQUIRE(gw16);
  CHECK(gw16->node["spec"]["servers"].size() == 1);
  const auto* vs16 = find(o16, "VirtualService", "fateboard");
  REQUIRE(vs16);
  CHECK(vs16->node["spec"]["hosts"][0].Scalar() == "10000.fateboard.kubefate.net");
  CHECK(vs16->node["spec"]["gateways"][0].Scalar() == "fate-10000-gateway");
}

TEST_CASE("passwords move into Secrets: env through secretKeyRef, config files through a projected volume") {
  auto s = spec_text(std::string(kEggroll9999) + "mysql:\n  password: \"Xy9-s3cret\"\n");
  auto objs = render::render(s);
  for (const auto& o : objs)
    if (o.kind() == "ConfigMap")
      for (const auto& kv : o.node["data"])
        CHECK_MESSAGE(kv.second.Scalar().find("Xy9-s3cret") == std::string::npos, o.name() << "/" << kv.first.Scalar());
  // service_conf.yaml (database passwd) is in Secret python-config; spark-defaults.conf stays
  const auto* cm = find(objs, "ConfigMap", "python-config");
  REQUIRE(cm);
  CHECK(!cm->node["data"]["service_conf.yaml"]);
  CHECK(cm->node["data"]["spark-defaults.conf"]);
  YAML::Node sc = yaml::parse(render::test::config_file(objs, "python-config", "service_conf.yaml"), "sc");
  CHECK(sc["database"]["passwd"].Scalar() == "Xy9-s3cret");
  const auto* py = find(objs, "StatefulSet", "python");
  REQUIRE(py);
  bool projected = false;
  for (const auto& v : py->node["spec"]["template"]["spec"]["volumes"])
    if (v["name"].Scalar() == "python-confs") {
      REQUIRE(v["projected"]);
      CHECK(v["projected"]["sources"][0]["configMap"]["name"].Scalar() == "python-config");
      CHECK(v["projected"]["sources"][1]["secret"]["name"].Scalar() == "python-config");
      projected = true;
    }
  CHECK(projected);
  // eggroll-config held only eggroll.properties (JDBC password): now a Secret, mounted as one
  CHECK(find(objs, "ConfigMap", "eggroll-config") == nullptr);
  CHECK(render::test::config_file(objs, "eggroll-config", "eggroll.properties").find("jdbc.password=Xy9-s3cret") != std::string::npos);
  // the mysql container's password comes from Secret mysql-credentials
  const auto* my = find(objs, "StatefulSet", "mysql");
  REQUIRE(my);
  bool ref = false;
  for (const auto& e : my->node["spec"]["template"]["spec"]["containers"][0]["env"])
    if (e["name"].Scalar() == "MYSQL_PASSWORD") {
      CHECK(!e["value"]);
      CHECK(e["valueFrom"]["secretKeyRef"]["name"].Scalar() == "mysql-credentials");
      CHECK(e["valueFrom"]["secretKeyRef"]["key"].Scalar() == "mysql.MYSQL_PASSWORD");
      ref = true;
    }
  CHECK(ref);
  CHECK(render::test::config_file(objs, "mysql-credentials", "mysql.MYSQL_PASSWORD") == "Xy9-s3cret");
}
