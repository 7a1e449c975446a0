// Eggroll modules: rollsite (Deployment, Service, ConfigMap rollsite-config with route_table.json),
// clustermanager (Deployment, Service), nodemanager (StatefulSet with a fluent-bit sidecar,
// Service, ConfigMap fluentd-config), and the shared ConfigMap eggroll-config.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

const char* kCertConfigs =
    "eggroll.core.security.secure.cluster.enabled=true\n"
    "eggroll.core.security.secure.client.auth.enabled=true\n"
    "eggroll.core.security.ca.crt.path=conf/cert/ca.pem\n"
    "eggroll.core.security.crt.path=conf/cert/server.crt\n"
    "eggroll.core.security.key.path=conf/cert/server.key\n"
    "eggroll.core.security.client.ca.crt.path=conf/cert/ca.pem\n"
    "eggroll.core.security.client.crt.path=conf/cert/client.crt\n"
    "eggroll.core.security.client.key.path=conf/cert/client.key\n";

void rollsite(Ctx& c, const std::string& f, bool tls) {
  YAML::Node cm = c.base(f, "ConfigMap", "rollsite-config");
  Ctx::set_data(cm, "route_table.json", rollsite_route_table_json(c, false));
  c.add("rollsite", cm, "rollsite");

  YAML::Node svc = c.base(f, "Service", "rollsite");
  c.service(svc, c.str({"rollsite", "type"}, "ClusterIP"), {{"tcp-rollsite", "nodePort"}}, {"rollsite"});
  svc["spec"]["selector"] = c.match_labels("rollsite");
  c.add("rollsite", svc, "rollsite");

  YAML::Node dep = c.base(f, "Deployment", "rollsite");
  c.workload(dep, "rollsite", {"rollsite"});
  YAML::Node ctr = container(dep, "rollsite");
  ctr["image"] = c.image("eggroll" + c.suffix(false));
  c.resources(ctr, {"rollsite"});
  c.probes(ctr, "tcp", 9370);
  if (tls) mount_eggroll_tls(dep, ctr, "conf/eggroll.properties\n");
  c.add("rollsite", dep, "rollsite");
}

}  // namespace

void render_eggroll(Ctx& c) {
  const std::string f = c.manifests + "/eggroll.yaml";
  // v2.0: OSX mounts cert_configs of eggroll-config when osx.enableTLS is set
  bool tls = c.flag({c.v20 ? "osx" : "rollsite", "enableTLS"});
  if (c.has_module("clustermanager")) {
    YAML::Node cm = c.base(f, "ConfigMap", "eggroll-config");
    Ctx::set_data(cm, "eggroll.properties", c.v20 ? eggroll_properties_v20(c) : eggroll_properties(c));
    if (tls) Ctx::set_data(cm, "cert_configs", kCertConfigs);
    c.add("clustermanager", cm, "eggroll");
  }
  if (c.has_module("rollsite")) rollsite(c, f, tls);
  if (c.has_module("clustermanager")) {
    YAML::Node svc = c.base(f, "Service", "clustermanager");
    svc["spec"]["selector"] = c.match_labels("clustermanager");
    c.add("clustermanager", svc, "clustermanager");
    YAML::Node dep = c.base(f, "Deployment", "clustermanager");
    c.workload(dep, "clustermanager", {"clustermanager"});
    YAML::Node ctr = container(dep, "clustermanager");
    ctr["image"] = c.image_for({"clustermanager"}, c.image("eggroll" + c.suffix(false)), "federatedai/eggroll", c.suffix(false));
    c.resources(ctr, {"clustermanager"});
    c.probes(ctr, "tcp", 4670);
    c.add("clustermanager", dep, "clustermanager");
  }
  if (c.has_module("nodemanager")) {
    YAML::Node cm = c.base(f, "ConfigMap", "fluentd-config");
    Ctx::set_data(cm, "fluent.conf", c.text(c.manifests + "/nodemanager-fluent.conf"));
    c.add("nodemanager", cm, "nodemanager");
    YAML::Node svc = c.base(f, "Service", "nodemanager");
    svc["spec"]["selector"] = c.match_labels("nodemanager");
    c.add("nodemanager", svc, "nodemanager");
    YAML::Node sts = c.base(f, "StatefulSet", "nodemanager");
    sts["spec"]["replicas"] = c.num({"nodemanager", "replicas"}, 2);
    sts["metadata"]["labels"]["app"] = "nodemanager";
    c.workload(sts, "nodemanager", {"nodemanager"});
    sts["spec"]["template"]["metadata"]["labels"]["app"] = "nodemanager";
    container(sts, "nodemanager-eggrollpair")["image"] = c.third_party_image("fluent/fluent-bit:2.1.4");
    YAML::Node ctr = container(sts, "nodemanager");
    // chart v2.0 gives nodemanager no algorithm/device suffix
    ctr["image"] = c.image_for({"nodemanager"}, c.image("eggroll" + c.suffix(false)), "federatedai/eggroll");
    YAML::Node defaults(YAML::NodeType::Map);
    defaults["requests"]["cpu"] = yaml::str("4");
    defaults["requests"]["memory"] = yaml::str("4Gi");
    c.resources(ctr, {"nodemanager"}, defaults);
    c.probes(ctr, "tcp", 4671);
    std::string sub = c.raw({"nodemanager", "subPath"}, "nodemanager");
    if (!sub.empty())
      for (auto m : ctr["volumeMounts"])
        if (m["mountPath"].Scalar() == "/data/projects/fate/eggroll/data") m["subPath"] = yaml::str(sub);
    c.data_volume(sts, "data-dir", "nodemanager", {"nodemanager"}, "nodemanager", "");
    c.add("nodemanager", sts, "nodemanager");
  }
}

}  // namespace fatectl::render::detail
