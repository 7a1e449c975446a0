// Module hdfs: StatefulSets namenode and datanode, Services, ConfigMaps namenode-config (core-site.xml),
// namenode-env and datanode-env (the hadoop images' environment).
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_hdfs(Ctx& c) {
  const std::string f = c.manifests + "/hdfs.yaml";
  c.add("hdfs", c.base(f, "ConfigMap", "namenode-config"), "namenode");
  YAML::Node env = yaml::parse(c.text(c.manifests + "/hadoop-env.yaml"), "hadoop-env.yaml");
  for (auto [name, fm] : {std::pair<const char*, const char*>{"namenode-env", "namenode"}, {"datanode-env", "datanode"}}) {
    YAML::Node cm = c.base(f, "ConfigMap", name);
    for (auto kv : env) Ctx::set_data(cm, kv.first.Scalar(), kv.second.Scalar());
    c.add("hdfs", cm, fm);
  }

  YAML::Node dsvc = c.base(f, "Service", "datanode");
  c.service(dsvc, c.str({"hdfs", "datanode", "type"}, "ClusterIP"), {}, {"hdfs", "datanode"});
  dsvc["spec"]["selector"] = c.match_labels("datanode");
  c.add("hdfs", dsvc, "datanode");
  YAML::Node nsvc = c.base(f, "Service", "namenode");
  c.service(nsvc, c.str({"hdfs", "namenode", "type"}, "ClusterIP"), {{"tcp-9000", "nodePort"}}, {"hdfs", "namenode"});
  nsvc["spec"]["selector"] = c.match_labels("namenode");
  c.add("hdfs", nsvc, "namenode");

  YAML::Node nn = c.base(f, "StatefulSet", "namenode");
  if (c.persistence) {
    // a fresh volume's lost+found makes the namenode refuse to format
    YAML::Node init(YAML::NodeType::Map);
    init["name"] = "delete-lost-found";
    init["image"] = c.third_party_image("busybox");
    init["command"].push_back("sh");
    init["command"].push_back("-c");
    init["command"].push_back("rm -rf /hadoop/dfs/name/lost+found");
    YAML::Node m(YAML::NodeType::Map);
    m["name"] = "dfs";
    m["mountPath"] = "/hadoop/dfs/name";
    init["volumeMounts"].push_back(m);
    nn["spec"]["template"]["spec"]["initContainers"].push_back(init);
  }
  c.workload(nn, "namenode", {"hdfs", "namenode"});
  container(nn, "namenode")["image"] = c.image_for({"hdfs", "namenode"}, c.image("hadoop-namenode", "2.0.0-hadoop3.2.1-java8"),
                                                   "federatedai/hadoop-namenode", "", "2.0.0-hadoop3.2.1-java8");
  c.data_volume(nn, "dfs", "namenode", {"hdfs", "namenode"}, "", "namenode-data");
  c.add("hdfs", nn, "namenode");

  YAML::Node dn = c.base(f, "StatefulSet", "datanode");
  dn["spec"]["replicas"] = c.num({"hdfs", "datanode", "replicas"}, 3);
  c.workload(dn, "datanode", {"hdfs", "datanode"});
  container(dn, "datanode")["image"] = c.image_for({"hdfs", "datanode"}, c.image("hadoop-datanode", "2.0.0-hadoop3.2.1-java8"),
                                                   "federatedai/hadoop-datanode", "", "2.0.0-hadoop3.2.1-java8");
  c.data_volume(dn, "dfs", "datanode", {"hdfs", "datanode"}, "", "datanode-data");
  c.add("hdfs", dn, "datanode");
}

}  // namespace fatectl::render::detail
