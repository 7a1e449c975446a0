// Chart fate v1.6, Spark layout: hdfs (Deployments namenode and datanode on the hadoop 2.7.4
// images, Services, ConfigMaps, PVCs) and pulsar (standalone broker Deployment, Services,
// ConfigMap pulsar-config, PVC, Ingress). spark, nginx and rabbitmq use the shared renderers.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

const char* kHadoopTag = "2.0.0-hadoop2.7.4-java8";

void hdfs_configs(Ctx& c, const std::string& f) {
  c.add("hdfs", c.base(f, "ConfigMap", "namenode-config"), "namenode");
  YAML::Node env = yaml::parse(c.text(c.manifests + "/hadoop-env.yaml"), "hadoop-env.yaml");
  for (auto [name, fm] : {std::pair<const char*, const char*>{"namenode-env", "namenode"}, {"datanode-env", "datanode"}}) {
    YAML::Node cm = c.base(f, "ConfigMap", name);
    for (auto kv : env) Ctx::set_data(cm, kv.first.Scalar(), kv.second.Scalar());
    c.add("hdfs", cm, fm);
  }
}

void hdfs_services(Ctx& c, const std::string& f) {
  YAML::Node nsvc = c.base(f, "Service", "namenode");
  c.service(nsvc, c.str({"hdfs", "namenode", "type"}, "ClusterIP"), {{"tcp-9000", "nodePort"}}, {"hdfs", "namenode"});
  nsvc["spec"]["selector"] = c.match_labels("namenode");
  c.add("hdfs", nsvc, "namenode");
  YAML::Node dsvc = c.base(f, "Service", "datanode");
  c.service(dsvc, c.str({"hdfs", "datanode", "type"}, "ClusterIP"), {}, {"hdfs", "datanode"});
  dsvc["spec"]["selector"] = c.match_labels("datanode");
  c.add("hdfs", dsvc, "datanode");
}

// a fresh volume's lost+found makes the namenode refuse to format
void delete_lost_found(Ctx& c, YAML::Node nn) {
  YAML::Node init(YAML::NodeType::Map);
  init["name"] = "delete-lost-found";
  init["image"] = c.third_party_image("busybox");
  for (const char* a : {"sh", "-c", "rm -rf /hadoop/dfs/name/lost+found"}) init["command"].push_back(a);
  YAML::Node m(YAML::NodeType::Map);
  m["name"] = "dfs";
  m["mountPath"] = "/hadoop/dfs/name";
  init["volumeMounts"].push_back(m);
  nn["spec"]["template"]["spec"]["initContainers"].push_back(init);
}


}  // namespace

void render_hdfs16(Ctx& c) {
  const std::string f = c.manifests + "/hdfs.yaml";
  hdfs_configs(c, f);
  hdfs_services(c, f);
  for (const char* role : {"namenode", "datanode"}) {
    YAML::Node dep = c.base(f, "Deployment", role);
    if (c.persistence && std::string(role) == "namenode") delete_lost_found(c, dep);
    c.workload(dep, role, {"hdfs", role});
    container(dep, role)["image"] = c.image(std::string("hadoop-") + role, kHadoopTag);
    claim_volume16(c, dep, "dfs", "hdfs", role, storage16(c, {"hdfs", role}, std::string(role) + "-data", ""));
    c.add("hdfs", dep, role);
  }
}

void render_pulsar16(Ctx& c) {
  const std::string f = c.manifests + "/pulsar.yaml";
  bool exchange = !Ctx::empty(c.at({"pulsar", "exchange"}));
  pulsar_config_and_services(c, f);
  YAML::Node dep = c.base(f, "Deployment", "pulsar");
  c.workload(dep, "pulsar", {"pulsar"});
  YAML::Node ctr = container(dep, "pulsar");
  ctr["image"] = c.image("pulsar", "2.7.0");
  if (exchange) mount_pulsar_cert(dep, ctr);
  claim_volume16(c, dep, "pulsar-data", "pulsar", "pulsar", storage16(c, {"pulsar"}, "pulsar-data", ""));
  c.add("pulsar", dep, "pulsar");
  render_ingress(c, "pulsar", "pulsar", "pulsar", 8080);
}

}  // namespace fatectl::render::detail
