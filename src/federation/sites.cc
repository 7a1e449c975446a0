// Each site's spec as the federation needs it: starting specs (a file or fatectl's defaults), the
// finished party spec, the Exchange's spec without and with routes, and the checks of a starting
// spec against the federation file.
#include "fatectl/federation/sites.h"

#include <algorithm>
#include <set>

#include "fatectl/core/yaml.h"
#include "fatectl/spec/validate.h"

namespace fatectl::federation {

namespace {

YAML::Node at(const YAML::Node& root, std::initializer_list<const char*> keys) {
  YAML::Node cur = root;
  for (const char* k : keys) {
    if (!cur.IsDefined() || !cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node next = static_cast<const YAML::Node&>(cur)[k];
    if (!next.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
  }
  return cur;
}

std::string scalar(const YAML::Node& n) { return n.IsDefined() && n.IsScalar() ? n.Scalar() : std::string(); }

bool chart_at_least(const std::string& v, int major, int minor) {
  int a = 0, b = 0;
  if (std::sscanf(v.c_str(), "v%d.%d", &a, &b) != 2) return false;
  return a > major || (a == major && b >= minor);
}

/// The module whose Service and partyList carry Eggroll/OSX federation traffic.
const char* rollsite_module(const Federation& f) { return f.engine == kEngineOSX ? "osx" : "rollsite"; }

std::string basename(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

YAML::Node seq(std::initializer_list<const char*> items) {
  YAML::Node s(YAML::NodeType::Sequence);
  for (auto* i : items) s.push_back(yaml::str(i));
  return s;
}

/// Sets `svc.type` to NodePort unless the spec asks for a LoadBalancer.
void expose(YAML::Node svc) {
  if (scalar(svc["type"]) != "LoadBalancer") svc["type"] = "NodePort";
}

/// Pins `key` under `svc` (for provision) unless the spec already has a port there.
void pin(YAML::Node svc, const std::string& module, const char* key, const NodePortPins& pins) {
  auto it = pins.find(module + "." + key);
  if (it == pins.end()) return;
  if (svc[key].IsDefined() && !svc[key].IsNull()) return;
  svc[key] = it->second;
}

spec::ClusterSpec parse_generated(const std::string& text, const std::string& what) {
  spec::Report r = spec::check(text, what);
  if (!r.ok())
    throw invalid("fatectl's defaults for " + what + " do not make a valid spec (" + r.errors.front().message +
                  "); give the site a `spec:` file");
  return std::move(r.spec);
}

bool is_peer_key(const std::string& k, long self) { return k != "default" && k != std::to_string(self); }

}  // namespace

// ---- addresses ---------------------------------------------------------------------------------

bool ExchangeAddress::complete(const Federation& f) const {
  if (host.empty()) return false;
  if (f.pulsar()) return sni_port > 0 && nginx_http > 0 && nginx_grpc > 0;
  return rollsite_port > 0;
}

std::string ExchangeAddress::str(const Federation& f) const {
  if (f.pulsar())
    return host + " (sni " + std::to_string(sni_port) + ", nginx " + std::to_string(nginx_http) + "/" +
           std::to_string(nginx_grpc) + ")";
  return host + ":" + std::to_string(rollsite_port);
}

bool PartyAddress::complete(const Federation& f) const {
  if (f.pulsar()) return tunnel && proxy && fateflow;
  return rollsite.has_value();
}

std::string PartyAddress::main() const {
  if (tunnel) return tunnel->str();
  if (rollsite) return rollsite->str();
  return str();
}

std::string PartyAddress::str() const {
  std::string s;
  auto add = [&s](const std::string& x) { s += (s.empty() ? "" : ", ") + x; };
  if (tunnel) add("tunnel " + tunnel->str());
  if (proxy) add("proxy " + proxy->str());
  if (fateflow) add("fateflow " + fateflow->str());
  if (rollsite) add("rollsite " + rollsite->str());
  return s.empty() ? "unknown" : s;
}

// ---- starting specs ----------------------------------------------------------------------------

StartSpec party_start(const Federation& f, const Party& p) {
  StartSpec out;
  if (!p.spec_file.empty()) {
    out.label = p.spec_file;
    out.spec = spec::parse(yaml::read_file(p.spec_file), p.spec_file);
    return out;
  }
  std::string version = p.chart_version.empty() ? f.chart_version : p.chart_version;
  std::string id = std::to_string(p.id);
  auto bad_version = [&](const std::string& why) {
    return invalid("chart " + version + ": " + why);
  };
  if (!chart_at_least(version, 1, 9))
    throw bad_version("fatectl writes specs for chart v1.9 and later; give party " + id + " a `spec:` file for older charts");
  bool v20 = chart_at_least(version, 2, 0);
  if (f.engine == kEngineOSX && !v20) throw bad_version("OSX federation needs chart v2.0 or later");
  if (f.engine == kEngineEggroll && v20) throw bad_version("chart v2.0 replaced rollsite with OSX: use engine OSX");
  YAML::Node r(YAML::NodeType::Map);
  r["name"] = yaml::str(p.name.empty() ? "fate-" + id : p.name);
  r["namespace"] = yaml::str(p.namespace_.empty() ? "fate-" + id : p.namespace_);
  r["chartName"] = "fate";
  r["chartVersion"] = yaml::str(version);
  r["partyId"] = p.id;
  r["registry"] = yaml::str(f.registry);
  r["pullPolicy"] = yaml::str(f.pull_policy.empty() ? "IfNotPresent" : f.pull_policy);
  r["persistence"] = false;
  r["istio"]["enabled"] = false;
  r["podSecurityPolicy"]["enabled"] = false;
  std::string computing, storage;
  YAML::Node modules;
  if (f.pulsar()) {
    computing = p.computing.empty() ? "Spark_local" : p.computing;
    storage = p.storage.empty() ? (computing == "Spark" ? "HDFS" : "LocalFS") : p.storage;
    modules = seq({"python", "mysql", "fateboard", "client", "nginx", "pulsar"});
    if (computing == "Spark") modules.push_back(yaml::str("spark"));
    if (storage == "HDFS") modules.push_back(yaml::str("hdfs"));
  } else {
    computing = p.computing.empty() ? "Eggroll" : p.computing;
    storage = p.storage.empty() ? "Eggroll" : p.storage;
    modules = f.engine == kEngineOSX ? seq({"osx", "clustermanager", "nodemanager", "mysql", "python", "fateboard", "client"})
                                     : seq({"rollsite", "clustermanager", "nodemanager", "mysql", "python", "fateboard", "client"});
  }
  if (!p.modules.empty()) {
    modules = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& m : p.modules) modules.push_back(yaml::str(m));
  }
  r["modules"] = modules;
  r["computing"] = yaml::str(computing);
  r["federation"] = yaml::str(f.engine);
  r["storage"] = yaml::str(storage);
  r["algorithm"] = "Basic";
  r["device"] = "CPU";
  out.label = "defaults for party " + id;
  out.spec = parse_generated(yaml::to_yaml(r), out.label);
  return out;
}

StartSpec exchange_start(const Federation& f) {
  StartSpec out;
  const Exchange& e = f.exchange;
  if (!e.spec_file.empty()) {
    out.label = e.spec_file;
    out.spec = spec::parse(yaml::read_file(e.spec_file), e.spec_file);
    return out;
  }
  std::string version = e.chart_version;
  if (version.empty()) version = chart_at_least(f.chart_version, 2, 0) ? "v1.11.2" : f.chart_version;
  YAML::Node r(YAML::NodeType::Map);
  r["name"] = yaml::str(e.name.empty() ? "fate-exchange" : e.name);
  r["namespace"] = yaml::str(e.namespace_.empty() ? "fate-exchange" : e.namespace_);
  r["chartName"] = "fate-exchange";
  r["chartVersion"] = yaml::str(version);
  r["partyId"] = 1;
  r["registry"] = yaml::str(f.registry);
  r["pullPolicy"] = yaml::str(f.pull_policy.empty() ? "IfNotPresent" : f.pull_policy);
  r["podSecurityPolicy"]["enabled"] = false;
  r["modules"] = f.pulsar() ? seq({"trafficServer", "nginx"}) : seq({"rollsite"});
  out.label = "defaults for the Exchange";
  out.spec = parse_generated(yaml::to_yaml(r), out.label);
  return out;
}

std::vector<std::string> party_nodeport_keys(const Federation& f) {
  if (f.pulsar())
    return {"pulsar.httpsNodePort", "nginx.httpNodePort", "nginx.grpcNodePort", "python.httpNodePort",
            "python.grpcNodePort"};
  return {std::string(rollsite_module(f)) + ".nodePort"};
}

std::vector<std::string> exchange_nodeport_keys(const Federation& f) {
  if (f.pulsar()) return {"trafficServer.nodePort", "nginx.httpNodePort", "nginx.grpcNodePort"};
  return {"rollsite.nodePort"};
}

// ---- finished specs ----------------------------------------------------------------------------

std::string generated_header(const Federation& f, const std::string& site) {
  return "# " + site + " of federation " + f.name + " (" + f.engine + ", domain " + f.domain +
         "), written by fatectl federation from " + basename(f.file) +
         ".\n# Change the federation file (or this site's own spec) and run fatectl federation again; edits here "
         "are overwritten.\n";
}

bool names_peers(const Federation& f, const Party& p) {
  StartSpec s = party_start(f, p);
  const YAML::Node& root = s.spec.root;
  if (!f.pulsar()) {
    YAML::Node pl = at(root, {rollsite_module(f), "partyList"});
    return pl.IsSequence() && pl.size() > 0;
  }
  for (auto t : {at(root, {"pulsar", "route_table"}), at(root, {"nginx", "route_table"})})
    if (t.IsMap())
      for (const auto& kv : t)
        if (is_peer_key(kv.first.Scalar(), p.id)) return true;
  return false;
}

std::string party_spec_text(const Federation& f, const Party& p, const ExchangeAddress& ex, const NodePortPins& pins) {
  StartSpec s = party_start(f, p);
  bool peers = names_peers(f, p);
  YAML::Node root = yaml::clone(s.spec.root);
  root["name"] = yaml::str(p.name.empty() ? s.spec.name : p.name);
  root["namespace"] = yaml::str(p.namespace_.empty() ? s.spec.namespace_ : p.namespace_);
  std::vector<long> others;
  for (const auto& q : f.parties)
    if (q.id != p.id) others.push_back(q.id);
  std::sort(others.begin(), others.end());
  if (f.pulsar()) {
    YAML::Node pulsar = root["pulsar"], nginx = root["nginx"], python = root["python"];
    expose(pulsar);
    expose(nginx);
    expose(python);
    pin(pulsar, "pulsar", "httpsNodePort", pins);
    pin(nginx, "nginx", "httpNodePort", pins);
    pin(nginx, "nginx", "grpcNodePort", pins);
    pin(python, "python", "httpNodePort", pins);
    pin(python, "python", "grpcNodePort", pins);
    YAML::Node pex(YAML::NodeType::Map);
    pex["ip"] = yaml::str(ex.host);
    pex["port"] = ex.sni_port;
    pex["domain"] = yaml::str(f.domain);
    pulsar["exchange"] = pex;
    YAML::Node nex(YAML::NodeType::Map);
    nex["ip"] = yaml::str(ex.host);
    nex["httpPort"] = ex.nginx_http;
    nex["grpcPort"] = ex.nginx_grpc;
    nginx["exchange"] = nex;
    if (peers) {
      // Peers named in the party's own tables are reached through the Exchange: the Pulsar route
      // by SNI <peer>.<domain> with the Exchange as proxy, nginx with the Exchange's nginx as the
      // next hop. The party's own and the default entries stay as written.
      for (const char* t : {"pulsar", "nginx"}) {
        YAML::Node old = at(root, {t, "route_table"});
        YAML::Node table(YAML::NodeType::Map);
        if (old.IsMap())
          for (const auto& kv : old)
            if (!is_peer_key(kv.first.Scalar(), p.id)) table[kv.first] = kv.second;
        for (long q : others) {
          YAML::Node e(YAML::NodeType::Map);
          if (std::string(t) == "pulsar") {
            e["host"] = yaml::str(party_fqdn(f, q));
            e["port"] = 6650;
            e["sslPort"] = 6651;
            e["proxy"] = yaml::str(ex.host + ":" + std::to_string(ex.sni_port));
          } else {
            YAML::Node hop(YAML::NodeType::Map);
            hop["host"] = yaml::str(ex.host);
            hop["http_port"] = ex.nginx_http;
            hop["grpc_port"] = ex.nginx_grpc;
            e["proxy"].push_back(hop);
          }
          YAML::Node key(q);
          key.SetTag("?");  // a plain integer key, as KubeFATE writes party ids
          table[key] = e;
        }
        root[t]["route_table"] = table;
      }
    }
  } else {
    const char* m = rollsite_module(f);
    YAML::Node rs = root[m];
    expose(rs);
    pin(rs, m, "nodePort", pins);
    YAML::Node rex(YAML::NodeType::Map);
    rex["ip"] = yaml::str(ex.host);
    rex["port"] = ex.rollsite_port;
    rs["exchange"] = rex;
    if (peers) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (long q : others) {
        YAML::Node e(YAML::NodeType::Map);
        e["partyId"] = q;
        e["partyIp"] = yaml::str(ex.host);
        e["partyPort"] = ex.rollsite_port;
        list.push_back(e);
      }
      rs["partyList"] = list;
    }
  }
  return generated_header(f, "Party " + std::to_string(p.id)) + yaml::to_yaml(root);
}

std::string exchange_base_text(const Federation& f, const NodePortPins& pins) {
  StartSpec s = exchange_start(f);
  YAML::Node root = yaml::clone(s.spec.root);
  root["name"] = yaml::str(f.exchange.name.empty() ? s.spec.name : f.exchange.name);
  root["namespace"] = yaml::str(f.exchange.namespace_.empty() ? s.spec.namespace_ : f.exchange.namespace_);
  if (f.pulsar()) {
    YAML::Node ts = root["trafficServer"], nginx = root["nginx"];
    expose(ts);
    expose(nginx);
    pin(ts, "trafficServer", "nodePort", pins);
    pin(nginx, "nginx", "httpNodePort", pins);
    pin(nginx, "nginx", "grpcNodePort", pins);
    ts["route_table"]["sni"] = YAML::Node(YAML::NodeType::Sequence);
    if (nginx["route_table"].IsDefined()) nginx.remove("route_table");
    if (root["rollsite"].IsDefined() && root["rollsite"]["partyList"].IsDefined()) root["rollsite"].remove("partyList");
  } else {
    YAML::Node rs = root["rollsite"];
    expose(rs);
    pin(rs, "rollsite", "nodePort", pins);
    if (rs["partyList"].IsDefined()) rs.remove("partyList");
  }
  return generated_header(f, "The Exchange") + yaml::to_yaml(root);
}

ops::RouteChange party_route(const Federation& f, const PartyAddress& a) {
  ops::RouteChange c;
  c.party = a.party;
  c.domain = f.domain;
  if (f.pulsar()) {
    c.tunnel = a.tunnel;
    c.proxy = a.proxy;
    c.fateflow = a.fateflow;
  } else {
    c.rollsite = a.rollsite;
  }
  return c;
}

std::string exchange_text_with_routes(const Federation& f, const std::string& base, const std::vector<PartyAddress>& addrs) {
  std::string text = base;
  for (const auto& a : addrs) text = ops::add_route(text, "the Exchange's spec", party_route(f, a)).text;
  return text;
}

std::string exchange_without_routes(const std::string& text) {
  YAML::Node n = yaml::parse(text, "the Exchange's spec");
  if (n["trafficServer"].IsMap()) n["trafficServer"].remove("route_table");
  if (n["nginx"].IsMap()) n["nginx"].remove("route_table");
  if (n["rollsite"].IsMap()) n["rollsite"].remove("partyList");
  return yaml::to_yaml(n);
}

ops::ExchangeCertsOptions cert_options(const Federation& f) {
  ops::ExchangeCertsOptions co;
  co.dir = f.cert_dir;
  co.domain = f.domain;
  co.days = f.cert_days;
  co.exchange_namespace = f.exchange.namespace_;
  for (const auto& p : f.parties) {
    co.parties.push_back(p.id);
    co.party_namespaces[p.id] = p.namespace_;
  }
  return co;
}

// ---- checks against the federation ------------------------------------------------------------

void check_party_spec(const Federation& f, const Party& p, const spec::ClusterSpec& s, std::vector<spec::Diagnostic>& out) {
  const YAML::Node& root = s.root;
  const std::string& file = s.file;
  std::string id = std::to_string(p.id);
  auto err = [&](const YAML::Node& n, const std::string& key, const std::string& msg) {
    out.push_back({spec::where(n.IsDefined() ? n : root, file), key, msg});
  };
  std::string entry = " (federation file " + p.where.str() + ")";
  if (s.is_exchange()) {
    err(root["chartName"], "chartName", "party " + id + "'s spec is a fate-exchange spec; a party runs chart fate" + entry);
    return;
  }
  if (s.party_id != p.id)
    err(root["partyId"], "partyId", "the spec is for party " + std::to_string(s.party_id) + ", the federation file lists it as party " + id + entry);
  if (!p.namespace_.empty() && p.namespace_ != s.namespace_)
    err(root["namespace"], "namespace", "the spec says namespace '" + s.namespace_ + "', the federation file '" + p.namespace_ + "'" + entry);
  if (!p.name.empty() && p.name != s.name)
    err(root["name"], "name", "the spec says name '" + s.name + "', the federation file '" + p.name + "'" + entry);
  if (s.federation != f.engine) {
    bool v16 = s.generation == spec::Generation::Fate16;
    err(v16 ? root["backend"] : root["federation"], v16 ? "backend" : "federation",
        "party " + id + " uses federation engine " + s.federation + "; federation " + f.name + " runs " + f.engine +
            " (every party shares one engine)");
    return;
  }
  std::vector<std::string> need = f.pulsar() ? std::vector<std::string>{"pulsar", "nginx"}
                                             : std::vector<std::string>{rollsite_module(f)};
  for (const auto& m : need)
    if (!s.has_module(m))
      err(root["modules"], "modules",
          "party " + id + " has no module " + m + ", which the Exchange reaches it through (" + f.engine + ")");
  auto check_ip = [&](const YAML::Node& n, const std::string& key) {
    if (!f.exchange.address.empty() && n.IsScalar() && n.Scalar() != f.exchange.address)
      err(n, key, "points at " + n.Scalar() + ", but the federation's Exchange is at " + f.exchange.address + entry);
  };
  auto members_only = [&](const YAML::Node& key_node, long q, const std::string& key) {
    if (q == p.id) return true;
    if (!f.party(q)) {
      err(key_node, key, "names party " + std::to_string(q) + ", which is not a member of federation " + f.name +
                             " (members: " + f.member_list() + "); remove it, or add the party to the federation file");
      return false;
    }
    return true;
  };
  if (f.pulsar()) {
    YAML::Node dom = at(root, {"pulsar", "exchange", "domain"});
    if (dom.IsScalar() && dom.Scalar() != f.domain)
      err(dom, "pulsar.exchange.domain", "is " + dom.Scalar() + "; federation " + f.name + "'s domain is " + f.domain);
    check_ip(at(root, {"pulsar", "exchange", "ip"}), "pulsar.exchange.ip");
    check_ip(at(root, {"nginx", "exchange", "ip"}), "nginx.exchange.ip");
    for (const char* t : {"pulsar", "nginx"}) {
      YAML::Node table = at(root, {t, "route_table"});
      if (!table.IsMap()) continue;
      for (const auto& kv : table) {
        long long q = 0;
        if (!spec::as_integer(kv.first, q)) continue;
        members_only(kv.first, static_cast<long>(q), std::string(t) + ".route_table." + kv.first.Scalar());
      }
    }
  } else {
    const char* m = rollsite_module(f);
    check_ip(at(root, {m, "exchange", "ip"}), std::string(m) + ".exchange.ip");
    YAML::Node list = at(root, {m, "partyList"});
    if (list.IsSequence())
      for (size_t i = 0; i < list.size(); ++i) {
        long long q = 0;
        if (!spec::as_integer(list[i]["partyId"], q)) continue;
        std::string key = std::string(m) + ".partyList[" + std::to_string(i) + "]";
        if (q == p.id) {
          err(list[i]["partyId"], key + ".partyId",
              "lists party " + id + " itself; a partyList names the peers (the party's own route is added for it)");
          continue;
        }
        if (!members_only(list[i]["partyId"], static_cast<long>(q), key + ".partyId")) continue;
        check_ip(list[i]["partyIp"], key + ".partyIp");
      }
  }
}

void check_exchange_spec(const Federation& f, const spec::ClusterSpec& s, std::vector<spec::Diagnostic>& out) {
  const YAML::Node& root = s.root;
  auto err = [&](const YAML::Node& n, const std::string& key, const std::string& msg) {
    out.push_back({spec::where(n.IsDefined() ? n : root, s.file), key, msg});
  };
  std::string entry = " (federation file " + f.exchange.where.str() + ")";
  if (!s.is_exchange()) {
    err(root["chartName"], "chartName", "the Exchange's spec is chart " + s.chart_name + "; an Exchange runs chart fate-exchange" + entry);
    return;
  }
  if (!f.exchange.namespace_.empty() && f.exchange.namespace_ != s.namespace_)
    err(root["namespace"], "namespace", "the spec says namespace '" + s.namespace_ + "', the federation file '" + f.exchange.namespace_ + "'" + entry);
  if (!f.exchange.name.empty() && f.exchange.name != s.name)
    err(root["name"], "name", "the spec says name '" + s.name + "', the federation file '" + f.exchange.name + "'" + entry);
  std::vector<std::string> need = f.pulsar() ? std::vector<std::string>{"trafficServer", "nginx"} : std::vector<std::string>{"rollsite"};
  for (const auto& m : need)
    if (!s.has_module(m))
      err(root["modules"], "modules", "the Exchange has no module " + m + ", which a " + f.engine + " federation routes through");
  ops::RouteTable t;
  try {
    t = ops::read_routes(root, s.file);
  } catch (const Error& e) {
    return;  // the spec's own validation reports malformed routes
  }
  auto member = [&](long q, const Location& w, const std::string& what) {
    if (q && !f.party(q))
      out.push_back({w, what,
                     "routes party " + std::to_string(q) + ", which is not a member of federation " + f.name +
                         " (members: " + f.member_list() + "); remove the route, or add the party to the federation file"});
  };
  for (const auto& r : t.sni) member(r.party, r.where, "trafficServer.route_table.sni");
  for (const auto& r : t.nginx) member(r.party, r.where, "nginx.route_table." + std::to_string(r.party));
  for (const auto& r : t.rollsite) member(r.party, r.where, "rollsite.partyList");
}

}  // namespace fatectl::federation
