// Module pulsar: standalone broker StatefulSet, Services pulsar (and pulsar-public-tls),
// ConfigMap pulsar-config (standalone.conf), Ingress pulsar. With pulsar.exchange the broker
// serves TLS from the user-provided Secret pulsar-cert.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void mount_pulsar_cert(YAML::Node dep, YAML::Node ctr) {
  YAML::Node m(YAML::NodeType::Map);
  m["mountPath"] = "/opt/pulsar/certs/";
  m["name"] = "pulsar-cert";
  ctr["volumeMounts"].push_back(m);
  YAML::Node v(YAML::NodeType::Map);
  v["name"] = "pulsar-cert";
  v["secret"]["secretName"] = "pulsar-cert";
  dep["spec"]["template"]["spec"]["volumes"].push_back(v);
}

void pulsar_config_and_services(Ctx& c, const std::string& f) {
  YAML::Node cm = c.base(f, "ConfigMap", "pulsar-config");
  Ctx::set_data(cm, "standalone.conf", pulsar_standalone_conf(c));
  c.add("pulsar", cm, "pulsar");

  YAML::Node svc = c.base(f, "Service", "pulsar");
  c.service(svc, c.str({"pulsar", "type"}, "ClusterIP"), {{"http-port", "httpNodePort"}, {"https-port", "httpsNodePort"}},
            {"pulsar"});
  svc["spec"]["selector"] = c.match_labels("pulsar");
  c.add("pulsar", svc, "pulsar");
  if (c.flag({"pulsar", "publicLB", "enabled"})) {
    YAML::Node pub = c.base(f, "Service", "pulsar-public-tls");
    pub["spec"]["selector"] = c.match_labels("pulsar");
    c.add("pulsar", pub, "pulsar");
  }
}

void render_pulsar(Ctx& c) {
  const std::string f = c.manifests + "/pulsar.yaml";
  bool exchange = !Ctx::empty(c.at({"pulsar", "exchange"}));
  pulsar_config_and_services(c, f);
  YAML::Node sts = c.base(f, "StatefulSet", "pulsar");
  c.workload(sts, "pulsar", {"pulsar"});
  YAML::Node ctr = container(sts, "pulsar");
  ctr["image"] = c.image_for({"pulsar"}, c.image("pulsar", "2.10.1"), "federatedai/pulsar", "", "2.10.2");
  c.resources(ctr, {"pulsar"});
  YAML::Node env = c.at({"pulsar", "env"});
  if (!Ctx::empty(env) && env.IsSequence()) {
    YAML::Node e = yaml::clone(env);
    for (auto item : e)
      if (item["value"] && item["value"].IsScalar()) item["value"] = yaml::str(item["value"].Scalar());
    ctr["env"] = e;
  }
  c.probes(ctr, "tcp", exchange ? 8081 : 8080);
  if (exchange) mount_pulsar_cert(sts, ctr);
  c.data_volume(sts, "pulsar-data", "pulsar", {"pulsar"}, "", "pulsar-data");
  c.add("pulsar", sts, "pulsar");
  render_ingress(c, "pulsar", "pulsar", "pulsar", 8080);
}

}  // namespace fatectl::render::detail
