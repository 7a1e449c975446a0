// Generated config files: FATE Flow's service_conf.yaml, eggroll.properties, the route tables of
// rollsite, nginx, Pulsar and RabbitMQ, spark-defaults.conf, Pulsar's standalone.conf, FATE
// Board's application.properties and Traffic Server's sni.yaml / records.config.
// Structured files are built as yaml-cpp nodes from a skeleton under manifests/ and emitted;
// properties files are skeleton text whose keys are set one by one.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {



// A party id as a map key that emits as an integer (as the chart's `{{ $key }}:` does).
YAML::Node id_key(const std::string& id) {
  YAML::Node k(id);
  k.SetTag("?");
  return k;
}

// Appends the entries of a spec route table to `rt` in the order Go templates' `range` visits
// them (sorted as strings); an entry for a key already in `rt` replaces it. Keys keep their type.
// Merges a spec route table into `rt`, sorted by key. Sorting indices, not the YAML::Node
// pairs: moving yaml-cpp nodes inside a vector makes them share data (a table of two entries
// would come out as the first one twice).
void append_sorted(YAML::Node rt, const YAML::Node& table) {
  if (!table.IsMap()) return;
  std::vector<YAML::Node> keys, vals;
  for (const auto& kv : table) {
    keys.push_back(kv.first);
    vals.push_back(kv.second);
  }
  std::vector<size_t> idx(keys.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&keys](size_t a, size_t b) { return keys[a].Scalar() < keys[b].Scalar(); });
  auto in_table = [&keys](const std::string& k) {
    return std::any_of(keys.begin(), keys.end(), [&k](const YAML::Node& n) { return n.Scalar() == k; });
  };
  YAML::Node merged(YAML::NodeType::Map);
  std::vector<std::string> replaced;
  for (const auto& kv : rt) {
    std::string k = kv.first.Scalar();
    if (in_table(k)) {
      merged[yaml::clone(kv.first)] = yaml::clone(table[k]);
      replaced.push_back(k);
    } else {
      merged[yaml::clone(kv.first)] = kv.second;
    }
  }
  for (size_t i : idx)
    if (std::find(replaced.begin(), replaced.end(), keys[i].Scalar()) == replaced.end())
      merged[yaml::clone(keys[i])] = yaml::clone(vals[i]);
  rt = merged;
}

YAML::Node endpoint(const std::string& host, long http, long grpc) {
  YAML::Node e(YAML::NodeType::Map);
  e["host"] = yaml::str(host);
  e["http_port"] = http;
  e["grpc_port"] = grpc;
  YAML::Node l(YAML::NodeType::Sequence);
  l.push_back(e);
  return l;
}


}  // namespace

Mysql mysql(const Ctx& c) {
  Mysql m;
  m.host = c.str({"externalMysqlIp"}, c.str({"mysql", "ip"}, "mysql"));
  m.port = c.str({"externalMysqlPort"}, c.str({"mysql", "port"}, "3306"));
  m.db = c.str({"externalMysqlDatabase"}, c.str({"mysql", "database"}, "eggroll_meta"));
  m.user = c.str({"externalMysqlUser"}, c.str({"mysql", "user"}, "fate"));
  m.password = c.str({"externalMysqlPassword"}, c.str({"mysql", "password"}, "fate_dev"));
  return m;
}

