// Module osx (chart fate v2.0; replaces rollsite): ConfigMap osx-config (route_table.json,
// broker.properties), Service osx (9370, type/nodePort/loadBalancerIP from spec.osx) and
// Deployment osx, with the Eggroll TLS mounts when osx.enableTLS is set.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_osx(Ctx& c) {
  const std::string f = c.manifests + "/osx.yaml";
  YAML::Node cm = c.base(f, "ConfigMap", "osx-config");
  Ctx::set_data(cm, "route_table.json", osx_route_table_json(c));
  Ctx::set_data(cm, "broker.properties", osx_broker_properties(c));
  c.add("osx", cm, "osx");

  YAML::Node svc = c.base(f, "Service", "osx");
  c.service(svc, c.str({"osx", "type"}, "ClusterIP"), {{"tcp-osx", "nodePort"}}, {"osx"});
  svc["spec"]["selector"] = c.match_labels("osx");
  c.add("osx", svc, "osx");

  YAML::Node dep = c.base(f, "Deployment", "osx");
  c.workload(dep, "osx", {"osx"});
  YAML::Node ctr = container(dep, "osx");
  ctr["image"] = c.image_for({"osx"}, "", "federatedai/osx");
  c.resources(ctr, {"osx"});
  c.probes(ctr, "tcp", 9370);
  if (c.flag({"osx", "enableTLS"})) {
    std::string cmd = ctr["command"][2].Scalar();
    const std::string anchor = "set -x\n";
    size_t p = cmd.find(anchor);
    if (p != std::string::npos)
      cmd.insert(p + anchor.size(),
                 "cat /data/projects/fate/eggroll/conf/cert_configs >> /data/projects/fate/eggroll/conf/eggroll.properties\n");
    ctr["command"][2] = cmd;
    YAML::Node m1(YAML::NodeType::Map);
    m1["mountPath"] = "/data/projects/fate/eggroll/conf/cert_configs";
    m1["name"] = "eggroll-confs";
    m1["subPath"] = "cert_configs";
    ctr["volumeMounts"].push_back(m1);
    YAML::Node m2(YAML::NodeType::Map);
    m2["mountPath"] = "/data/projects/fate/eggroll/conf/cert/";
    m2["name"] = "eggroll-certs";
    ctr["volumeMounts"].push_back(m2);
    YAML::Node v(YAML::NodeType::Map);
    v["name"] = "eggroll-certs";
    v["secret"]["secretName"] = "eggroll-certs";
    dep["spec"]["template"]["spec"]["volumes"].push_back(v);
  }
  c.add("osx", dep, "osx");
}

}  // namespace fatectl::render::detail
