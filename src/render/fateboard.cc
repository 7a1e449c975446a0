// Module fateboard: Deployment, Service and ConfigMap fateboard-config (application.properties).
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void render_fateboard(Ctx& c) {
  const std::string f = c.manifests + "/fateboard.yaml";
  YAML::Node cm = c.base(f, "ConfigMap", "fateboard-config");
  Ctx::set_data(cm, "application.properties", fateboard_properties(c));
  c.add("fateboard", cm, "fateboard");

  YAML::Node svc = c.base(f, "Service", "fateboard");
  c.service(svc, c.str({"fateboard", "type"}, "ClusterIP"), {}, {"fateboard"});
  svc["spec"]["selector"] = c.match_labels("fateboard");
  c.add("fateboard", svc, "fateboard");

  YAML::Node dep = c.base(f, "Deployment", "fateboard");
  // the chart gives fateboard no serviceAccountName
  c.workload(dep, "fateboard", {"fateboard"}, false);
  if (c.istio)
    dep["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = yaml::str("false");
  YAML::Node ctr = container(dep, "fateboard");
  ctr["image"] = c.image_for({"fateboard"}, c.image("fateboard"), "federatedai/fateboard");
  c.probes(ctr, "http", 8080);
  c.add("fateboard", dep, "fateboard");
  render_ingress(c, "fateboard", "fateboard", "fateboard", 8080);
}

}  // namespace fatectl::render::detail
