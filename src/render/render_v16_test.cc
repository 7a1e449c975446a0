// Chart fate v1.6: Deployments with separate PVCs, FATE Board inside the python pod, one
// Deployment per node manager, the global imageTag and the 1.6 config files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>

#include "fatectl/core/yaml.h"
#include "fatectl/render/render.h"
#include "render_test_util.h"
#include "fatectl/spec/cluster_spec.h"

using namespace fatectl;

namespace {

std::string src_dir() {
  const char* s = std::getenv("FATECTL_SOURCE_DIR");
  return s ? s : ".";
}

const render::Object* find16(const std::vector<render::Object>& objs, const std::string& kind, const std::string& name) {
  for (const auto& o : objs)
    if (o.kind() == kind && o.name() == name) return &o;
  return nullptr;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::count(v.begin(), v.end(), s) == 1; }

std::vector<std::string> container_names(const render::Object* w) {
  std::vector<std::string> out;
  for (const auto& c : w->node["spec"]["template"]["spec"]["containers"]) out.push_back(c["name"].Scalar());
  return out;
}

const char* kPersistent = R"(name: fate-9999
namespace: fate-9999
chartName: fate
chartVersion: v1.6.1
partyId: 9999
registry: harbor.local/fate
imageTag: 1.6.1-patched
persistence: true
modules: [rollsite, clustermanager, nodemanager, mysql, python, fateboard, client]
backend: eggroll
python:
  enabledNN: true
  existingClaim: flow-data
nodemanager:
  count: 3
  sessionProcessorsPerNode: 6
  storageClass: "-"
  size: 5Gi
mysql:
  database: meta
)";

}  // namespace

TEST_CASE("v1.6 eggroll party: the chart's objects, images and config files") {
  spec::ClusterSpec s = spec::load(src_dir() + "/examples/v1.6/party-9999-eggroll.yaml", {true});
  auto objs = render::render(s);
  for (auto [k, n] : std::vector<std::pair<std::string, std::string>>{
           {"Deployment", "python"}, {"Deployment", "mysql"}, {"Deployment", "client"}, {"Deployment", "rollsite"},
           {"Deployment", "clustermanager"}, {"Deployment", "nodemanager-0"}, {"Deployment", "nodemanager-1"},
           {"Service", "fateflow"}, {"Service", "fateflow-client"}, {"Service", "fateboard"}, {"Service", "nodemanager-1"},
           {"Secret", "eggroll-config"}, {"ConfigMap", "nodemanager-0-config"}, {"Secret", "nodemanager-0-config"},
           {"Secret", "fateboard-config"},
           {"Ingress", "fateboard"}, {"Ingress", "client"}})
    CHECK_MESSAGE(find16(objs, k, n) != nullptr, k << "/" << n);
  for (const auto& o : objs) {
    CHECK(o.kind() != "StatefulSet");
    CHECK(o.kind() != "PersistentVolumeClaim");  // persistence: false
  }
  CHECK(container_names(find16(objs, "Deployment", "python")) == std::vector<std::string>{"python", "fateboard"});
  CHECK(container_names(find16(objs, "Deployment", "nodemanager-1")) ==
        std::vector<std::string>{"nodemanager-1-eggrollpair", "nodemanager-1"});
  auto imgs = render::images(s);
  CHECK(imgs == std::vector<std::string>{"federatedai/client:1.6.1-release", "federatedai/eggroll:1.6.1-release",
                                         "federatedai/fateboard:1.6.1-release", "federatedai/python:1.6.1-release",
                                         "fluent/fluentd:v1.12", "mysql:8"});

  YAML::Node sc = yaml::parse(render::test::config_file(objs, "python-config", "service_conf.yaml"), "sc");
  CHECK(sc["work_mode"].as<int>() == 1);
  CHECK(sc["fateflow"]["host"].Scalar() == "fateflow");  // the start script seds it to the pod IP
  CHECK(sc["fateflow"]["proxy"].Scalar() == "rollsite");
  CHECK(sc["model_store_address"]["storage"].Scalar() == "mysql");
  CHECK(sc["servings"]["hosts"][0].Scalar() == "192.168.9.1:30095");
  std::string nm = render::test::config_file(objs, "nodemanager-0-config", "eggroll.properties");
  CHECK(nm.find("\neggroll.session.processors.per.node=4\n") != std::string::npos);
  CHECK(nm.find("# polling") == std::string::npos);
  std::string sql = render::test::config_file(objs, "mysql-config", "create-eggroll-meta-tables.sql");
  CHECK(sql.find("values ('nodemanager-1', '9461', 'NODE_MANAGER', 'HEALTHY');\nshow tables;") != std::string::npos);
  const auto* board = find16(objs, "Ingress", "fateboard");
  CHECK(board->node["spec"]["rules"][0]["host"].Scalar() == "fateboard.kubefate.net");  // the chart's values.yaml host
}

