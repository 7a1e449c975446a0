// Chart fate v2.0: osx instead of rollsite, per-module images, FATE Flow 2.0 config files.
#include <doctest/doctest.h>

#include <algorithm>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/render/render.h"
#include "render_test_util.h"
#include "fatectl/spec/cluster_spec.h"

using namespace fatectl;

namespace {

const render::Object* find20(const std::vector<render::Object>& objs, const std::string& kind, const std::string& name) {
  for (const auto& o : objs)
    if (o.kind() == kind && o.name() == name) return &o;
  return nullptr;
}

const char* kEggrollOsx = R"(name: fate-10000
namespace: fate-10000
chartName: fate
chartVersion: v2.0.0
partyId: 10000
registry: "harbor.bank.local/"
modules: [osx, clustermanager, nodemanager, mysql, python, fateboard, client]
computing: Eggroll
federation: OSX
storage: Eggroll
algorithm: Basic
device: CPU
osx:
  type: NodePort
  nodePort: 30101
  partyList:
    - {partyId: 9999, partyIp: 192.168.9.1, partyPort: 30091}
nodemanager:
  image: bank/eggroll
  imageTag: "2.0.0-patched"
)";

}  // namespace

TEST_CASE("v2.0 eggroll + osx: osx objects, route table, broker party, images") {
  auto s = spec::parse(kEggrollOsx, "test.yaml", {true});
  auto objs = render::render(s);
  for (auto [k, n] : std::vector<std::pair<std::string, std::string>>{
           {"Deployment", "osx"}, {"Service", "osx"}, {"ConfigMap", "osx-config"}, {"Deployment", "clustermanager"},
           {"StatefulSet", "nodemanager"}, {"Secret", "eggroll-config"}, {"StatefulSet", "python"}})
    CHECK_MESSAGE(find20(objs, k, n) != nullptr, k << "/" << n);
  CHECK(find20(objs, "Deployment", "rollsite") == nullptr);
  CHECK(find20(objs, "ConfigMap", "rollsite-config") == nullptr);

  const auto* svc = find20(objs, "Service", "osx");
  REQUIRE(svc);
  CHECK(svc->node["spec"]["type"].Scalar() == "NodePort");
  CHECK(svc->node["spec"]["ports"][0]["port"].as<int>() == 9370);
  CHECK(svc->node["spec"]["ports"][0]["nodePort"].as<int>() == 30101);

  const auto* cm = find20(objs, "ConfigMap", "osx-config");
  REQUIRE(cm);
  YAML::Node rt = yaml::parse(cm->node["data"]["route_table.json"].Scalar(), "route_table.json");
  CHECK(rt["route_table"]["9999"]["default"][0]["ip"].Scalar() == "192.168.9.1");
  CHECK(rt["route_table"]["9999"]["default"][0]["port"].as<int>() == 30091);
  CHECK(rt["route_table"]["10000"]["fateflow"][0]["ip"].Scalar() == "fateflow");
  CHECK(rt["self_party"][0].Scalar() == "10000");
  std::string broker = render::test::config_file(objs, "osx-config", "broker.properties");
  CHECK(broker.find("\nself.party=10000\n") != std::string::npos);
  CHECK(broker.find("self.party=9999") == std::string::npos);

  auto imgs = render::images(s);
  auto has = [&imgs](const std::string& i) { return std::count(imgs.begin(), imgs.end(), i) == 1; };
  CHECK(has("harbor.bank.local/federatedai/osx:2.0.0-release"));
  CHECK(has("harbor.bank.local/federatedai/fateflow:2.0.0-release"));
  CHECK(has("harbor.bank.local/federatedai/eggroll:2.0.0-release"));  // clustermanager
  CHECK(has("harbor.bank.local/bank/eggroll:2.0.0-patched"));         // nodemanager override
  CHECK(has("harbor.bank.local/mysql:8.0.28"));

  YAML::Node sc = yaml::parse(render::test::config_file(objs, "python-config", "service_conf.yaml"), "service_conf.yaml");
  CHECK(sc["party_id"].Scalar() == "10000");
  CHECK(sc["fateflow"]["proxy_name"].Scalar() == "osx");
  CHECK(sc["default_engines"]["federation"].Scalar() == "osx");
  CHECK(sc["database"]["mysql"]["host"].Scalar() == "mysql");
  CHECK(sc["federation"]["osx"]["port"].as<int>() == 9370);

  std::string props = render::test::config_file(objs, "eggroll-config", "eggroll.properties");
  CHECK(props.find("eggroll.resourcemanager.process.tag=10000") != std::string::npos);
  CHECK(props.find("eggroll.rollsite") == std::string::npos);
}