std::string service_conf_yaml(const Ctx& c) {
  YAML::Node s = yaml::clone(yaml::parse(c.text(c.manifests + "/service_conf.yaml"), "service_conf.yaml"));
  s["use_registry"] = c.flag({"serving", "useRegistry"}, false);
  s["dependent_distribution"] = c.flag({"python", "dependent_distribution"}, false);
  s["party_id"] = plain(c.party_id);
  bool spark = c.computing == "Spark" || c.computing == "Spark_local";
  s["fateflow"]["proxy"] = spark ? "nginx" : "rollsite";
  Mysql m = mysql(c);
  s["database"]["name"] = yaml::str(m.db);
  s["database"]["user"] = yaml::str(m.user);
  s["database"]["passwd"] = yaml::str(m.password);
  s["database"]["host"] = yaml::str(m.host);
  s["database"]["port"] = plain(m.port);
  s["default_engines"]["computing"] = c.computing == "Spark_local" ? std::string("spark") : lower(c.computing);
  s["default_engines"]["federation"] = lower(c.federation);
  s["default_engines"]["storage"] = lower(c.storage);
  YAML::Node cm = s["fate_on_eggroll"]["clustermanager"];
  cm["cores_per_node"] = c.num({"python", "clustermanager", "cores_per_node"}, 16);
  cm["nodes"] = c.num({"python", "clustermanager", "nodes"}, 2);
  YAML::Node fs = s["fate_on_spark"];
  // python.spark is merged over the chart's values (cores_per_node 20, nodes 2)
  fs["spark"]["cores_per_node"] = plain(c.str({"python", "spark", "cores_per_node"}, "20"));
  fs["spark"]["nodes"] = plain(c.str({"python", "spark", "nodes"}, "2"));
  for (const char* k : {"host", "port", "auth_mechanism", "username", "password"})
    fs["hive"][k] = plain(c.raw({"python", "hive", k}, ""));
  fs["hdfs"]["name_node"] = c.str({"python", "hdfs", "name_node"}, "hdfs://namenode:9000");
  fs["hdfs"]["path_prefix"] = plain(c.raw({"python", "hdfs", "path_prefix"}, ""));
  fs["rabbitmq"]["host"] = plain(c.raw({"python", "rabbitmq", "host"}, "rabbitmq"));
  fs["rabbitmq"]["mng_port"] = plain(c.raw({"python", "rabbitmq", "mng_port"}, "15672"));
  fs["rabbitmq"]["port"] = plain(c.raw({"python", "rabbitmq", "port"}, "5672"));
  fs["rabbitmq"]["user"] = plain(c.raw({"python", "rabbitmq", "user"}, "fate"));
  fs["rabbitmq"]["password"] = plain(c.raw({"python", "rabbitmq", "password"}, "fate"));
  fs["pulsar"]["host"] = plain(c.raw({"python", "pulsar", "host"}, "pulsar"));
  fs["pulsar"]["port"] = plain(c.raw({"python", "pulsar", "port"}, "6650"));
  fs["pulsar"]["mng_port"] = plain(c.raw({"python", "pulsar", "mng_port"}, "8080"));
  fs["pulsar"]["topic_ttl"] = plain(c.str({"python", "pulsar", "topic_ttl"}, "3"));
  fs["pulsar"]["cluster"] = c.str({"python", "pulsar", "cluster"}, "standalone");
  fs["pulsar"]["tenant"] = c.str({"python", "pulsar", "tenant"}, "fl-tenant");
  fs["nginx"]["host"] = plain(c.raw({"python", "nginx", "host"}, "nginx"));
  fs["nginx"]["http_port"] = plain(c.raw({"python", "nginx", "http_port"}, "9300"));
  fs["nginx"]["grpc_port"] = plain(c.raw({"python", "nginx", "grpc_port"}, "9310"));
  std::string sip = c.str({"servingIp"}), sport = c.str({"servingPort"});
  YAML::Node hosts(YAML::NodeType::Sequence);
  hosts.push_back(yaml::str(!sip.empty() && !sport.empty() ? sip + ":" + sport : std::string()));
  s["servings"]["hosts"] = hosts;
  YAML::Node zk(YAML::NodeType::Map);
  YAML::Node serving = c.at({"serving"});
  YAML::Node spec_zk = c.at({"serving", "zookeeper"});
  if (serving.IsMap() && !Ctx::empty(spec_zk)) {
    zk = yaml::clone(spec_zk);
  } else if (serving.IsMap()) {
    zk["hosts"].push_back("serving-zookeeper.fate-serving-9999:2181");
    zk["use_acl"] = false;
    zk["user"] = "fate";
    zk["password"] = "fate";
  } else {
    zk["hosts"].push_back("serving-zookeeper.fate-serving-9999:2181");
  }
  s["zookeeper"] = zk;
  return yaml::to_yaml(s);
}

std::string eggroll_properties(const Ctx& c) {
  std::string t = c.text(c.manifests + "/eggroll.properties");
  Mysql m = mysql(c);
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.url",
                   fmt::format("jdbc:mysql://{}:{}/{}?useSSL=false&serverTimezone={}&characterEncoding=utf8&"
                               "allowPublicKeyRetrieval=true",
                               m.host, m.port, m.db, c.str({"clustermanager", "mysqlServerTimezone"}, "UTC")));
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.username", m.user);
  t = set_property(t, "eggroll.resourcemanager.clustermanager.jdbc.password", m.password);
  t = set_property(t, "eggroll.resourcemanager.process.tag", c.party_id);
  std::string spn = c.raw({"nodemanager", "sessionProcessorsPerNode"}, "4");
  t = set_property(t, "eggroll.session.processors.per.node", spn.empty() ? "2" : spn);
  t = set_property(t, "eggroll.rollsite.coordinator", c.party_name);
  t = set_property(t, "eggroll.rollsite.party.id", c.party_id);
  return set_polling_properties(c, t);
}

