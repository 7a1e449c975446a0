// Generated config files of chart fate v1.6: FATE Flow 1.6's service_conf.yaml, FATE Board's
// application.properties, eggroll.properties (eggroll-config and nodemanager-<i>-config) and the
// MySQL init script. Skeletons live under manifests/fate/v1.6/; C++ sets the spec values. The
// route tables and spark-defaults.conf are shared with v1.9-v1.11 (config_files.cc).
#include <fmt/format.h>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

// fate_on_spark: the engines' addresses (python.<engine> as the chart merges it over its values)
void fate_on_spark16(const Ctx& c, YAML::Node fs) {
  fs["spark"]["cores_per_node"] = plain(c.str({"python", "spark", "cores_per_node"}, "20"));
  fs["spark"]["nodes"] = plain(c.str({"python", "spark", "nodes"}, "2"));
  fs["hdfs"]["name_node"] = c.str({"python", "hdfs", "name_node"}, "hdfs://namenode:9000");
  fs["hdfs"]["path_prefix"] = plain(c.raw({"python", "hdfs", "path_prefix"}, ""));
  const std::pair<const char*, const char*> rabbitmq[] = {
      {"host", "rabbitmq"}, {"mng_port", "15672"}, {"port", "5672"}, {"user", "fate"}, {"password", "fate"}};
  for (auto [k, def] : rabbitmq) fs["rabbitmq"][k] = plain(c.raw({"python", "rabbitmq", k}, def));
  const std::pair<const char*, const char*> pulsar[] = {{"host", "pulsar"}, {"port", "6650"}, {"mng_port", "8080"}};
  for (auto [k, def] : pulsar) fs["pulsar"][k] = plain(c.raw({"python", "pulsar", k}, def));
  const std::pair<const char*, const char*> nginx[] = {{"host", "nginx"}, {"http_port", "9300"}, {"grpc_port", "9310"}};
  for (auto [k, def] : nginx) fs["nginx"][k] = plain(c.raw({"python", "nginx", k}, def));
}

// zookeeper: spec.serving.zookeeper merged over the chart's values (one sample host, no ACL)
YAML::Node zookeeper16(const Ctx& c) {
  YAML::Node zk(YAML::NodeType::Map);
  YAML::Node spec_zk = c.at({"serving", "zookeeper"});
  if (spec_zk.IsMap()) zk = yaml::clone(spec_zk);
  if (!zk["hosts"]) zk["hosts"].push_back("serving-zookeeper.fate-serving-9999:2181");
  if (!zk["use_acl"]) zk["use_acl"] = false;
  return zk;
}

}  // namespace

std::string service_conf_yaml_v16(const Ctx& c) {
  YAML::Node s = yaml::clone(yaml::parse(c.text(c.manifests + "/service_conf.yaml"), "service_conf.yaml"));
  bool use_registry = c.flag({"serving", "useRegistry"}, false);
  s["use_registry"] = use_registry;
  s["fateflow"]["host"] = c.istio ? "127.0.0.1" : "fateflow";
  s["fateflow"]["proxy"] = c.computing == "Spark" ? "nginx" : "rollsite";
  Mysql m = mysql(c);
  s["database"]["name"] = yaml::str(m.db);
  s["database"]["user"] = yaml::str(m.user);
  s["database"]["passwd"] = yaml::str(m.password);
  s["database"]["host"] = yaml::str(m.host);
  s["database"]["port"] = plain(m.port);
  YAML::Node cm = s["fate_on_eggroll"]["clustermanager"];
  cm["cores_per_node"] = c.num({"python", "clustermanager", "cores_per_node"}, 16);
  cm["nodes"] = c.num({"python", "clustermanager", "nodes"}, 2);
  fate_on_spark16(c, s["fate_on_spark"]);
  YAML::Node ms = s["model_store_address"];
  ms["name"] = plain(m.db);
  ms["host"] = yaml::str(m.host);
  ms["port"] = plain(m.port);
  ms["user"] = yaml::str(m.user);
  ms["passwd"] = yaml::str(m.password);
  std::string sip = c.str({"servingIp"}), sport = c.str({"servingPort"});
  YAML::Node hosts(YAML::NodeType::Sequence);
  hosts.push_back(yaml::str(!sip.empty() && !sport.empty() ? sip + ":" + sport : std::string()));
  s["servings"]["hosts"] = hosts;
  if (use_registry) s["zookeeper"] = zookeeper16(c);
  return yaml::to_yaml(s);
}

std::string fateboard_properties_v16(const Ctx& c) {
  std::string t = c.text(c.manifests + "/fateboard-application.properties");
  Mysql m = mysql(c);
  t = set_property(t, "fateflow.url", fmt::format("http://{}:9380", c.istio ? "127.0.0.1" : "fateflow"));
  t = set_property(t, "fateboard.datasource.jdbc-url",
                   fmt::format("jdbc:mysql://{}:{}/{}?characterEncoding=utf8&characterSetResults=utf8&"
                               "autoReconnect=true&failOverReadOnly=false&serverTimezone=GMT%2B8",
                               m.host, m.port, m.db));
  t = set_property(t, "fateboard.datasource.username", m.user);
  t = set_property(t, "fateboard.datasource.password", m.password);
  t = set_property(t, "server.board.login.username", c.raw({"fateboard", "username"}, "admin"));
  t = set_property(t, "server.board.login.password", c.raw({"fateboard", "password"}, "admin"));
  return t;
}

std::string eggroll_properties_v16(const Ctx& c, const std::string& processors, bool polling) {
  std::string t = c.text(c.manifests + "/eggroll.properties");
  Mysql m = mysql(c);
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.url",
                   fmt::format("jdbc:mysql://{}:{}/{}?useSSL=false&serverTimezone=UTC&characterEncoding=utf8&"
                               "allowPublicKeyRetrieval=true",
                               m.host, m.port, m.db));
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.username", m.user);
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.password", m.password);
  t = set_property(t, "eggroll.resourcemanager.process.tag", c.party_id);
  t = set_property(t, "eggroll.session.processors.per.node", processors);
  t = set_property(t, "eggroll.rollsite.coordinator", c.party_name);
  t = set_property(t, "eggroll.rollsite.party.id", c.party_id);
  if (!polling) {
    // nodemanager-<i>-config ends with the rollsite push settings
    size_t p = t.rfind("\n# polling\n");
    if (p != std::string::npos) t.erase(p);
    return t;
  }
  return set_polling_properties(c, t);
}

std::string mysql_init_sql_v16(const Ctx& c) {
  std::string sql = c.text(c.manifests + "/mysql-create-eggroll-meta-tables.sql");
  const std::string db = c.str({"mysql", "database"}, "eggroll_meta");
  for (size_t p; (p = sql.find("@database@")) != std::string::npos;) sql.replace(p, 10, db);
  std::string nodes;
  for (const auto& nm : nodemanagers16(c))
    nodes += fmt::format("INSERT INTO server_node (host, port, node_type, status) values ('{}', '9461', "
                         "'NODE_MANAGER', 'HEALTHY');\n",
                         nm.name);
  const std::string marker = "@nodemanagers@\n";
  size_t p = sql.find(marker);
  if (p != std::string::npos) sql.replace(p, marker.size(), nodes);
  return sql;
}

}  // namespace fatectl::render::detail
