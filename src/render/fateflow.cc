// Module python (FATE Flow): StatefulSet python, Services fateflow / fateflow-client /
// fateflow-sparkdriver, ConfigMaps python-config, pulsar-route-table, rabbitmq-route-table.
#include <fmt/format.h>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

void route_table_configs(Ctx& c, const std::string& f) {
  YAML::Node prt = c.base(f, "ConfigMap", "pulsar-route-table");
  Ctx::set_data(prt, "pulsar_route_table.yaml", pulsar_route_table_yaml(c));
  c.add("python", prt, "python");
  YAML::Node rrt = c.base(f, "ConfigMap", "rabbitmq-route-table");
  Ctx::set_data(rrt, "rabbitmq_route_table.yaml", rabbitmq_route_table_yaml(c));
  c.add("python", rrt, "python");
}

void fateflow_services(Ctx& c, const std::string& f) {
  YAML::Node headless = c.base(f, "Service", "fateflow");
  headless["spec"]["selector"] = c.match_labels("python");
  c.add("python", headless, "fateflow");
  YAML::Node client = c.base(f, "Service", "fateflow-client");
  c.service(client, c.str({"python", "type"}, "ClusterIP"), {{"tcp-grpc", "grpcNodePort"}, {"tcp-http", "httpNodePort"}},
            {"python"});
  client["spec"]["selector"] = c.match_labels("python");
  c.add("python", client, "fateflow");
}

void render_python(Ctx& c) {
  const std::string f = c.manifests + "/python.yaml";

  YAML::Node cm = c.base(f, "ConfigMap", "python-config");
  Ctx::set_data(cm, "spark-defaults.conf", spark_defaults_conf(c));
  Ctx::set_data(cm, "service_conf.yaml", c.v20 ? service_conf_yaml_v20(c) : service_conf_yaml(c));
  c.add("python", cm, "python");
  route_table_configs(c, f);

  fateflow_services(c, f);

  // Spark driver ports, exposed when the driver is reached from outside the pod network
  std::vector<long> driver_ports;
  long retries = c.num({"python", "spark", "portMaxRetries"}, 0);
  std::string driver_host = c.str({"python", "spark", "driverHost"}, "fateflow");
  if (retries > 0 && driver_host != "fateflow") {
    YAML::Node sd = c.base(f, "Service", "fateflow-sparkdriver");
    std::string type = c.str({"python", "spark", "driverHostType"}, "ClusterIP");
    bool expose = type == "NodePort" || type == "LoadBalancer";
    long dsp = c.num({"python", "spark", "driverStartPort"}, 0);
    long bmp = c.num({"python", "spark", "blockManagerStartPort"}, 0);
    YAML::Node ports(YAML::NodeType::Sequence);
    for (long i = 0; i < retries; ++i) {
      for (auto [name, base] : {std::pair<const char*, long>{"spark-driver-port", dsp}, {"spark-block-manager-port", bmp}}) {
        YAML::Node p(YAML::NodeType::Map);
        p["name"] = fmt::format("{}-{}", name, i);
        p["port"] = base + i;
        p["targetPort"] = base + i;
        if (expose) p["nodePort"] = base + i;
        driver_ports.push_back(base + i);
        p["protocol"] = "TCP";
        ports.push_back(p);
      }
    }
    sd["spec"]["ports"] = ports;
    sd["spec"]["type"] = type;
    sd["spec"]["selector"] = c.match_labels("python");
    c.add("python", sd, "python");
  }

  YAML::Node sts = c.base(f, "StatefulSet", "python");
  sts["spec"]["replicas"] = c.num({"python", "replicas"}, 1);
  c.workload(sts, "python", {"python"}, false);
  YAML::Node pod = sts["spec"]["template"]["spec"];
  std::string sa = c.str({"python", "serviceAccountName"});
  pod["serviceAccountName"] = !sa.empty() ? sa : (c.psp ? c.party_name : std::string("default"));
  if (c.istio) {
    pod.remove("initContainers");
    sts["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = yaml::str("false");
  } else {
    YAML::Node ping = container(sts, "ping-mysql");
    ping["image"] = c.image_for({"mysql"}, c.third_party_image("mysql:8.0.28"), "mysql", "", "8.0.28");
    std::string host = c.str({"externalMysqlIp"}, c.str({"mysql", "ip"}, "mysql"));
    set_env(ping, "MYSQL_DATABASE", c.str({"externalMysqlDatabase"}, c.str({"mysql", "database"}, "eggroll_meta")));
    set_env(ping, "MYSQL_USER", c.str({"externalMysqlUser"}, c.str({"mysql", "user"}, "fate")));
    set_env(ping, "MYSQL_PASSWORD", c.str({"externalMysqlPassword"}, c.str({"mysql", "password"}, "fate_dev")));
    set_env(ping, "MYSQL_HOST", host);
    set_env(ping, "MYSQL_PORT", c.str({"externalMysqlPort"}, c.str({"mysql", "port"}, "3306")));
  }
  YAML::Node flow = container(sts, "fateflow");
  flow["image"] = c.image_for({"python"}, c.image("fateflow" + c.suffix(true)), "federatedai/fateflow", c.suffix(true));
  c.resources(flow, {"python"});
  // declared so that every port of Service fateflow-sparkdriver is a container port
  for (long p : driver_ports) {
    YAML::Node cp(YAML::NodeType::Map);
    cp["containerPort"] = p;
    flow["ports"].push_back(cp);
  }
  // env: POD_IP, FATE_LOG_LEVEL, FATE_PROJECT_BASE, HUGGINGFACE_HUB_CACHE (+ upload limits on Spark)
  YAML::Node env(YAML::NodeType::Sequence);
  for (auto e : flow["env"]) {
    env.push_back(e);
    if (e["name"].Scalar() == "POD_IP") {
      YAML::Node lvl(YAML::NodeType::Map);
      lvl["name"] = "FATE_LOG_LEVEL";
      lvl["value"] = yaml::str(c.str({"python", "logLevel"}, "INFO"));
      env.push_back(lvl);
    }
  }
  flow["env"] = env;
  if (c.computing == "Spark") {
    set_env(flow, "FATE_FLOW_UPLOAD_MAX_NUM", "1000000");
    set_env(flow, "FATE_FLOW_UPLOAD_MAX_BYTES", "104868093952");
  }
  if (c.computing != "Eggroll") {
    remove_named(flow["volumeMounts"], "name", "eggroll-confs");
    remove_named(pod["volumes"], "name", "eggroll-confs");
  }
  if (c.federation != "RabbitMQ") {
    remove_named(flow["volumeMounts"], "name", "rabbitmq-route-table");
    remove_named(pod["volumes"], "name", "rabbitmq-route-table");
  }
  if (c.federation != "Pulsar") {
    remove_named(flow["volumeMounts"], "name", "pulsar-route-table");
    remove_named(pod["volumes"], "name", "pulsar-route-table");
  }
  c.data_volume(sts, "python-data", "python", {"python"}, "python", "python-data");
  c.add("python", sts, "python");
}

}  // namespace fatectl::render::detail