std::string set_polling_properties(const Ctx& c, std::string t) {
  if (c.flag({"rollsite", "polling", "enabled"})) {
    std::string type = c.str({"rollsite", "polling", "type"});
    if (type == "client") t = set_property(t, "eggroll.rollsite.polling.client.enabled", "true", "# polling");
    if (type == "server") {
      t = set_property(t, "eggroll.rollsite.polling.server.enabled", "true", "# polling");
      t = set_property(t, "eggroll.rollsite.polling.concurrency",
                       std::to_string(c.num({"rollsite", "polling", "concurrency"}, 50)),
                       "eggroll.rollsite.polling.server.enabled=true");
    }
  }
  return t;
}

std::string rollsite_route_table_json(const Ctx& c, bool exchange_chart) {
  YAML::Node rt(YAML::NodeType::Map);
  std::string ex_ip = c.str({"rollsite", "exchange", "ip"});
  bool polling_client = !exchange_chart && c.flag({"rollsite", "polling", "enabled"}) &&
                        c.str({"rollsite", "polling", "type"}) == "client";
  bool polling_server = !exchange_chart && c.flag({"rollsite", "polling", "enabled"}) &&
                        c.str({"rollsite", "polling", "type"}) == "server";
  if (!ex_ip.empty())
    rt["default"]["default"] = ip_port(ex_ip, c.num({"rollsite", "exchange", "port"}, 9370));
  else if (polling_client)
    rt["default"]["default"] = ip_port(c.str({"rollsite", "polling", "server", "ip"}),
                                       c.num({"rollsite", "polling", "server", "port"}, 9370));
  else
    rt["default"]["default"] = ip_port("rollsite", 9370);
  YAML::Node parties = c.at({"rollsite", "partyList"});
  add_party_routes(rt, parties);
  if (polling_server) {
    YAML::Node clients = c.at({"rollsite", "polling", "clientList"});
    if (clients.IsSequence())
      for (const auto& cl : clients) {
        YAML::Node e(YAML::NodeType::Map);
        e["port"] = -1;
        e["ip"] = yaml::str("");
        e["is_polling"] = true;
        rt[cl["partID"] ? cl["partID"].Scalar() : ""]["default"].push_back(e);
      }
  }
  add_rollsite_self(c, rt);
  return route_table_json(rt);
}

void add_rollsite_self(const Ctx& c, YAML::Node rt) {
  YAML::Node self(YAML::NodeType::Map);
  self["fateflow"] = ip_port("fateflow", 9360);
  self["default"] = ip_port("rollsite", 9370);
  rt[c.party_id] = self;
}

std::string route_table_json(const YAML::Node& rt, const std::string& self_party) {
  YAML::Node doc(YAML::NodeType::Map);
  doc["route_table"] = rt;
  if (!self_party.empty()) doc["self_party"].push_back(yaml::str(self_party));
  doc["permission"]["default_allow"] = true;
  std::string json = yaml::to_json(doc, true);
  while (!json.empty() && json.back() == '\n') json.pop_back();
  return json + "\n";
}

std::string nginx_route_table_yaml(const Ctx& c, bool exchange_chart) {
  YAML::Node rt(YAML::NodeType::Map);
  if (exchange_chart) {
    rt["default"]["proxy"] = endpoint("nginx", 9300, 9310);
  } else if (!c.str({"nginx", "exchange", "ip"}).empty()) {
    rt["default"]["proxy"] = endpoint(c.str({"nginx", "exchange", "ip"}), c.num({"nginx", "exchange", "httpPort"}, 0),
                                      c.num({"nginx", "exchange", "grpcPort"}, 0));
  }
  YAML::Node self(YAML::NodeType::Map);
  self["proxy"] = endpoint("nginx", 9300, 9310);
  self["fateflow"] = endpoint("fateflow", 9380, 9360);
  rt[id_key(c.party_id)] = self;
  append_sorted(rt, c.at({"nginx", "route_table"}));
  return yaml::to_yaml(rt);
}