TEST_CASE("v1.6 spark party: python-spark, HDFS 2.7, RabbitMQ routes, nginx without the sample exchange") {
  spec::ClusterSpec s = spec::load(src_dir() + "/examples/v1.6/party-9999-spark.yaml", {true});
  auto objs = render::render(s);
  auto imgs = render::images(s);
  for (const char* img : {"federatedai/python-spark:1.6.1-release", "federatedai/hadoop-namenode:2.0.0-hadoop2.7.4-java8",
                          "federatedai/hadoop-datanode:2.0.0-hadoop2.7.4-java8", "federatedai/spark-master:1.6.1-release",
                          "federatedai/spark-worker:1.6.1-release", "federatedai/nginx:1.6.1-release",
                          "federatedai/rabbitmq:3.8.3-management"})
    CHECK_MESSAGE(has(imgs, img), img);
  CHECK(!has(imgs, "federatedai/eggroll:1.6.1-release"));
  CHECK(find16(objs, "Secret", "eggroll-config") != nullptr);  // the chart renders it for every spec (JDBC password)
  CHECK(find16(objs, "ConfigMap", "mysql-config")->node["data"].size() == 0);
  YAML::Node sc = yaml::parse(render::test::config_file(objs, "python-config", "service_conf.yaml"), "sc");
  CHECK(sc["fateflow"]["proxy"].Scalar() == "nginx");
  YAML::Node rrt =
      yaml::parse(render::test::config_file(objs, "rabbitmq-route-table", "rabbitmq_route_table.yaml"), "rrt");
  CHECK(rrt["9999"]["host"].Scalar() == "rabbitmq");
  CHECK(rrt["10000"]["port"].as<int>() == 30104);
  YAML::Node nrt = yaml::parse(render::test::config_file(objs, "nginx-config", "route_table.yaml"), "nrt");
  CHECK(!nrt["default"]);
  CHECK(nrt["10000"]["fateflow"][0]["http_port"].as<int>() == 30107);
  bool upload_env = false;
  for (const auto& e : find16(objs, "Deployment", "python")->node["spec"]["template"]["spec"]["containers"][0]["env"])
    if (e["name"].Scalar() == "FATE_FLOW_UPLOAD_MAX_NUM") upload_env = true;
  CHECK(upload_env);
  const auto* dn = find16(objs, "Deployment", "datanode");
  CHECK(dn->node["spec"]["replicas"].as<int>() == 1);
  YAML::Node wr = find16(objs, "Deployment", "spark-worker")->node["spec"]["template"]["spec"]["containers"][0]["resources"];
  CHECK(wr["limits"]["memory"].Scalar() == "8Gi");
  CHECK(find16(objs, "Ingress", "spark")->node["spec"]["rules"][0]["host"].Scalar() == "party9999.spark.kubefate.net");
}

TEST_CASE("v1.6 persistence: one PVC object per module, existing claims used as they are") {
  auto s = spec::parse(kPersistent, "test.yaml", {true});
  auto objs = render::render(s);
  CHECK(find16(objs, "PersistentVolumeClaim", "python-data") == nullptr);  // python.existingClaim
  const auto* py = find16(objs, "Deployment", "python");
  bool flow_claim = false;
  for (const auto& v : py->node["spec"]["template"]["spec"]["volumes"])
    if (v["persistentVolumeClaim"] && v["persistentVolumeClaim"]["claimName"].Scalar() == "flow-data") flow_claim = true;
  CHECK(flow_claim);
  const auto* my = find16(objs, "PersistentVolumeClaim", "mysql-data");
  REQUIRE(my != nullptr);
  CHECK(!my->node["spec"]["storageClassName"]);  // the spec's mysql map has no storageClass
  CHECK(find16(objs, "PersistentVolumeClaim", "client-data")->node["spec"]["storageClassName"].Scalar() == "client");
  const auto* nm = find16(objs, "PersistentVolumeClaim", "nodemanager-2-data");
  REQUIRE(nm != nullptr);
  CHECK(nm->node["spec"]["storageClassName"].Scalar() == "");
  CHECK(nm->node["spec"]["resources"]["requests"]["storage"].Scalar() == "5Gi");
  CHECK(find16(objs, "Deployment", "nodemanager-3") == nullptr);
  std::string props = render::test::config_file(objs, "nodemanager-2-config", "eggroll.properties");
  CHECK(props.find("\neggroll.session.processors.per.node=6\n") != std::string::npos);
  CHECK(props.find("jdbc:mysql://mysql:3306/meta?") != std::string::npos);
  auto imgs = render::images(s);
  CHECK(has(imgs, "harbor.local/fate/python-nn:1.6.1-patched"));
  CHECK(has(imgs, "harbor.local/fate/mysql:8"));
  CHECK(has(imgs, "harbor.local/fate/fluentd:v1.12"));  // the chart's registry form of the sidecar
}
