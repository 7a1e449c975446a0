#include "fatectl/ops/routes.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/route_file.h"

namespace fatectl::ops {
namespace {

const std::vector<std::string> kSniPath = {"trafficServer", "route_table", "sni"};
const std::vector<std::string> kNginxPath = {"nginx", "route_table"};
const std::vector<std::string> kRollsitePath = {"rollsite", "partyList"};

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A value as messages quote it: one line, at most 40 bytes (a hostile file may hold megabytes).
std::string shown(const std::string& v) { return "'" + yaml::one_line(v, 40) + "'"; }

int parse_port(const std::string& s, const std::string& what, const std::string& whole) {
  if (!all_digits(s) || s.size() > 5) throw invalid(what + ": " + shown(whole) + ": port " + shown(s) + " is not a number");
  int p = std::stoi(s);
  if (p < 1 || p > 65535) throw invalid(what + ": " + shown(whole) + ": port " + s + " is outside 1-65535");
  return p;
}

bool alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// "[v6 address]" or a host name / IPv4 address of at most 253 characters: letters and digits at
// both ends, '.', '_' or '-' between. Hand-written scanners like the ones below: linear in the
// length, no regex.
bool host_ok(const std::string& h) {
  if (h.size() >= 3 && h.front() == '[' && h.back() == ']')
    return std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
    });
  if (h.empty() || h.size() > 253 || !alnum(h.front()) || !alnum(h.back())) return false;
  return std::all_of(h.begin(), h.end(), [](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// A DNS name: labels of 1-63 letters, digits and '-' (not at either end), separated by single
// dots, 253 characters at most.
bool dns_name(const std::string& s) {
  if (s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    size_t end = dot == std::string::npos ? s.size() : dot;
    if (end == start || end - start > 63 || !alnum(s[start]) || !alnum(s[end - 1])) return false;
    for (size_t i = start; i < end; ++i)
      if (!alnum(s[i]) && s[i] != '-') return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

void check_host(const std::string& h, const std::string& what, const std::string& whole) {
  if (h.empty()) throw invalid(what + ": " + shown(whole) + ": the host is empty (expected host:port)");
  if (!host_ok(h)) throw invalid(what + ": " + shown(whole) + ": " + shown(h) + " is not a host name or IP address");
}

// Splits "host:a[:b]" where host may be "[v6]".
std::vector<std::string> split_host_ports(const std::string& s) {
  std::vector<std::string> parts;
  size_t pos = 0;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos) return {s};
    parts.push_back(s.substr(0, close + 1));
    pos = close + 1;
    if (pos < s.size() && s[pos] != ':') return {s};
    if (pos < s.size()) ++pos;
    else return parts;
  } else {
    size_t c = s.find(':');
    parts.push_back(s.substr(0, c));
    if (c == std::string::npos) return parts;
    pos = c + 1;
  }
  while (true) {
    size_t c = s.find(':', pos);
    parts.push_back(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return parts;
}

std::string scalar_text(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

[[noreturn]] void bad(const YAML::Node& n, const std::string& file, const std::string& key, const std::string& msg) {
  throw invalid_at(yaml::where(n, file), key, msg);
}

void check_keys(const YAML::Node& item, const std::string& file, const std::string& path,
                const std::set<std::string>& allowed) {
  for (auto it = item.begin(); it != item.end(); ++it) {
    std::string k = it->first.Scalar();
    if (!allowed.count(k)) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      bad(it->first, file, path + "." + yaml::one_line(k, 40), "unknown key (expected " + list + ")");
    }
  }
}

HostPort read_host_port(const YAML::Node& n, const std::string& file, const std::string& key) {
  if (!n || !n.IsScalar() || n.Scalar().empty()) bad(n, file, key, "missing; expected host:port");
  try {
    return parse_host_port(n.Scalar(), "value");
  } catch (const Error& e) {
    bad(n, file, key, std::string(e.what()).substr(std::string(e.what()).find(": ") + 2));
  }
}

int read_port(const YAML::Node& n, const std::string& file, const std::string& key) {
  if (!n || !n.IsScalar()) bad(n, file, key, "missing; expected a port number");
  try {
    return parse_port(n.Scalar(), "value", n.Scalar());
  } catch (const Error& e) {
    bad(n, file, key, std::string(e.what()).substr(std::string(e.what()).find(": ") + 2));
  }
}

std::vector<NginxEndpoint> read_endpoints(const YAML::Node& n, const std::string& file, const std::string& key) {
  std::vector<NginxEndpoint> out;
  if (!n || n.IsNull()) return out;
  if (!n.IsSequence()) bad(n, file, key, "expected a list of {host, http_port, grpc_port}");
  for (size_t i = 0; i < n.size(); ++i) {
    YAML::Node e = n[i];
    std::string k = key + "[" + std::to_string(i) + "]";
    if (!e.IsMap()) bad(e, file, k, "expected {host, http_port, grpc_port}");
    check_keys(e, file, k, {"host", "http_port", "grpc_port"});
    NginxEndpoint ep;
    ep.host = scalar_text(e["host"]);
    try {
      check_host(ep.host, "value", ep.host);
    } catch (const Error&) {
      bad(e["host"] ? e["host"] : e, file, k + ".host", shown(ep.host) + " is not a host name or IP address");
    }
    ep.http_port = read_port(e["http_port"], file, k + ".http_port");
    ep.grpc_port = read_port(e["grpc_port"], file, k + ".grpc_port");
    out.push_back(ep);
  }
  return out;
}

long party_of_fqdn(const std::string& fqdn) {
  std::string first = fqdn.substr(0, fqdn.find('.'));
  if (!all_digits(first) || first.size() > 10) return 0;
  return std::stol(first);
}

std::string domain_of_fqdn(const std::string& fqdn) {
  size_t dot = fqdn.find('.');
  return dot == std::string::npos ? "" : fqdn.substr(dot + 1);
}

std::string pad(int n) { return std::string(static_cast<size_t>(n), ' '); }

std::vector<std::string> emit_sni(const SniRoute& r, int ind) {
  return {pad(ind) + "- fqdn: " + yaml_scalar(r.fqdn), pad(ind) + "  tunnelRoute: " + yaml_scalar(r.tunnel.str())};
}

std::vector<std::string> emit_rollsite(const RollsiteRoute& r, int ind) {
  return {pad(ind) + "- partyId: " + std::to_string(r.party), pad(ind) + "  partyIp: " + yaml_scalar(r.address.host),
          pad(ind) + "  partyPort: " + std::to_string(r.address.port)};
}

std::vector<std::string> emit_nginx(const NginxRoute& r, int ind) {
  std::vector<std::string> out = {pad(ind) + std::to_string(r.party) + ":"};
  auto list = [&](const char* name, const std::vector<NginxEndpoint>& eps) {
    if (eps.empty()) return;
    out.push_back(pad(ind + 2) + name + ":");
    for (auto& e : eps) {
      out.push_back(pad(ind + 2) + "- host: " + yaml_scalar(e.host));
      out.push_back(pad(ind + 2) + "  http_port: " + std::to_string(e.http_port));
      out.push_back(pad(ind + 2) + "  grpc_port: " + std::to_string(e.grpc_port));
    }
  };
  list("proxy", r.proxy);
  list("fateflow", r.fateflow);
  return out;
}

YAML::Node sni_node(const SniRoute& r) {
  YAML::Node n;
  n["fqdn"] = r.fqdn;
  n["tunnelRoute"] = r.tunnel.str();
  return n;
}
YAML::Node rollsite_node(const RollsiteRoute& r) {
  YAML::Node n;
  n["partyId"] = r.party;
  n["partyIp"] = r.address.host;
  n["partyPort"] = r.address.port;
  return n;
}
YAML::Node endpoints_node(const std::vector<NginxEndpoint>& eps) {
  YAML::Node s(YAML::NodeType::Sequence);
  for (auto& e : eps) {
    YAML::Node n;
    n["host"] = e.host;
    n["http_port"] = e.http_port;
    n["grpc_port"] = e.grpc_port;
    s.push_back(n);
  }
  return s;
}
YAML::Node nginx_node(const NginxRoute& r) {
  YAML::Node n(YAML::NodeType::Map);
  if (!r.proxy.empty()) n["proxy"] = endpoints_node(r.proxy);
  if (!r.fateflow.empty()) n["fateflow"] = endpoints_node(r.fateflow);
  return n;
}

// The node at `path` in `root`, creating maps on the way.
// Sets root[path] = value (creating intermediate maps), without disturbing key order.
void set_path(YAML::Node root, const std::vector<std::string>& path, const YAML::Node& value) {
  YAML::Node cur = root;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    if (!cur[path[i]] || !cur[path[i]].IsMap()) cur[path[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next = cur[path[i]];
    cur.reset(next);
  }
  cur[path.back()] = value;
}

// Rewrites a whole table (used when it was written inline, e.g. "sni: [{...}]").
template <typename T, typename F>
void rewrite_table(YamlTextEditor& ed, const std::vector<std::string>& path, bool sequence, const std::vector<T>& all,
                   F emit) {
  YamlTextEditor::Block b = ed.ensure_block(path);
  if (all.empty()) {
    ed.set_inline(b, sequence ? "[]" : "{}");
    return;
  }
  int ind = ed.item_indent(b, sequence);
  std::vector<std::string> lines;
  for (auto& r : all) {
    auto l = emit(r, ind);
    lines.insert(lines.end(), l.begin(), l.end());
  }
  ed.insert(b.key_line + 1, lines);
}

// Upserts or removes entry `index` of the table at `path` in the text; `all` is the table after
// the change (used when the table has to be written from scratch).
template <typename T, typename F>
void edit_table(YamlTextEditor& ed, const std::string& name, const std::vector<std::string>& path, bool sequence,
                size_t old_count, int index, bool remove, const T* entry, const std::vector<T>& all, F emit) {
  std::optional<YamlTextEditor::Block> b = ed.find(path);
  std::vector<YamlTextEditor::Item> items;
  if (b) items = ed.items(*b);
  bool rewrite = !b || b->inline_value || items.size() != old_count;
  if (rewrite && b && !b->inline_value && old_count > 0) {
    std::string p;
    for (auto& k : path) p += (p.empty() ? "" : ".") + k;
    throw invalid(name + ":" + std::to_string(b->key_line + 1) + ": " + p +
                  ": the table's layout is not one fatectl can edit in place (found " + std::to_string(items.size()) +
                  " entries in the text, " + std::to_string(old_count) + " in the YAML); write one entry per block item");
  }
  if (rewrite) {
    rewrite_table(ed, path, sequence, all, emit);
    return;
  }
  if (remove) {
    const auto& it = items[static_cast<size_t>(index)];
    if (all.empty()) {
      ed.set_inline(*b, sequence ? "[]" : "{}");
    } else {
      ed.erase(it.head, it.last);
    }
    return;
  }
  if (index >= 0) {
    const auto& it = items[static_cast<size_t>(index)];
    ed.replace(it.start, it.last, emit(*entry, b->child_indent));
    return;
  }
  int ind = ed.item_indent(*b, sequence);
  int at = b->last >= 0 ? b->last + 1 : b->key_line + 1;
  ed.insert(at, emit(*entry, ind));
}

void verify(const std::string& name, const std::string& text, const YAML::Node& expected) {
  YAML::Node got = yaml::parse(text, name);
  if (yaml::to_json(got, false) != yaml::to_json(expected, false))
    throw failed(name + ": internal error: the edited file does not read back as intended; the file was not changed");
}

}  // namespace

std::string HostPort::str() const { return host + ":" + std::to_string(port); }
std::string NginxEndpoint::str() const {
  return host + ":" + std::to_string(http_port) + ":" + std::to_string(grpc_port);
}

HostPort parse_host_port(const std::string& s, const std::string& what) {
  auto parts = split_host_ports(s);
  if (parts.size() != 2) throw invalid(what + ": " + shown(s) + ": expected host:port");
  HostPort hp;
  hp.host = parts[0];
  check_host(hp.host, what, s);
  hp.port = parse_port(parts[1], what, s);
  return hp;
}

NginxEndpoint parse_nginx_endpoint(const std::string& s, const std::string& what) {
  auto parts = split_host_ports(s);
  if (parts.size() != 3) throw invalid(what + ": " + shown(s) + ": expected host:http_port:grpc_port");
  NginxEndpoint e;
  e.host = parts[0];
  check_host(e.host, what, s);
  e.http_port = parse_port(parts[1], what, s);
  e.grpc_port = parse_port(parts[2], what, s);
  return e;
}

long parse_party_id(const std::string& s, const std::string& what) {
  if (!all_digits(s) || s.size() > 10) throw invalid(what + ": " + shown(s) + " is not a party id (digits only)");
  long v = std::stol(s);
  if (v < 1 || v > 2147483647L) throw invalid(what + ": " + shown(s) + " is outside 1-2147483647");
  return v;
}

bool port_allowed(const std::string& connect_ports, int port) {
  std::istringstream in(connect_ports);
  std::string tok;
  while (in >> tok) {
    size_t dash = tok.find('-');
    try {
      if (dash == std::string::npos) {
        if (std::stoi(tok) == port) return true;
      } else if (port >= std::stoi(tok.substr(0, dash)) && port <= std::stoi(tok.substr(dash + 1))) {
        return true;
      }
    } catch (const std::exception&) {
    }
  }
  return false;
}

namespace {
RouteTable read_tables(const YAML::Node& root, const std::string& file);
}  // namespace

RouteTable read_routes(const YAML::Node& root, const std::string& file) {
  return yaml::at_edge(file, [&] { return read_tables(root, file); });
}

namespace {
RouteTable read_tables(const YAML::Node& root, const std::string& file) {
  RouteTable t;
  t.connect_ports = kDefaultConnectPorts;
  if (!root || !root.IsMap()) return t;
  YAML::Node ts = root["trafficServer"];
  if (ts && ts.IsMap()) {
    if (ts["connectPorts"] && ts["connectPorts"].IsScalar()) t.connect_ports = ts["connectPorts"].Scalar();
    YAML::Node rt = ts["route_table"];
    if (rt && rt.IsMap() && rt["sni"]) {
      t.has_sni_section = true;
      YAML::Node sni = rt["sni"];
      if (!sni.IsNull() && !sni.IsSequence()) bad(sni, file, "trafficServer.route_table.sni", "expected a list of {fqdn, tunnelRoute}");
      std::map<std::string, Location> fqdns;
      std::map<long, Location> parties;
      for (size_t i = 0; sni.IsSequence() && i < sni.size(); ++i) {
        YAML::Node e = sni[i];
        std::string key = "trafficServer.route_table.sni[" + std::to_string(i) + "]";
        if (!e.IsMap()) bad(e, file, key, "expected {fqdn, tunnelRoute}");
        check_keys(e, file, key, {"fqdn", "tunnelRoute"});
        SniRoute r;
        r.where = yaml::where(e, file);
        r.fqdn = scalar_text(e["fqdn"]);
        if (r.fqdn.empty()) bad(e, file, key + ".fqdn", "missing; expected <party>.<domain>");
        if (!dns_name(r.fqdn)) bad(e["fqdn"], file, key + ".fqdn", shown(r.fqdn) + " is not a DNS name");
        r.tunnel = read_host_port(e["tunnelRoute"], file, key + ".tunnelRoute");
        r.party = party_of_fqdn(r.fqdn);
        if (fqdns.count(r.fqdn))
          bad(e["fqdn"], file, key + ".fqdn", "duplicate fqdn " + r.fqdn + " (also at " + fqdns[r.fqdn].str() + ")");
        fqdns[r.fqdn] = r.where;
        if (r.party != 0) {
          if (parties.count(r.party))
            bad(e["fqdn"], file, key + ".fqdn",
                "party " + std::to_string(r.party) + " has two SNI routes (also at " + parties[r.party].str() + ")");
          parties[r.party] = r.where;
        }
        t.sni.push_back(r);
      }
    }
  }
  YAML::Node ng = root["nginx"];
  if (ng && ng.IsMap() && ng["route_table"]) {
    t.has_nginx_section = true;
    YAML::Node rt = ng["route_table"];
    if (!rt.IsNull() && !rt.IsMap()) bad(rt, file, "nginx.route_table", "expected a map from party id to {proxy, fateflow}");
    for (auto it = rt.begin(); rt.IsMap() && it != rt.end(); ++it) {
      std::string k = it->first.Scalar();
      if (k == "default") continue;  // a party-side entry; not an exchange route
      std::string key = "nginx.route_table." + yaml::one_line(k, 40);
      if (!all_digits(k)) bad(it->first, file, key, shown(k) + " is not a party id");
      NginxRoute r;
      r.party = std::stol(k);
      r.where = yaml::where(it->first, file);
      YAML::Node v = it->second;
      if (!v.IsMap()) bad(v, file, key, "expected {proxy: [...], fateflow: [...]}");
      check_keys(v, file, key, {"proxy", "fateflow"});
      r.proxy = read_endpoints(v["proxy"], file, key + ".proxy");
      r.fateflow = read_endpoints(v["fateflow"], file, key + ".fateflow");
      for (auto& o : t.nginx)
        if (o.party == r.party) bad(it->first, file, key, "duplicate party (also at " + o.where.str() + ")");
      t.nginx.push_back(r);
    }
  }
  YAML::Node rs = root["rollsite"];
  if (rs && rs.IsMap() && rs["partyList"]) {
    t.has_rollsite_section = true;
    YAML::Node pl = rs["partyList"];
    if (!pl.IsNull() && !pl.IsSequence()) bad(pl, file, "rollsite.partyList", "expected a list of {partyId, partyIp, partyPort}");
    for (size_t i = 0; pl.IsSequence() && i < pl.size(); ++i) {
      YAML::Node e = pl[i];
      std::string key = "rollsite.partyList[" + std::to_string(i) + "]";
      if (!e.IsMap()) bad(e, file, key, "expected {partyId, partyIp, partyPort}");
      check_keys(e, file, key, {"partyId", "partyIp", "partyPort"});
      RollsiteRoute r;
      r.where = yaml::where(e, file);
      std::string pid = scalar_text(e["partyId"]);
      if (!all_digits(pid) || pid.size() > 10) bad(e["partyId"] ? e["partyId"] : e, file, key + ".partyId", shown(pid) + " is not a party id");
      r.party = std::stol(pid);
      r.address.host = scalar_text(e["partyIp"]);
      try {
        check_host(r.address.host, "value", r.address.host);
      } catch (const Error&) {
        bad(e["partyIp"] ? e["partyIp"] : e, file, key + ".partyIp", shown(r.address.host) + " is not a host name or IP address");
      }
      r.address.port = read_port(e["partyPort"], file, key + ".partyPort");
      for (auto& o : t.rollsite)
        if (o.party == r.party) bad(e["partyId"], file, key + ".partyId", "duplicate party (also at " + o.where.str() + ")");
      t.rollsite.push_back(r);
    }
  }
  return t;
}

}  // namespace

std::vector<std::string> route_warnings(const RouteTable& t) {
  std::vector<std::string> w;
  for (auto& r : t.sni) {
    if (!port_allowed(t.connect_ports, r.tunnel.port))
      w.push_back(r.where.str() + ": " + r.fqdn + ": tunnel port " + std::to_string(r.tunnel.port) +
                  " is outside Traffic Server's connect_ports (" + t.connect_ports +
                  "): fatectl's records.config adds the port to connect_ports, but Traffic Server reads that file only "
                  "at start and refuses the tunnel (403 Tunnel Forbidden) until then. Use a port in that range, or "
                  "apply with --restart-traffic-server");
    if (r.party == 0)
      w.push_back(r.where.str() + ": " + r.fqdn + ": the fqdn does not start with a party id (<party>.<domain>)");
  }
  // parties present in one table and missing from another (only among tables that exist)
  std::set<long> sni, ngx;
  for (auto& r : t.sni)
    if (r.party) sni.insert(r.party);
  for (auto& r : t.nginx) ngx.insert(r.party);
  if (t.has_sni_section && t.has_nginx_section) {
    for (long p : sni)
      if (!ngx.count(p)) w.push_back("party " + std::to_string(p) + " has an SNI route but no nginx route (FATE Flow control traffic will not reach it)");
    for (long p : ngx)
      if (!sni.count(p)) w.push_back("party " + std::to_string(p) + " has an nginx route but no SNI route (Pulsar federation traffic will not reach it)");
  }
  for (auto& r : t.nginx)
    if (r.proxy.empty() && r.fateflow.empty()) w.push_back(r.where.str() + ": nginx route of party " + std::to_string(r.party) + " is empty");
  return w;
}

std::string infer_domain(const RouteTable& t) {
  std::set<std::string> ds;
  for (auto& r : t.sni)
    if (r.party) ds.insert(domain_of_fqdn(r.fqdn));
  if (ds.size() == 1 && !ds.begin()->empty()) return *ds.begin();
  return "fate.org";
}

RouteEdit add_route(const std::string& text, const std::string& name, const RouteChange& c) {
  if (!c.tunnel && !c.proxy && !c.fateflow && !c.rollsite)
    throw invalid("route add: nothing to add; give --tunnel, --proxy/--fateflow and/or --rollsite");
  YAML::Node root = yaml::parse(text, name);
  if (!root.IsMap()) throw invalid(name + ": not a YAML mapping (expected a fate-exchange spec)");
  RouteTable before = read_routes(root, name);
  YAML::Node expected = yaml::clone(root);
  YamlTextEditor ed(text);
  RouteEdit out;
  std::string party = std::to_string(c.party);

  if (c.tunnel) {
    std::string domain = c.domain.empty() ? infer_domain(before) : c.domain;
    if (!dns_name(domain)) throw invalid("--domain: " + shown(domain) + " is not a DNS domain");
    SniRoute r;
    r.fqdn = party + "." + domain;
    r.tunnel = *c.tunnel;
    r.party = c.party;
    int idx = -1;
    for (size_t i = 0; i < before.sni.size(); ++i) {
      if (before.sni[i].fqdn == r.fqdn || before.sni[i].party == c.party) {
        if (idx >= 0)
          throw invalid(before.sni[i].where.str() + ": party " + party + " already has two SNI routes; remove one first");
        idx = static_cast<int>(i);
      }
    }
    std::vector<SniRoute> all = before.sni;
    if (idx >= 0) {
      const SniRoute& old = before.sni[static_cast<size_t>(idx)];
      if (old.fqdn == r.fqdn && old.tunnel.str() == r.tunnel.str()) {
        out.changes.push_back("sni: " + r.fqdn + " -> " + r.tunnel.str() + " (unchanged)");
      } else {
        out.changes.push_back("sni: " + old.fqdn + " -> " + old.tunnel.str() + " replaced by " + r.fqdn + " -> " +
                              r.tunnel.str());
        out.sni_changed = true;
      }
      all[static_cast<size_t>(idx)] = r;
    } else {
      all.push_back(r);
      out.changes.push_back("sni: added " + r.fqdn + " -> " + r.tunnel.str());
      out.sni_changed = true;
    }
    if (out.sni_changed) {
      out.connect_ports_changed = !port_allowed(before.connect_ports, r.tunnel.port);
      edit_table(ed, name, kSniPath, true, before.sni.size(), idx, false, &r, all, emit_sni);
      YAML::Node seq(YAML::NodeType::Sequence);
      for (auto& x : all) seq.push_back(sni_node(x));
      set_path(expected, kSniPath, seq);
    }
  }

  if (c.proxy || c.fateflow) {
    int idx = -1;
    for (size_t i = 0; i < before.nginx.size(); ++i)
      if (before.nginx[i].party == c.party) idx = static_cast<int>(i);
    NginxRoute r;
    r.party = c.party;
    if (idx >= 0) r = before.nginx[static_cast<size_t>(idx)];
    if (c.proxy) r.proxy = {*c.proxy};
    if (c.fateflow) r.fateflow = {*c.fateflow};
    auto describe = [](const NginxRoute& x) {
      std::string s;
      for (auto& e : x.proxy) s += " proxy " + e.str();
      for (auto& e : x.fateflow) s += " fateflow " + e.str();
      return s;
    };
    std::vector<NginxRoute> all = before.nginx;
    bool same = idx >= 0 && describe(before.nginx[static_cast<size_t>(idx)]) == describe(r);
    if (same) {
      out.changes.push_back("nginx: party " + party + describe(r) + " (unchanged)");
    } else {
      if (idx >= 0) {
        all[static_cast<size_t>(idx)] = r;
        out.changes.push_back("nginx: party " + party + " now" + describe(r));
      } else {
        all.push_back(r);
        out.changes.push_back("nginx: added party " + party + describe(r));
      }
      out.nginx_changed = true;
      edit_table(ed, name, kNginxPath, false, before.nginx.size(), idx, false, &r, all, emit_nginx);
      YAML::Node rt = yaml::dig(expected, kNginxPath);
      if (!rt || !rt.IsMap()) {
        YAML::Node m(YAML::NodeType::Map);
        m[party] = nginx_node(r);
        set_path(expected, kNginxPath, m);
      } else {
        rt[party] = nginx_node(r);
      }
    }
  }

  if (c.rollsite) {
    int idx = -1;
    for (size_t i = 0; i < before.rollsite.size(); ++i)
      if (before.rollsite[i].party == c.party) idx = static_cast<int>(i);
    RollsiteRoute r;
    r.party = c.party;
    r.address = *c.rollsite;
    std::vector<RollsiteRoute> all = before.rollsite;
    if (idx >= 0 && before.rollsite[static_cast<size_t>(idx)].address.str() == r.address.str()) {
      out.changes.push_back("rollsite: party " + party + " -> " + r.address.str() + " (unchanged)");
    } else {
      if (idx >= 0) {
        out.changes.push_back("rollsite: party " + party + " " + before.rollsite[static_cast<size_t>(idx)].address.str() +
                              " replaced by " + r.address.str());
        all[static_cast<size_t>(idx)] = r;
      } else {
        out.changes.push_back("rollsite: added party " + party + " -> " + r.address.str());
        all.push_back(r);
      }
      out.rollsite_changed = true;
      edit_table(ed, name, kRollsitePath, true, before.rollsite.size(), idx, false, &r, all, emit_rollsite);
      YAML::Node seq(YAML::NodeType::Sequence);
      for (auto& x : all) seq.push_back(rollsite_node(x));
      set_path(expected, kRollsitePath, seq);
    }
  }

  out.text = ed.text();
  verify(name, out.text, expected);
  out.after = read_routes(yaml::parse(out.text, name), name);
  out.warnings = route_warnings(out.after);
  return out;
}

RouteEdit remove_route(const std::string& text, const std::string& name, long party, const RemoveScope& scope,
                       const std::string& domain) {
  YAML::Node root = yaml::parse(text, name);
  if (!root.IsMap()) throw invalid(name + ": not a YAML mapping (expected a fate-exchange spec)");
  RouteTable before = read_routes(root, name);
  YAML::Node expected = yaml::clone(root);
  YamlTextEditor ed(text);
  RouteEdit out;
  out.removed = true;
  std::string p = std::to_string(party);
  // Edit from the bottom of the file up, so earlier line numbers stay valid: each table is
  // looked up again by edit_table, so order only matters for readability.
  if (scope.sni) {
    int idx = -1;
    for (size_t i = 0; i < before.sni.size(); ++i) {
      const auto& r = before.sni[i];
      bool match = domain.empty() ? r.party == party : r.fqdn == p + "." + domain;
      if (match) idx = static_cast<int>(i);
    }
    if (idx >= 0) {
      std::vector<SniRoute> all = before.sni;
      out.changes.push_back("sni: removed " + all[static_cast<size_t>(idx)].fqdn + " -> " +
                            all[static_cast<size_t>(idx)].tunnel.str());
      all.erase(all.begin() + idx);
      edit_table(ed, name, kSniPath, true, before.sni.size(), idx, true, static_cast<const SniRoute*>(nullptr), all,
                 emit_sni);
      YAML::Node seq(YAML::NodeType::Sequence);
      for (auto& x : all) seq.push_back(sni_node(x));
      set_path(expected, kSniPath, seq);
      out.sni_changed = true;
    }
  }
  if (scope.nginx) {
    int idx = -1;
    for (size_t i = 0; i < before.nginx.size(); ++i)
      if (before.nginx[i].party == party) idx = static_cast<int>(i);
    if (idx >= 0) {
      std::vector<NginxRoute> all = before.nginx;
      all.erase(all.begin() + idx);
      edit_table(ed, name, kNginxPath, false, before.nginx.size(), idx, true, static_cast<const NginxRoute*>(nullptr),
                 all, emit_nginx);
      YAML::Node rt = yaml::dig(expected, kNginxPath);
      YAML::Node m(YAML::NodeType::Map);
      for (auto it = rt.begin(); it != rt.end(); ++it)
        if (it->first.Scalar() != p) m[it->first] = it->second;
      set_path(expected, kNginxPath, m);
      out.changes.push_back("nginx: removed party " + p);
      out.nginx_changed = true;
    }
  }
  if (scope.rollsite) {
    int idx = -1;
    for (size_t i = 0; i < before.rollsite.size(); ++i)
      if (before.rollsite[i].party == party) idx = static_cast<int>(i);
    if (idx >= 0) {
      std::vector<RollsiteRoute> all = before.rollsite;
      out.changes.push_back("rollsite: removed party " + p + " -> " + all[static_cast<size_t>(idx)].address.str());
      all.erase(all.begin() + idx);
      edit_table(ed, name, kRollsitePath, true, before.rollsite.size(), idx, true,
                 static_cast<const RollsiteRoute*>(nullptr), all, emit_rollsite);
      YAML::Node seq(YAML::NodeType::Sequence);
      for (auto& x : all) seq.push_back(rollsite_node(x));
      set_path(expected, kRollsitePath, seq);
      out.rollsite_changed = true;
    }
  }
  if (out.changes.empty())
    throw invalid(name + ": party " + p + (domain.empty() ? "" : " (fqdn " + p + "." + domain + ")") +
                  " is not in the route table" + (scope.sni && scope.nginx && scope.rollsite ? "" : "s selected"));
  out.text = ed.text();
  verify(name, out.text, expected);
  out.after = read_routes(yaml::parse(out.text, name), name);
  out.warnings = route_warnings(out.after);
  return out;
}

std::string sni_yaml(const RouteTable& t) {
  if (t.sni.empty()) return "sni: []\n";
  std::string o = "sni:\n";
  for (auto& r : t.sni) o += "  - fqdn: " + r.fqdn + "\n    tunnel_route: " + r.tunnel.str() + "\n";
  return o;
}

YAML::Node routes_to_yaml(const RouteTable& t) {
  YAML::Node n(YAML::NodeType::Map);
  n["sni"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& r : t.sni) {
    YAML::Node e;
    e["party"] = r.party;
    e["fqdn"] = r.fqdn;
    e["tunnelRoute"] = r.tunnel.str();
    e["connectPortOk"] = port_allowed(t.connect_ports, r.tunnel.port);
    n["sni"].push_back(e);
  }
  n["nginx"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& r : t.nginx) {
    YAML::Node e;
    e["party"] = r.party;
    e["proxy"] = endpoints_node(r.proxy);
    e["fateflow"] = endpoints_node(r.fateflow);
    n["nginx"].push_back(e);
  }
  n["rollsite"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& r : t.rollsite) {
    YAML::Node e;
    e["party"] = r.party;
    e["partyIp"] = r.address.host;
    e["partyPort"] = r.address.port;
    n["rollsite"].push_back(e);
  }
  n["connectPorts"] = t.connect_ports;
  return n;
}

}  // namespace fatectl::ops
