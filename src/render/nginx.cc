// Module nginx (party side, Spark layouts): Deployment, Service and ConfigMap nginx-config with
// route_table.yaml and nginx.conf.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_nginx(Ctx& c) {
  const std::string f = c.manifests + "/nginx.yaml";
  YAML::Node cm = c.base(f, "ConfigMap", "nginx-config");
  Ctx::set_data(cm, "route_table.yaml", nginx_route_table_yaml(c, false));
  Ctx::set_data(cm, "nginx.conf", c.text(c.manifests + "/nginx.conf"));
  c.add("nginx", cm, "nginx");

  YAML::Node svc = c.base(f, "Service", "nginx");
  c.service(svc, c.str({"nginx", "type"}, "ClusterIP"), {{"http", "httpNodePort"}, {"grpc", "grpcNodePort"}}, {"nginx"});
  svc["spec"]["selector"] = c.match_labels("nginx");
  c.add("nginx", svc, "nginx");

  YAML::Node dep = c.base(f, "Deployment", "nginx");
  c.workload(dep, "nginx", {"nginx"});
  container(dep, "nginx")["image"] = c.image_for({"nginx"}, c.image("nginx"), "federatedai/nginx");
  c.add("nginx", dep, "nginx");
}

}  // namespace fatectl::render::detail
