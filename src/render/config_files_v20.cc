// Generated config files of chart fate v2.0: FATE Flow 2.0's service_conf.yaml, the trimmed
// eggroll.properties of Eggroll 3 and OSX's route_table.json and broker.properties (the 2.0
// Pulsar route table is pulsar_route_table_yaml in config_files.cc). Skeletons live under
// manifests/fate/v2.0/; C++ sets the spec values.
#include <fmt/format.h>

#include <algorithm>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

std::string service_conf_yaml_v20(const Ctx& c) {
  YAML::Node s = yaml::clone(yaml::parse(c.text(c.manifests + "/service_conf.yaml"), "service_conf.yaml"));
  s["party_id"] = yaml::str(c.party_id);  // the chart quotes it
  bool spark = c.computing == "Spark" || c.computing == "Spark_local";
  s["fateflow"]["proxy_name"] = spark ? "nginx" : "osx";
  YAML::Node my = s["database"]["mysql"];
  my["name"] = yaml::str(c.str({"externalMysqlDatabase"}, c.str({"mysql", "database"}, "eggroll_meta")));
  my["user"] = yaml::str(c.str({"externalMysqlUser"}, c.str({"mysql", "user"}, "fate")));
  my["passwd"] = yaml::str(c.str({"externalMysqlPassword"}, c.str({"mysql", "password"}, "fate_dev")));
  my["host"] = yaml::str(c.str({"externalMysqlIp"}, c.str({"mysql", "ip"}, "mysql")));
  my["port"] = plain(c.str({"externalMysqlPort"}, c.str({"mysql", "port"}, "3306")));
  s["default_engines"]["computing"] = c.computing == "Spark_local" ? std::string("spark") : lower(c.computing);
  s["default_engines"]["federation"] = lower(c.federation);
  s["default_engines"]["storage"] = lower(c.storage);
  YAML::Node fed = s["federation"];
  fed["pulsar"]["host"] = plain(c.raw({"python", "pulsar", "host"}, "pulsar"));
  fed["pulsar"]["port"] = plain(c.raw({"python", "pulsar", "port"}, "6650"));
  fed["pulsar"]["mng_port"] = plain(c.raw({"python", "pulsar", "mng_port"}, "8080"));
  fed["pulsar"]["topic_ttl"] = plain(c.str({"python", "pulsar", "topic_ttl"}, "3"));
  fed["pulsar"]["cluster"] = c.str({"python", "pulsar", "cluster"}, "standalone");
  fed["pulsar"]["tenant"] = c.str({"python", "pulsar", "tenant"}, "fl-tenant");
  fed["nginx"]["host"] = plain(c.raw({"python", "nginx", "host"}, "nginx"));
  fed["nginx"]["http_port"] = plain(c.raw({"python", "nginx", "http_port"}, "9300"));
  fed["nginx"]["grpc_port"] = plain(c.raw({"python", "nginx", "grpc_port"}, "9310"));
  fed["rabbitmq"]["host"] = plain(c.raw({"python", "rabbitmq", "host"}, "rabbitmq"));
  fed["rabbitmq"]["mng_port"] = plain(c.raw({"python", "rabbitmq", "mng_port"}, "15672"));
  fed["rabbitmq"]["port"] = plain(c.raw({"python", "rabbitmq", "port"}, "5672"));
  fed["rabbitmq"]["user"] = plain(c.raw({"python", "rabbitmq", "user"}, "fate"));
  fed["rabbitmq"]["password"] = plain(c.raw({"python", "rabbitmq", "password"}, "fate"));
  s["storage"]["hdfs"]["name_node"] = c.str({"python", "hdfs", "name_node"}, "hdfs://namenode:9000");
  // servings / zookeeper: the chart writes them only when the serving module values exist
  // (they always do in its values.yaml: `with .Values.modules.serving`)
  std::string sip = c.str({"servingIp"}), sport = c.str({"servingPort"});
  YAML::Node hosts(YAML::NodeType::Sequence);
  hosts.push_back(yaml::str(!sip.empty() && !sport.empty() ? sip + ":" + sport : std::string()));
  s["servings"]["hosts"] = hosts;
  YAML::Node spec_zk = c.at({"serving", "zookeeper"});
  YAML::Node zk(YAML::NodeType::Map);
  if (!Ctx::empty(spec_zk)) {
    zk = yaml::clone(spec_zk);
  } else {
    zk["hosts"].push_back("serving-zookeeper.fate-serving-9999:2181");
    zk["use_acl"] = false;
    zk["user"] = "fate";
    zk["password"] = "fate";
  }
  s["zookeeper"] = zk;
  return yaml::to_yaml(s);
}

std::string eggroll_properties_v20(const Ctx& c) {
  std::string t = c.text(c.manifests + "/eggroll.properties");
  std::string host = c.str({"externalMysqlIp"}, c.str({"mysql", "ip"}, "mysql"));
  std::string port = c.str({"externalMysqlPort"}, c.str({"mysql", "port"}, "3306"));
  std::string db = c.str({"externalMysqlDatabase"}, c.str({"mysql", "database"}, "eggroll_meta"));
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.url",
                   fmt::format("jdbc:mysql://{}:{}/{}?useSSL=false&serverTimezone={}&characterEncoding=utf8&"
                               "allowPublicKeyRetrieval=true",
                               host, port, db, c.str({"clustermanager", "mysqlServerTimezone"}, "UTC")));
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.username",
                   c.str({"externalMysqlUser"}, c.str({"mysql", "user"}, "fate")));
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.password",
                   c.str({"externalMysqlPassword"}, c.str({"mysql", "password"}, "fate_dev")));
  t = set_property(t, "eggroll.resourcemanager.process.tag", c.party_id);
  t = set_property(t, "eggroll.session.processors.per.node", c.str({"nodemanager", "sessionProcessorsPerNode"}, "4"));
  return t;
}

// route_table.json of OSX: one `default` route per osx.partyList entry, then this party's
// fateflow; self_party and a permissive permission block.
std::string osx_route_table_json(const Ctx& c) {
  YAML::Node rt(YAML::NodeType::Map);
  YAML::Node parties = c.at({"osx", "partyList"});
  add_party_routes(rt, parties);
  rt[c.party_id]["fateflow"] = ip_port("fateflow", 9360);
  return route_table_json(rt, c.party_id);
}

// broker.properties of OSX. The chart writes `self.party=9999` for every party; fatectl writes
// the party's own id (see docs/render-differences.md).
std::string osx_broker_properties(const Ctx& c) {
  return set_property(c.text(c.manifests + "/osx-broker.properties"), "self.party", c.party_id);
}

}  // namespace fatectl::render::detail
