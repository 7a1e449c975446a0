// Chart fate v1.6: the module list of a v1.6 spec, its PVC objects, and modules python (FATE
// Flow and FATE Board in one Deployment), mysql and client, which differ from v1.9+ in shape
// (Deployments, separate PersistentVolumeClaims, no probes). Base objects: manifests/fate/v1.6/.
#include <fmt/format.h>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

Storage16 storage16(const Ctx& c, Path mp, const std::string& claim, const std::string& sc_default) {
  Storage16 s;
  s.claim = claim;
  s.existing = c.str(mp + "existingClaim");
  s.storage_class = c.str(mp + "storageClass", sc_default);
  s.access_mode = c.str(mp + "accessMode", "ReadWriteOnce");
  s.size = c.str(mp + "size", "1Gi");
  return s;
}

void claim_volume16(Ctx& c, YAML::Node dep, const std::string& vol, const std::string& module,
                    const std::string& fm, const Storage16& s) {
  YAML::Node v(YAML::NodeType::Map);
  v["name"] = vol;
  if (!c.persistence) v["emptyDir"] = YAML::Node(YAML::NodeType::Map);
  else v["persistentVolumeClaim"]["claimName"] = s.existing.empty() ? s.claim : s.existing;
  dep["spec"]["template"]["spec"]["volumes"].push_back(v);
  if (!c.persistence || !s.existing.empty()) return;
  YAML::Node pvc = c.base(c.manifests + "/python.yaml", "PersistentVolumeClaim", "data");
  pvc["metadata"]["name"] = s.claim;
  pvc["spec"]["accessModes"][0] = s.access_mode;
  pvc["spec"]["resources"]["requests"]["storage"] = yaml::str(s.size);
  if (s.storage_class == "-") pvc["spec"]["storageClassName"] = yaml::str("");
  else if (!s.storage_class.empty()) pvc["spec"]["storageClassName"] = yaml::str(s.storage_class);
  c.add(module, pvc, fm);
}

