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
  if (c.flag({"osx", "enableTLS"})) mount_eggroll_tls(dep, ctr, "set -x\n");
  c.add("osx", dep, "osx");
}

}  // namespace fatectl::render::detail