TEST_CASE("v2.0 osx.enableTLS: cert mounts on osx and cert_configs in eggroll-config") {
  std::string text = kEggrollOsx;
  text.replace(text.find("  type: NodePort\n  nodePort: 30101"), 0, "  enableTLS: true\n");
  auto objs = render::render(spec::parse(text, "test.yaml", {true}));
  const auto* dep = find20(objs, "Deployment", "osx");
  REQUIRE(dep);
  const YAML::Node ctr = dep->node["spec"]["template"]["spec"]["containers"][0];
  CHECK(ctr["command"][2].Scalar().find("cat /data/projects/fate/eggroll/conf/cert_configs") != std::string::npos);
  bool cert_mount = false;
  for (const auto& m : ctr["volumeMounts"])
    if (m["mountPath"].Scalar() == "/data/projects/fate/eggroll/conf/cert/") cert_mount = true;
  CHECK(cert_mount);
  CHECK(render::test::config_file(objs, "eggroll-config", "cert_configs").find("secure.cluster.enabled=true") != std::string::npos);
}

TEST_CASE("v2.0 refuses rollsite and renders Spark + Pulsar with the 2.0 route table") {
  std::string bad = kEggrollOsx;
  bad.replace(bad.find("[osx,"), 5, "[rollsite,");
  CHECK_THROWS_AS(spec::parse(bad, "test.yaml", {true}), Error);  // validation refuses it first

  auto s = spec::parse(R"(name: fate-9999
namespace: fate-9999
chartName: fate
chartVersion: v2.0.0
partyId: 9999
modules: [python, mysql, fateboard, client, spark, hdfs, nginx, pulsar]
computing: Spark
federation: Pulsar
storage: HDFS
pulsar:
  route_table:
    9999: {host: pulsar, port: 6650, sslPort: 6651}
    10000: {host: 192.168.10.1, port: 30104, sslPort: 30109, proxy: ""}
)",
                       "test.yaml", {true});
  auto objs = render::render(s);
  const auto* prt = find20(objs, "ConfigMap", "pulsar-route-table");
  REQUIRE(prt);
  std::string t = prt->node["data"]["pulsar_route_table.yaml"].Scalar();
  YAML::Node rt = yaml::parse(t, "pulsar_route_table.yaml");
  CHECK(rt["10000"]["host"].Scalar() == "192.168.10.1");
  CHECK(rt["default"]["proxy"].Scalar() == "proxy.fate.org:443");
  CHECK(t.find("default:") > t.find("10000:"));  // the chart lists default last
  CHECK(rt["9999"]["host"].Scalar() == "pulsar");
  CHECK(rt.size() == 3);
  CHECK(t.find("9999:") == t.rfind("9999:"));
  auto imgs = render::images(s);
  CHECK(std::count(imgs.begin(), imgs.end(), "federatedai/pulsar:2.10.2") == 1);
  CHECK(std::count(imgs.begin(), imgs.end(), "federatedai/fateflow-spark:2.0.0-release") == 1);
  CHECK(std::count(imgs.begin(), imgs.end(), "federatedai/spark-worker:2.0.0-release") == 1);
  YAML::Node sc = yaml::parse(render::test::config_file(objs, "python-config", "service_conf.yaml"), "service_conf.yaml");
  CHECK(sc["fateflow"]["proxy_name"].Scalar() == "nginx");
  CHECK(sc["federation"]["pulsar"]["host"].Scalar() == "pulsar");
}
