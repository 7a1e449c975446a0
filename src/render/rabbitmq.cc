// Module rabbitmq: Deployment, Service, ConfigMap rabbitmq-config (enabled_plugins), Ingress.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_rabbitmq(Ctx& c) {
  const std::string f = c.manifests + "/rabbitmq.yaml";
  c.add("rabbitmq", c.base(f, "ConfigMap", "rabbitmq-config"), "rabbitmq");

  YAML::Node svc = c.base(f, "Service", "rabbitmq");
  c.service(svc, c.str({"rabbitmq", "type"}, "ClusterIP"), {{"tcp-rabbitmq", "nodePort"}}, {"rabbitmq"});
  svc["spec"]["selector"] = c.match_labels("rabbitmq");
  c.add("rabbitmq", svc, "rabbitmq");

  YAML::Node dep = c.base(f, "Deployment", "rabbitmq");
  c.workload(dep, "rabbitmq", {"rabbitmq"});
  YAML::Node ctr = container(dep, "rabbitmq");
  ctr["image"] = c.image_for({"rabbitmq"}, c.image("rabbitmq", "3.8.3-management"), "federatedai/rabbitmq", "", "3.8.3-management");
  c.resources(ctr, {"rabbitmq"});
  // the chart hard-codes fate/fate; the spec's credentials are honoured here
  set_env(ctr, "RABBITMQ_DEFAULT_USER", c.str({"rabbitmq", "default_user"}, "fate"));
  set_env(ctr, "RABBITMQ_DEFAULT_PASS", c.str({"rabbitmq", "default_pass"}, "fate"));
  set_env(ctr, "RABBITMQ_USER", c.str({"rabbitmq", "user"}, "fate"));
  set_env(ctr, "RABBITMQ_PASSWORD", c.str({"rabbitmq", "password"}, "fate"));
  if (!c.v16) c.probes(ctr, "http", 15672);  // the v1.6 chart has no probes
  c.add("rabbitmq", dep, "rabbitmq");
  render_ingress(c, "rabbitmq", "rabbitmq", "rabbitmq", 15672);
}

}  // namespace fatectl::render::detail
