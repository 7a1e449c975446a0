// Rules across keys: release and namespace names, modules, the computing/federation/storage
// matrix, route tables (duplicates, tunnel ports), NodePort clashes, settings of modules
// that are not enabled.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "fatectl/core/yaml.h"
#include "fatectl/spec/schema.h"
#include "fatectl/spec/suggest.h"
#include "fatectl/spec/validate.h"

namespace fatectl::spec {
namespace {

struct Ctx {
  Report& r;
  const std::string& file;
  const YAML::Node& root;
  void error(const YAML::Node& n, const std::string& path, const std::string& msg) {
    r.errors.push_back({where(n.IsDefined() ? n : root, file), path, msg});
  }
  void warn(const YAML::Node& n, const std::string& path, const std::string& msg) {
    r.warnings.push_back({where(n.IsDefined() ? n : root, file), path, msg});
  }
};

YAML::Node get(const YAML::Node& n, std::initializer_list<const char*> keys) {
  YAML::Node cur = n;
  for (const char* k : keys) {
    if (!cur.IsDefined() || !cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = static_cast<const YAML::Node&>(cur)[k];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);  // never `cur = next`: yaml-cpp would overwrite the node cur refers to
  }
  return cur;
}

std::string scalar(const YAML::Node& n) { return n.IsDefined() && n.IsScalar() ? n.Scalar() : std::string(); }

bool dns_label(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

void check_names(Ctx& c) {
  YAML::Node name = get(c.root, {"name"}), ns = get(c.root, {"namespace"});
  if (name.IsScalar() && !dns_label(name.Scalar(), 53))
    c.error(name, "name",
            "release name " + yaml::json_quote(name.Scalar()) +
                " must be a DNS-1123 label: lower-case letters, digits and '-', at most 53 characters");
  if (ns.IsScalar() && !dns_label(ns.Scalar(), 63))
    c.error(ns, "namespace",
            "namespace " + yaml::json_quote(ns.Scalar()) +
                " must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters");
}

/// Module list: names known to the generation, no duplicates. Fills spec.modules.
void check_modules(Ctx& c) {
  ClusterSpec& s = c.r.spec;
  YAML::Node mods = get(c.root, {"modules"});
  if (!mods.IsSequence()) return;  // missing or wrong type: reported by the key tree
  const auto& known = schema::module_names(s.generation);
  std::map<std::string, int> seen;
  for (size_t i = 0; i < mods.size(); ++i) {
    YAML::Node m = mods[i];
    std::string path = "modules[" + std::to_string(i) + "]";
    if (!m.IsScalar()) continue;
    std::string name = m.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string msg = "unknown module '" + name + "' for chart " + generation_name(s.generation);
      if (s.generation == Generation::Fate20 && name == "rollsite")
        msg = "module rollsite does not exist in chart v2.0: osx replaced it (modules: [osx, ...], federation: OSX)";
      else if (s.generation != Generation::Fate20 && name == "osx" && !s.is_exchange())
        msg = "module osx exists from chart v2.0 on; chart " + generation_name(s.generation) + " uses rollsite";
      else {
        std::string near = nearest(name, known);
        if (!near.empty()) msg += " (did you mean '" + near + "'?)";
        else {
          std::string all;
          for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
          msg += " (modules: " + all + ")";
        }
      }
      c.error(m, path, msg);
      continue;
    }
    auto [it, fresh] = seen.emplace(name, m.Mark().line + 1);
    if (!fresh) {
      c.error(m, path, "module " + name + " is listed twice (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    s.modules.push_back(name);
  }
  if (mods.size() == 0) c.error(mods, "modules", "modules is empty; list the modules to deploy");
}

/// The engine layout and which modules it needs (chart fate).
void check_matrix(Ctx& c) {
  ClusterSpec& s = c.r.spec;
  const bool v16 = s.generation == Generation::Fate16, v20 = s.generation == Generation::Fate20;
  YAML::Node modules_node = get(c.root, {"modules"});
  // Where an "engine needs module" error points.
  YAML::Node comp_node = get(c.root, {"computing"}), fed_node = get(c.root, {"federation"}),
             sto_node = get(c.root, {"storage"});

  if (v16) {
    YAML::Node b = get(c.root, {"backend"});
    s.backend = scalar(b).empty() ? "eggroll" : scalar(b);
    if (s.backend != "eggroll" && s.backend != "spark") return;  // enum error already reported
    const YAML::Node& at = b.IsDefined() ? b : modules_node;
    comp_node.reset(at);
    fed_node.reset(at);
    sto_node.reset(at);
    if (s.backend == "eggroll") {
      s.computing = s.federation = s.storage = "Eggroll";
    } else {
      s.computing = "Spark";
      s.storage = "HDFS";
      bool p = s.has_module("pulsar"), q = s.has_module("rabbitmq");
      if (p && q) {
        c.error(modules_node, "modules", "backend spark takes one message queue: list pulsar or rabbitmq, not both");
        return;
      }
      if (!p && !q) {
        c.error(comp_node, "backend", "backend spark needs a message queue module: add pulsar or rabbitmq to modules");
        return;
      }
      s.federation = p ? "Pulsar" : "RabbitMQ";
    }
  } else {
    s.computing = scalar(comp_node);
    s.federation = scalar(fed_node);
    s.storage = scalar(sto_node);
    s.algorithm = scalar(get(c.root, {"algorithm"}));
    s.device = scalar(get(c.root, {"device"}));
    if (s.computing.empty() || s.federation.empty() || s.storage.empty()) return;  // missing: reported already
    static const std::set<std::string> comps = {"Eggroll", "Spark", "Spark_local"},
                                       feds = {"Eggroll", "OSX", "Pulsar", "RabbitMQ"},
                                       stores = {"Eggroll", "HDFS", "LocalFS", "Hive"};
    if (!comps.count(s.computing) || !feds.count(s.federation) || !stores.count(s.storage)) return;

    // Generation-specific federation engines.
    if (v20 && s.federation == "Eggroll") {
      c.error(fed_node, "federation", "federation Eggroll (rollsite) was replaced by OSX in chart v2.0; write federation: OSX and list module osx");
      return;
    }
    if (!v20 && s.federation == "OSX") {
      c.error(fed_node, "federation", "federation OSX needs chart v2.0; chart " + generation_name(s.generation) + " uses Eggroll (rollsite)");
      return;
    }
    // The combinations the charts support.
    bool ok = true;
    std::string want;
    if (s.computing == "Eggroll") {
      if (s.federation != (v20 ? "OSX" : "Eggroll")) ok = false, want = std::string("federation ") + (v20 ? "OSX" : "Eggroll");
      else if (s.storage != "Eggroll") ok = false, want = "storage Eggroll";
    } else if (s.computing == "Spark") {
      if (s.federation != "Pulsar" && s.federation != "RabbitMQ" && !(v20 && s.federation == "OSX"))
        ok = false, want = std::string("federation Pulsar or RabbitMQ") + (v20 ? " (or OSX)" : "");
      else if (s.storage != "HDFS" && s.storage != "Hive") ok = false, want = "storage HDFS (or Hive)";
    } else {  // Spark_local
      if (s.federation != "Pulsar" && s.federation != "RabbitMQ" && !(v20 && s.federation == "OSX"))
        ok = false, want = std::string("federation Pulsar or RabbitMQ") + (v20 ? " (or OSX)" : "");
      else if (s.storage != "LocalFS") ok = false, want = "storage LocalFS";
    }
    if (!ok) {
      bool fed_wrong = want.rfind("federation", 0) == 0;
      c.error(fed_wrong ? fed_node : sto_node, fed_wrong ? "federation" : "storage",
              "computing " + s.computing + " works with " + want + ", not federation " + s.federation + " / storage " +
                  s.storage + " (supported: Eggroll/" + (v20 ? "OSX" : "Eggroll") +
                  "/Eggroll, Spark/Pulsar|RabbitMQ/HDFS, Spark_local/Pulsar|RabbitMQ/LocalFS)");
      return;
    }
  }

  // Modules every layout needs, and modules each engine needs.
  struct Need {
    std::string module, why;
    YAML::Node at;
    std::string path;
  };
  std::vector<Need> needs;
  const std::string comp_path = v16 ? "backend" : "computing", fed_path = v16 ? "backend" : "federation",
                    sto_path = v16 ? "backend" : "storage";
  for (const char* m : {"python", "fateboard", "client"}) needs.push_back({m, "every FATE party", modules_node, "modules"});
  if (scalar(get(c.root, {"externalMysqlIp"})).empty())
    needs.push_back({"mysql", "every FATE party (unless externalMysqlIp is set)", modules_node, "modules"});
  std::string comp_label = v16 ? "backend " + s.backend : "computing " + s.computing;
  std::string fed_label = v16 ? "backend " + s.backend : "federation " + s.federation;
  std::string sto_label = v16 ? "backend " + s.backend : "storage " + s.storage;
  if (s.computing == "Eggroll") {
    needs.push_back({"clustermanager", comp_label, comp_node, comp_path});
    needs.push_back({"nodemanager", comp_label, comp_node, comp_path});
  }
  if (s.computing == "Spark") needs.push_back({"spark", comp_label, comp_node, comp_path});
  if (s.computing == "Spark" || s.computing == "Spark_local") needs.push_back({"nginx", comp_label, comp_node, comp_path});
  if (s.federation == "Eggroll") needs.push_back({"rollsite", fed_label, fed_node, fed_path});
  if (s.federation == "OSX") needs.push_back({"osx", fed_label, fed_node, fed_path});
  if (s.federation == "Pulsar") needs.push_back({"pulsar", fed_label, fed_node, fed_path});
  if (s.federation == "RabbitMQ") needs.push_back({"rabbitmq", fed_label, fed_node, fed_path});
  if (s.storage == "HDFS") needs.push_back({"hdfs", sto_label, sto_node, sto_path});
  for (const auto& n : needs) {
    if (n.module == "rollsite" && s.has_module("lbrollsite")) continue;  // rollsite behind nginx
    if (!s.has_module(n.module)) c.error(n.at, n.path, n.why + " needs module " + n.module + " in modules");
  }

  // Modules that do not belong to the layout.
  if (!modules_node.IsSequence()) return;
  for (size_t i = 0; i < modules_node.size(); ++i) {
    std::string m = scalar(modules_node[i]);
    if (!s.has_module(m)) continue;  // unknown module: reported by check_modules
    std::string path = "modules[" + std::to_string(i) + "]";
    std::string needs_what;
    if (m == "spark" && s.computing != "Spark") needs_what = "computing Spark";
    if (m == "hdfs" && s.storage != "HDFS") needs_what = "storage HDFS";
    if (m == "nginx" && s.computing != "Spark" && s.computing != "Spark_local") needs_what = "computing Spark or Spark_local";
    if (m == "pulsar" && s.federation != "Pulsar") needs_what = "federation Pulsar";
    if (m == "rabbitmq" && s.federation != "RabbitMQ") needs_what = "federation RabbitMQ";
    if ((m == "clustermanager" || m == "nodemanager") && s.computing != "Eggroll") needs_what = "computing Eggroll";
    if ((m == "rollsite" || m == "lbrollsite") && s.federation != "Eggroll") needs_what = "federation Eggroll";
    if (m == "osx" && s.federation != "OSX") needs_what = "federation OSX";
    if (m == "lbrollsite" && needs_what.empty() && s.has_module("rollsite")) {
      c.error(modules_node[i], path, "module lbrollsite replaces rollsite (both are the Deployment and Service 'rollsite'); list one of them");
      continue;
    }
    if (needs_what.empty()) continue;
    std::string have = v16 ? "backend " + s.backend
                           : "computing " + s.computing + ", federation " + s.federation + ", storage " + s.storage;
    if (v16 && s.backend == "spark") have += " (Spark/" + s.federation + "/HDFS)";
    c.error(modules_node[i], path, "module " + m + " works with " + needs_what + ", but this spec has " + have);
  }
}

/// Duplicate party ids within a list of maps (partyList, exchangeList).
void check_party_list(Ctx& c, const YAML::Node& list, const std::string& path, const char* id_key, bool self_warn) {
  if (!list.IsSequence()) return;
  std::map<long long, int> seen;
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node id = get(list[i], {id_key});
    long long v = 0;
    if (!as_integer(id, v)) continue;
    std::string ip = path + "[" + std::to_string(i) + "]." + id_key;
    auto [it, fresh] = seen.emplace(v, id.Mark().line + 1);
    if (!fresh)
      c.error(id, ip, "party " + std::to_string(v) + " is listed twice (first at line " + std::to_string(it->second) + ")");
    else if (self_warn && v == c.r.spec.party_id)
      c.warn(id, ip, "party " + std::to_string(v) + " is this party itself; a route to yourself overrides the local one");
  }
}

bool in_connect_ports(int p) { return p == 443 || (p >= 6650 && p <= 6700) || (p >= 30000 && p <= 33000); }

void check_routes(Ctx& c) {
  ClusterSpec& s = c.r.spec;
  bool party = !s.is_exchange();
  for (const char* m : {"rollsite", "osx"}) {
    check_party_list(c, get(c.root, {m, "partyList"}), std::string(m) + ".partyList", "partyId", party);
  }
  check_party_list(c, get(c.root, {"lbrollsite", "exchangeList"}), "lbrollsite.exchangeList", "id", false);
  check_party_list(c, get(c.root, {"rollsite", "polling", "clientList"}), "rollsite.polling.clientList", "partID", false);

  // nginx route entries need somewhere to go.
  YAML::Node nrt = get(c.root, {"nginx", "route_table"});
  if (nrt.IsMap()) {
    for (const auto& kv : nrt) {
      if (!kv.second.IsMap()) continue;
      YAML::Node proxy = get(kv.second, {"proxy"}), flow = get(kv.second, {"fateflow"});
      bool has = (proxy.IsSequence() && proxy.size() > 0) || (flow.IsSequence() && flow.size() > 0);
      if (!has)
        c.error(kv.first, "nginx.route_table." + scalar(kv.first),
                "route for party " + scalar(kv.first) + " has neither proxy nor fateflow entries");
    }
  }

  // Traffic Server SNI routes: one per fqdn, ports ATS will tunnel to.
  YAML::Node sni = get(c.root, {"trafficServer", "route_table", "sni"});
  if (sni.IsSequence()) {
    std::map<std::string, int> seen;
    for (size_t i = 0; i < sni.size(); ++i) {
      std::string base = "trafficServer.route_table.sni[" + std::to_string(i) + "]";
      YAML::Node fqdn = get(sni[i], {"fqdn"}), route = get(sni[i], {"tunnelRoute"});
      if (fqdn.IsScalar()) {
        std::string key = fqdn.Scalar();
        std::transform(key.begin(), key.end(), key.begin(), [](unsigned char ch) { return std::tolower(ch); });
        auto [it, fresh] = seen.emplace(key, fqdn.Mark().line + 1);
        if (!fresh)
          c.error(fqdn, base + ".fqdn",
                  "fqdn " + fqdn.Scalar() + " is listed twice (first at line " + std::to_string(it->second) +
                      "); Traffic Server would use only one route");
      }
      if (route.IsScalar() && host_port_problem(route.Scalar()).empty()) {
        int p = std::stoi(route.Scalar().substr(route.Scalar().rfind(':') + 1));
        if (!in_connect_ports(p))
          c.warn(route, base + ".tunnelRoute",
                 "port " + std::to_string(p) +
                     " is outside the ports Traffic Server tunnels to (443, 6650-6700, 30000-33000: "
                     "proxy.config.http.connect_ports); point it at the party's Pulsar TLS NodePort");
      }
    }
  }
}

/// Every NodePort of enabled modules, so two Services never ask for the same one.
void check_node_ports(Ctx& c) {
  ClusterSpec& s = c.r.spec;
  struct P {
    std::string module;
    std::vector<const char*> keys;
    const char* type_key;  // sibling key holding the Service type ("" = no type key)
  };
  std::vector<P> ports = {
      {"rollsite", {"rollsite", "nodePort"}, "type"},         {"osx", {"osx", "nodePort"}, "type"},
      {"lbrollsite", {"lbrollsite", "nodePort"}, "type"},     {"python", {"python", "httpNodePort"}, "type"},
      {"python", {"python", "grpcNodePort"}, "type"},         {"spark", {"spark", "master", "nodePort"}, "type"},
      {"hdfs", {"hdfs", "namenode", "nodePort"}, "type"},     {"nginx", {"nginx", "httpNodePort"}, "type"},
      {"nginx", {"nginx", "grpcNodePort"}, "type"},           {"rabbitmq", {"rabbitmq", "nodePort"}, "type"},
      {"pulsar", {"pulsar", "httpNodePort"}, "type"},         {"pulsar", {"pulsar", "httpsNodePort"}, "type"},
      {"trafficServer", {"trafficServer", "nodePort"}, "type"},
  };
  std::map<long long, std::pair<std::string, int>> used;
  for (const auto& p : ports) {
    if (!s.has_module(p.module)) continue;
    YAML::Node n = c.root;
    std::string path;
    YAML::Node parent;
    for (const char* k : p.keys) {
      parent.reset(n);
      n.reset(get(n, {k}));
      path += (path.empty() ? "" : ".") + std::string(k);
    }
    long long v = 0;
    if (!as_integer(n, v) || v < 30000 || v > 32767) continue;
    auto [it, fresh] = used.emplace(v, std::make_pair(path, n.Mark().line + 1));
    if (!fresh)
      c.error(n, path,
              "nodePort " + std::to_string(v) + " is already used by " + it->second.first + " (line " +
                  std::to_string(it->second.second) + "); each Service needs its own NodePort");
    std::string type = scalar(get(parent, {p.type_key}));
    if (type.empty() || type == "ClusterIP")
      c.warn(n, path,
             "a NodePort is set but the Service type is " + (type.empty() ? std::string("ClusterIP (default)") : type) +
                 "; set type: NodePort (or LoadBalancer) to expose it");
  }
}

/// Settings for modules the spec does not deploy are silently ignored by the chart: say so.
void check_unused_sections(Ctx& c) {
  ClusterSpec& s = c.r.spec;
  const auto& known = schema::module_names(s.generation);
  if (!c.root.IsMap()) return;
  for (const auto& kv : c.root) {
    if (!kv.first.IsScalar()) continue;
    std::string k = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), k) == known.end()) continue;
    if (kv.second.IsNull() || s.has_module(k)) continue;
    if (k == "rollsite" && s.has_module("lbrollsite")) continue;  // lbrollsite reads rollsite.partyList
    c.warn(kv.first, k, "settings for module " + k + " are ignored: " + k + " is not listed in modules");
  }
}

void check_registry(Ctx& c) {
  ClusterSpec& s = c.r.spec;
  YAML::Node reg = get(c.root, {"registry"});
  std::string r = scalar(reg);
  if (s.generation == Generation::Fate20 && !r.empty() && r.back() != '/')
    c.warn(reg, "registry",
           "chart v2.0 joins registry and image name without a '/': write " + yaml::json_quote(r + "/") +
               " or images become " + yaml::json_quote(r + "federatedai/..."));
  if (s.generation != Generation::Fate20 && !r.empty() && r.back() == '/')
    c.warn(reg, "registry", "charts v1.x add the '/' after registry themselves; drop the trailing '/'");
}

}  // namespace

void check_rules(Report& report, const LoadOptions&) {
  const YAML::Node& root = report.spec.root;
  Ctx c{report, report.spec.file, root};
  check_names(c);
  check_modules(c);
  if (!report.spec.is_exchange()) check_matrix(c);
  check_routes(c);
  check_node_ports(c);
  check_unused_sections(c);
  check_registry(c);
}

}  // namespace fatectl::spec
