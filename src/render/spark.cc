// Module spark: Deployments spark-master / spark-worker, Services spark-master, spark-client,
// spark-worker-1, ConfigMap spark-worker-config (the executors' service_conf.yaml), Ingress spark.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

// The chart's values.yaml resources of a worker: v1.6 requests 1 CPU / 2Gi with limits 2 / 4Gi,
// v1.9+ requests 4 CPU / 8Gi.
YAML::Node worker_defaults(const Ctx& c) {
  YAML::Node d(YAML::NodeType::Map);
  d["requests"]["cpu"] = yaml::str(c.v16 ? "1" : "4");
  d["requests"]["memory"] = yaml::str(c.v16 ? "2Gi" : "8Gi");
  if (c.v16) {
    d["limits"]["cpu"] = yaml::str("2");
    d["limits"]["memory"] = yaml::str("4Gi");
  }
  return d;
}

}  // namespace

void render_spark(Ctx& c) {
  const std::string f = c.manifests + "/spark.yaml";
  YAML::Node cm = c.base(f, "ConfigMap", "spark-worker-config");
  Ctx::set_data(cm, "service_conf.yaml", c.text(c.manifests + "/spark-worker-service_conf.yaml"));
  c.add("spark", cm, "spark-worker");

  YAML::Node master_svc = c.base(f, "Service", "spark-master");
  master_svc["spec"]["selector"] = c.match_labels("spark-master");
  c.add("spark", master_svc, "spark-master");
  YAML::Node client_svc = c.base(f, "Service", "spark-client");
  // v1.6 exposes the master port (7077) as the nodePort, v1.9+ the web UI
  c.service(client_svc, c.str({"spark", "master", "type"}, "ClusterIP"), {{c.v16 ? "master" : "web-ui", "nodePort"}},
            {"spark", "master"});
  client_svc["spec"]["selector"] = c.match_labels("spark-master");
  c.add("spark", client_svc, "spark-master");
  YAML::Node worker_svc = c.base(f, "Service", "spark-worker-1");
  // headless (clusterIP: None) Services can only be ClusterIP
  worker_svc["spec"]["selector"] = c.match_labels("spark-worker");
  c.add("spark", worker_svc, "spark-worker");

  auto image = [&c](const std::string& role, const std::string& def_name) {
    std::string img = c.str({"spark", role, "Image"}, c.str({"spark", role, "image"}));
    std::string tag = c.str({"spark", role, "ImageTag"}, c.str({"spark", role, "imageTag"}, c.tag));
    return (img.empty() ? c.registry + "/" + def_name : img) + ":" + tag;
  };

  YAML::Node master = c.base(f, "Deployment", "spark-master");
  master["spec"]["replicas"] = c.num({"spark", "master", "replicas"}, 1);
  c.workload(master, "spark-master", {"spark", "master"});
  YAML::Node mc = container(master, "spark-master");
  mc["image"] = c.image_for({"spark", "master"}, image("master", "spark-master"), "federatedai/spark-master");
  c.resources(mc, {"spark", "master"});
  if (!c.v16) c.probes(mc, "http", 8080);
  c.add("spark", master, "spark-master");

  YAML::Node worker = c.base(f, "Deployment", "spark-worker");
  worker["spec"]["replicas"] = c.num({"spark", "worker", "replicas"}, 2);
  c.workload(worker, "spark-worker", {"spark", "worker"});
  YAML::Node wc = container(worker, "spark-worker");
  wc["image"] = c.image_for({"spark", "worker"}, image("worker", "spark-worker" + c.suffix(false)),
                           "federatedai/spark-worker", c.suffix(false));
  c.resources(wc, {"spark", "worker"}, worker_defaults(c));
  if (!c.v16) c.probes(wc, "http", 8081);
  c.add("spark", worker, "spark-worker");

  render_ingress(c, "spark", "spark", "spark-master", 8080);
}

}  // namespace fatectl::render::detail