namespace {

// ConfigMaps python-config, fateboard-config and the Pulsar / RabbitMQ route tables
void python_configs(Ctx& c, const std::string& f) {
  YAML::Node cm = c.base(f, "ConfigMap", "python-config");
  Ctx::set_data(cm, "spark-defaults.conf", spark_defaults_conf(c));
  Ctx::set_data(cm, "service_conf.yaml", service_conf_yaml_v16(c));
  Ctx::set_data(cm, "transfer_conf.yaml", c.text(c.manifests + "/transfer_conf.yaml"));
  c.add("python", cm, "python");
  YAML::Node fb = c.base(f, "ConfigMap", "fateboard-config");
  Ctx::set_data(fb, "application.properties", fateboard_properties_v16(c));
  c.add("python", fb, "fateboard");
  route_table_configs(c, f);
}

// Service fateflow-sparkdriver (when the Spark driver is reached from outside the pod network);
// returns its ports, which the python container then declares
std::vector<long> spark_driver_service(Ctx& c, const std::string& f) {
  std::vector<long> ports;
  long retries = c.num({"python", "spark", "portMaxRetries"}, 0);
  if (retries <= 0 || c.str({"python", "spark", "driverHost"}, "fateflow") == "fateflow") return ports;
  YAML::Node sd = c.base(f, "Service", "fateflow-sparkdriver");
  std::string type = c.str({"python", "spark", "driverHostType"}, "ClusterIP");
  bool expose = type == "NodePort" || type == "LoadBalancer";
  long dsp = c.num({"python", "spark", "driverStartPort"}, 0);
  long bmp = c.num({"python", "spark", "blockManagerStartPort"}, 0);
  for (long i = 0; i < retries; ++i)
    for (auto [name, base] : {std::pair<const char*, long>{"spark-driver-port", dsp}, {"spark-block-manager-port", bmp}}) {
      YAML::Node p(YAML::NodeType::Map);
      p["name"] = fmt::format("{}-{}", name, i);
      p["port"] = base + i;
      p["targetPort"] = base + i;
      if (expose) p["nodePort"] = base + i;
      p["protocol"] = "TCP";
      sd["spec"]["ports"].push_back(p);
      ports.push_back(base + i);
    }
  sd["spec"]["type"] = type;
  sd["spec"]["selector"] = c.match_labels("python");
  c.add("python", sd, "python");
  return ports;
}

void python_services(Ctx& c, const std::string& f) {
  fateflow_services(c, f);
  if (!c.has_module("fateboard")) return;
  YAML::Node board = c.base(f, "Service", "fateboard");
  c.service(board, c.str({"fateboard", "type"}, "ClusterIP"), {}, {"fateboard"});
  board["spec"]["selector"] = c.match_labels("python");
  c.add("python", board, "python");
}

// ping-mysql: waits for MySQL (left out with istio, as in the chart)
void ping_mysql(Ctx& c, YAML::Node dep) {
  if (c.istio) {
    dep["spec"]["template"]["spec"].remove("initContainers");
    return;
  }
  YAML::Node ping = container(dep, "ping-mysql");
  ping["image"] = c.third_party_image("mysql:8");
  Mysql m = mysql(c);
  set_env(ping, "MYSQL_DATABASE", m.db);
  set_env(ping, "MYSQL_USER", m.user);
  set_env(ping, "MYSQL_PASSWORD", m.password);
  set_env(ping, "MYSQL_HOST", m.host);
  set_env(ping, "MYSQL_PORT", m.port);
}

std::string flow_image16(const Ctx& c) {
  if (c.computing == "Spark") return c.image("python-spark");
  return c.image(c.flag({"python", "enabledNN"}) ? "python-nn" : "python");
}

void python_deployment(Ctx& c, const std::string& f, const std::vector<long>& driver_ports) {
  YAML::Node dep = c.base(f, "Deployment", "python");
  c.workload(dep, "python", {"python"}, false);
  YAML::Node pod = dep["spec"]["template"]["spec"];
  std::string sa = c.str({"python", "serviceAccountName"});
  pod["serviceAccountName"] = !sa.empty() ? sa : (c.psp ? c.party_name : std::string("default"));
  ping_mysql(c, dep);
  YAML::Node flow = container(dep, "python");
  flow["image"] = flow_image16(c);
  c.resources(flow, {"python"});
  if (c.computing == "Spark") {
    set_env(flow, "FATE_FLOW_UPLOAD_MAX_NUM", "1000000");
    set_env(flow, "FATE_FLOW_UPLOAD_MAX_BYTES", "104868093952");
  }
  // declared so that every port of Service fateflow-sparkdriver is a container port
  for (long p : driver_ports) {
    YAML::Node cp(YAML::NodeType::Map);
    cp["containerPort"] = p;
    flow["ports"].push_back(cp);
  }
  if (c.has_module("fateboard")) container(dep, "fateboard")["image"] = c.image("fateboard");
  else remove_named(pod["containers"], "name", "fateboard");
  claim_volume16(c, dep, "python-data", "python", "python", storage16(c, {"python"}, "python-data", "python"));
  c.add("python", dep, "python");
}

void render_mysql16(Ctx& c) {
  const std::string f = c.manifests + "/mysql.yaml";
  YAML::Node cm = c.base(f, "ConfigMap", "mysql-config");
  // backend spark keeps no eggroll metadata: the chart leaves the script out
  if (c.computing != "Spark") Ctx::set_data(cm, "create-eggroll-meta-tables.sql", mysql_init_sql_v16(c));
  c.add("mysql", cm, "mysql");

  YAML::Node svc = c.base(f, "Service", "mysql");
  c.service(svc, c.str({"mysql", "type"}, "ClusterIP"), {}, {"mysql"});
  svc["spec"]["selector"] = c.match_labels("mysql");
  c.add("mysql", svc, "mysql");

  YAML::Node dep = c.base(f, "Deployment", "mysql");
  c.workload(dep, "mysql", {"mysql"});
  YAML::Node ctr = container(dep, "mysql");
  ctr["image"] = c.third_party_image("mysql:8");
  set_env(ctr, "MYSQL_DATABASE", c.str({"mysql", "database"}, "eggroll_meta"));
  set_env(ctr, "MYSQL_USER", c.str({"mysql", "user"}, "fate"));
  set_env(ctr, "MYSQL_PASSWORD", c.str({"mysql", "password"}, "fate_dev"));
  std::string sub = c.raw({"mysql", "subPath"}, "mysql");
  if (!sub.empty())
    for (auto m : ctr["volumeMounts"])
      if (m["name"].Scalar() == "data") m["subPath"] = yaml::str(sub);
  Storage16 st = storage16(c, {"mysql"}, "mysql-data", "");
  st.storage_class = c.raw({"mysql", "storageClass"}, "mysql");
  claim_volume16(c, dep, "data", "mysql", "mysql", st);
  c.add("mysql", dep, "mysql");
}

void render_client16(Ctx& c) {
  const std::string f = c.manifests + "/client.yaml";
  YAML::Node svc = c.base(f, "Service", "notebook");
  svc["spec"]["selector"] = c.match_labels("client");
  c.add("client", svc, "client");

  YAML::Node dep = c.base(f, "Deployment", "client");
  c.workload(dep, "client", {"client"});
  YAML::Node ctr = container(dep, "client");
  ctr["image"] = c.image("client");
  set_env(ctr, "partyId", c.party_id);
  set_env(ctr, "FATE_SERVING_HOST", c.str({"servingIp"}) + ":" + c.str({"servingPort"}));
  std::string sub = c.raw({"client", "subPath"}, "client");
  if (!sub.empty()) ctr["volumeMounts"][0]["subPath"] = yaml::str(sub);
  claim_volume16(c, dep, "persistence", "client", "client", storage16(c, {"client"}, "client-data", "client"));
  c.add("client", dep, "client");
  render_ingress(c, "client", "client", "notebook", 20000);
}

}  // namespace

void render_python16(Ctx& c) {
  const std::string f = c.manifests + "/python.yaml";
  python_configs(c, f);
  python_services(c, f);
  std::vector<long> driver_ports = spark_driver_service(c, f);
  python_deployment(c, f, driver_ports);
}

void render_fate16(Ctx& c) {
  render_eggroll16(c);  // eggroll-config is rendered for every spec, as the chart does
  if (c.has_module("lbrollsite")) render_lbrollsite(c);
  if (c.has_module("python")) render_python16(c);
  if (c.has_module("mysql")) render_mysql16(c);
  if (c.has_module("fateboard")) render_ingress(c, "fateboard", "fateboard", "fateboard", 8080);
  if (c.has_module("client")) render_client16(c);
  if (c.has_module("spark")) render_spark(c);
  if (c.has_module("hdfs")) render_hdfs16(c);
  if (c.has_module("nginx")) render_nginx(c);
  if (c.has_module("rabbitmq")) render_rabbitmq(c);
  if (c.has_module("pulsar")) render_pulsar16(c);
}

}  // namespace fatectl::render::detail
