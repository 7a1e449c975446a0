// Module client (Jupyter notebook): StatefulSet client, Service notebook, Ingress client.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_client(Ctx& c) {
  const std::string f = c.manifests + "/client.yaml";
  YAML::Node svc = c.base(f, "Service", "notebook");
  c.service(svc, c.str({"client", "type"}, "ClusterIP"), {}, {"client"});
  svc["spec"]["selector"] = c.match_labels("client");
  c.add("client", svc, "client");

  YAML::Node sts = c.base(f, "StatefulSet", "client");
  c.workload(sts, "client", {"client"});
  YAML::Node ctr = container(sts, "client");
  ctr["image"] = c.image_for({"client"}, c.image("client"), "federatedai/client");
  set_env(ctr, "partyId", c.party_id);
  set_env(ctr, "FATE_SERVING_HOST", c.str({"servingIp"}) + ":" + c.str({"servingPort"}));
  set_env(ctr, "NOTEBOOK_HASHED_PASSWORD", c.str({"client", "notebook_hashed_password"}));
  c.probes(ctr, "http", 20000);
  std::string sub = c.raw({"client", "subPath"}, "client");
  if (!sub.empty()) ctr["volumeMounts"][0]["subPath"] = yaml::str(sub);
  c.data_volume(sts, "persistence", "client", {"client"}, "client", "client-data");
  c.add("client", sts, "client");
  render_ingress(c, "client", "client", "notebook", 20000);
}

}  // namespace fatectl::render::detail