std::string pulsar_route_table_yaml(const Ctx& c) {
  YAML::Node rt(YAML::NodeType::Map);
  YAML::Node ex = c.at({"pulsar", "exchange"});
  if (!Ctx::empty(ex) && !c.v20) {
    rt["default"]["proxy"] = yaml::str(c.str({"pulsar", "exchange", "ip"}) + ":" + c.str({"pulsar", "exchange", "port"}));
    rt["default"]["domain"] = yaml::str(c.str({"pulsar", "exchange", "domain"}, "fate.org"));
  }
  YAML::Node table = c.at({"pulsar", "route_table"});
  if (!Ctx::empty(table) && table.IsMap()) {
    append_sorted(rt, table);
  } else {
    YAML::Node self(YAML::NodeType::Map);
    self["host"] = "pulsar";
    self["port"] = 6650;
    self["sslPort"] = 6651;
    self["proxy"] = yaml::str("");
    rt[id_key(c.party_id)] = self;
  }
  std::string out = yaml::to_yaml(rt);
  if (c.v20) {
    // chart v2.0 lists `default` last: the exchange, or its placeholder proxy. Emitted as a
    // second map and appended (adding keys to `rt` after append_sorted() aliases its entries).
    YAML::Node d(YAML::NodeType::Map);
    if (!Ctx::empty(ex)) {
      d["default"]["proxy"] = yaml::str(c.str({"pulsar", "exchange", "ip"}) + ":" + c.str({"pulsar", "exchange", "port"}));
      d["default"]["domain"] = yaml::str(c.str({"pulsar", "exchange", "domain"}));
    } else {
      d["default"]["proxy"] = yaml::str("proxy.fate.org:443");
      d["default"]["domain"] = yaml::str("fate.org");
      d["default"]["brokerPort"] = 6650;
      d["default"]["brokerSslPort"] = 6651;
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += yaml::to_yaml(d);
  }
  return out;
}

std::string rabbitmq_route_table_yaml(const Ctx& c) {
  YAML::Node rt(YAML::NodeType::Map);
  YAML::Node table = c.at({"rabbitmq", "route_table"});
  if (!Ctx::empty(table) && table.IsMap()) {
    append_sorted(rt, table);
  } else {
    YAML::Node self(YAML::NodeType::Map);
    self["host"] = "rabbitmq";
    self["port"] = 5672;
    rt[id_key(c.party_id)] = self;
  }
  return yaml::to_yaml(rt);
}

std::string spark_defaults_conf(const Ctx& c) {
  std::ostringstream o;
  auto line = [&o](const std::string& k, const std::string& v) { o << fmt::format("{:<34}{}\n", k, v); };
  line("spark.master", c.computing == "Spark_local" ? std::string("local[*]")
                                                    : c.str({"python", "spark", "master"}, "spark://spark-master:7077"));
  line("spark.driver.host", c.str({"python", "spark", "driverHost"}, "fateflow"));
  std::string dsp = c.str({"python", "spark", "driverStartPort"});
  std::string pmr = c.str({"python", "spark", "portMaxRetries"});
  std::string bmp = c.str({"python", "spark", "blockManagerStartPort"});
  std::string pyp = c.str({"python", "spark", "pysparkPython"});
  if (!dsp.empty()) line("spark.driver.port", dsp);
  if (!pmr.empty()) line("spark.port.maxRetries", pmr);
  if (!bmp.empty()) {
    line("spark.blockManager.port", bmp);
    line("spark.driver.bindAddress", "0.0.0.0");
  }
  if (!pyp.empty()) {
    line("spark.pyspark.python", pyp);
    line("spark.pyspark.driver.python", "python");
  }
  return o.str();
}

std::string pulsar_standalone_conf(const Ctx& c) {
  std::string t = c.text(c.manifests + "/pulsar-standalone.conf");
  auto replace_line = [&t](const std::string& from, const std::string& to) {
    size_t p = t.find("\n" + from + "\n");
    if (p != std::string::npos) t.replace(p + 1, from.size(), to);
  };
  if (!Ctx::empty(c.at({"pulsar", "exchange"}))) {
    t = set_property(t, "brokerClientTlsEnabled", "true", "### --- General broker settings --- ###");
    replace_line("brokerServicePort=6650", "brokerServicePortTls=6651");
    replace_line("webServicePort=8080", "webServicePortTls=8081");
    t = set_property(t, "tlsEnabled", "true");
    t = set_property(t, "tlsAllowInsecureConnection", "true");
  }
  t = set_property(t, "backlogQuotaDefaultLimitGB",
                   c.str({"pulsar", "confs", "backlogQuotaDefaultLimitGB"}, "10"));
  t = set_property(t, "brokerDeleteInactiveTopicsFrequencySeconds",
                   c.str({"pulsar", "confs", "brokerDeleteInactiveTopicsFrequencySeconds"}, "60"));
  return t;
}

std::string fateboard_properties(const Ctx& c) {
  std::string t = c.text(c.manifests + "/fateboard-application.properties");
  long replicas = c.num({"python", "replicas"}, 1);
  std::string list;
  for (long i = 0; i < replicas; ++i) list += fmt::format("{}http://python-{}.fateflow:9380", i ? ";" : "", i);
  t = set_property(t, "fateflow.url-list", list);
  t = set_property(t, "server.board.login.username", c.raw({"fateboard", "username"}, "admin"));
  t = set_property(t, "server.board.login.password", c.raw({"fateboard", "password"}, "admin"));
  return t;
}

std::string ats_sni_yaml(const Ctx& c) {
  YAML::Node doc(YAML::NodeType::Map);
  YAML::Node list(YAML::NodeType::Sequence);
  YAML::Node sni = c.at({"trafficServer", "route_table", "sni"});
  if (sni.IsSequence())
    for (const auto& e : sni) {
      YAML::Node item(YAML::NodeType::Map);
      item["fqdn"] = yaml::str(e["fqdn"] ? e["fqdn"].Scalar() : "");
      item["tunnel_route"] = yaml::str(e["tunnelRoute"] ? e["tunnelRoute"].Scalar() : "");
      list.push_back(item);
    }
  doc["sni"] = list;
  return yaml::to_yaml(doc);
}

namespace {

// Does ATS's connect_ports list (e.g. "443 6650-6700 30000-33000") admit `port`?
bool port_allowed(const std::string& list, long port) {
  std::istringstream in(list);
  std::string item;
  while (in >> item) {
    size_t dash = item.find('-');
    try {
      long lo = std::stol(item.substr(0, dash));
      long hi = dash == std::string::npos ? lo : std::stol(item.substr(dash + 1));
      if (port >= lo && port <= hi) return true;
    } catch (...) {
    }
  }
  return false;
}

}  // namespace

std::string ats_records_config(const Ctx& c) {
  std::string t = c.text("exchange/records.config");
  const std::string key = "CONFIG proxy.config.http.connect_ports STRING ";
  size_t p = t.find(key);
  if (p == std::string::npos) return t;
  size_t end = t.find('\n', p);
  std::string ports = t.substr(p + key.size(), end - p - key.size());
  // every tunnel_route target must be an allowed CONNECT port, or ATS answers 403
  YAML::Node sni = c.at({"trafficServer", "route_table", "sni"});
  if (sni.IsSequence())
    for (const auto& e : sni) {
      std::string route = e["tunnelRoute"] ? e["tunnelRoute"].Scalar() : "";
      size_t colon = route.rfind(':');
      if (colon == std::string::npos) continue;
      long port = 0;
      try {
        port = std::stol(route.substr(colon + 1));
      } catch (...) {
        continue;
      }
      if (port > 0 && !port_allowed(ports, port)) ports += " " + std::to_string(port);
    }
  t.replace(p + key.size(), end - p - key.size(), ports);
  return t;
}

YAML::Node plain(const std::string& s) {
  if (s.empty()) return YAML::Node(YAML::NodeType::Null);
  return YAML::Node(s);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

YAML::Node ip_port(const std::string& ip, long port) {
  YAML::Node e(YAML::NodeType::Map);
  e["ip"] = yaml::str(ip);
  e["port"] = port;
  YAML::Node l(YAML::NodeType::Sequence);
  l.push_back(e);
  return l;
}

void add_party_routes(YAML::Node rt, const YAML::Node& parties) {
  if (!parties.IsSequence()) return;
  for (const auto& p : parties) {
    std::string id = p["partyId"] ? p["partyId"].Scalar() : "";
    long port = 0;
    if (p["partyPort"] && p["partyPort"].IsScalar()) {
      try {
        port = std::stol(p["partyPort"].Scalar());
      } catch (...) {
      }
    }
    rt[id]["default"] = ip_port(p["partyIp"] ? p["partyIp"].Scalar() : "", port);
  }
}

}  // namespace fatectl::render::detail
