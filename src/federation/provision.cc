// `federation provision`: kits per site, written only where they changed, with what each site
// re-applies. NodePorts are chosen once and kept in <out>/provision.yaml, so a re-run after adding
// a party leaves the other sites' kits alone.
#include "fatectl/federation/provision.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"
#include "fatectl/kube/api.h"
#include "fatectl/ops/exchange_certs.h"
#include "fatectl/ops/route_file.h"
#include "fatectl/spec/validate.h"

namespace fatectl::federation {

namespace fs = std::filesystem;

namespace {

constexpr const char* kState = "provision.yaml";

std::string site_of(const Party& p) { return "party-" + std::to_string(p.id); }

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::optional<std::string> read_if(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The value of `key` ("pulsar.httpsNodePort") in a spec, 0 when unset.
int spec_port(const spec::ClusterSpec& s, const std::string& key) {
  size_t dot = key.find('.');
  YAML::Node m = s.root[key.substr(0, dot)];
  if (!m.IsDefined() || !m.IsMap()) return 0;
  long long v = 0;
  return spec::as_integer(m[key.substr(dot + 1)], v) ? static_cast<int>(v) : 0;
}

bool load_balancer(const spec::ClusterSpec& s, const std::string& key) {
  YAML::Node m = s.root[key.substr(0, key.find('.'))];
  return m.IsDefined() && m.IsMap() && m["type"].IsScalar() && m["type"].Scalar() == "LoadBalancer";
}

/// The port a site is reached at for `key`: the spec's or pinned NodePort, or the Service port
/// of a LoadBalancer.
int port_for(const spec::ClusterSpec& s, const NodePortPins& pins, const std::string& key, int service_port) {
  if (load_balancer(s, key)) return service_port;
  if (int v = spec_port(s, key)) return v;
  auto it = pins.find(key);
  return it == pins.end() ? 0 : it->second;
}

/// NodePorts for every site: the spec's own, else the state's, else the next free one.
SitePins choose_pins(const Federation& f, const YAML::Node& state) {
  SitePins pins;
  std::set<int> used;
  struct Want {
    std::string site;
    spec::ClusterSpec spec;
    std::vector<std::string> keys;
  };
  std::vector<Want> wants;
  wants.push_back({"exchange", exchange_start(f).spec, exchange_nodeport_keys(f)});
  for (const auto& p : f.parties) wants.push_back({site_of(p), party_start(f, p).spec, party_nodeport_keys(f)});
  for (auto& w : wants)
    for (const auto& k : w.keys)
      if (int v = spec_port(w.spec, k)) used.insert(v);
  // what earlier runs chose stays
  for (auto& w : wants)
    for (const auto& k : w.keys) {
      if (spec_port(w.spec, k) || load_balancer(w.spec, k)) continue;
      YAML::Node v = kube::F(state)["sites"][w.site]["nodePorts"][k];
      long long n = 0;
      if (v.IsDefined() && spec::as_integer(v, n) && n >= 30000 && n <= 32767 && !used.count(static_cast<int>(n))) {
        pins[w.site][k] = static_cast<int>(n);
        used.insert(static_cast<int>(n));
      }
    }
  // KubeFATE's conventional Exchange ports first, then the next free port from 30100
  static const std::map<std::string, int> conventional = {
      {"trafficServer.nodePort", 30007}, {"nginx.httpNodePort", 30003}, {"nginx.grpcNodePort", 30008}, {"rollsite.nodePort", 30001}};
  int next = 30100;
  for (auto& w : wants)
    for (const auto& k : w.keys) {
      if (spec_port(w.spec, k) || load_balancer(w.spec, k) || pins[w.site].count(k)) continue;
      auto c = conventional.find(k);
      if (w.site == "exchange" && c != conventional.end() && !used.count(c->second)) {
        pins[w.site][k] = c->second;
        used.insert(c->second);
        continue;
      }
      while (used.count(next)) ++next;
      if (next > 32767) throw failed("no free NodePort left in 30000-32767 for " + w.site + " " + k);
      pins[w.site][k] = next;
      used.insert(next++);
    }
  return pins;
}

ExchangeAddress exchange_address(const Federation& f, const NodePortPins& pins) {
  spec::ClusterSpec s = exchange_start(f).spec;
  ExchangeAddress a;
  a.host = f.exchange.address;
  a.source = "exchange.address";
  if (f.pulsar()) {
    a.sni_port = port_for(s, pins, "trafficServer.nodePort", 443);
    a.nginx_http = port_for(s, pins, "nginx.httpNodePort", 9300);
    a.nginx_grpc = port_for(s, pins, "nginx.grpcNodePort", 9310);
  } else {
    a.rollsite_port = port_for(s, pins, "rollsite.nodePort", 9370);
  }
  return a;
}

PartyAddress party_address(const Federation& f, const Party& p, const NodePortPins& pins) {
  spec::ClusterSpec s = party_start(f, p).spec;
  PartyAddress a;
  a.party = p.id;
  a.source = p.key + ".address";
  if (f.pulsar()) {
    a.tunnel = ops::HostPort{p.address, port_for(s, pins, "pulsar.httpsNodePort", 6651)};
    a.proxy = ops::NginxEndpoint{p.address, port_for(s, pins, "nginx.httpNodePort", 9300), port_for(s, pins, "nginx.grpcNodePort", 9310)};
    a.fateflow =
        ops::NginxEndpoint{p.address, port_for(s, pins, "python.httpNodePort", 9380), port_for(s, pins, "python.grpcNodePort", 9360)};
  } else {
    std::string m = f.engine == kEngineOSX ? "osx" : "rollsite";
    a.rollsite = ops::HostPort{p.address, port_for(s, pins, m + ".nodePort", 9370)};
  }
  return a;
}

std::string party_readme(const Federation& f, const Party& p, const PartyAddress& a, const ExchangeAddress& ex) {
  std::string id = std::to_string(p.id), ns = p.namespace_;
  std::ostringstream o;
  o << "# Party " << id << " of federation " << f.name << "\n\n"
    << "Written by `fatectl federation provision` from " << fs::path(f.file).filename().string()
    << ". Carry this folder to the site; it holds this party's private key.\n\n"
    << "| file | what |\n|---|---|\n"
    << "| cluster.yaml | the party's KubeFATE spec (" << f.engine << ", the Exchange at " << ex.str(f) << ") |\n"
    << "| " << id << ".crt, " << id << ".key | this party's certificate (CN " << party_fqdn(f, p.id) << ") and key (0600) |\n"
    << "| ca.crt | the federation CA's certificate |\n";
  if (f.pulsar()) o << "| secrets/pulsar-cert.yaml | the broker certificate as the Secret the pulsar pod mounts |\n";
  o << "\n## Install\n\nOn a machine whose kubeconfig reaches this party's cluster:\n\n";
  o << "    kubectl create namespace " << ns << "\n";
  if (f.pulsar()) o << "    kubectl apply -f secrets/pulsar-cert.yaml\n";
  o << "    fatectl cluster install -f cluster.yaml\n"
    << "    fatectl cluster status " << p.name << " -n " << ns << "\n\n"
    << "The Exchange reaches this party at " << a.str() << ": open these ports of " << p.address
    << " to the Exchange.\n\n## After a new kit arrives\n\n"
    << "`fatectl federation provision` says what changed. cluster.yaml: `fatectl cluster upgrade -f cluster.yaml`.";
  if (f.pulsar()) o << " secrets/pulsar-cert.yaml: `kubectl apply -f secrets/pulsar-cert.yaml` (Pulsar re-reads it within 5 minutes).";
  o << "\n\n## Check\n\n    fatectl toy --guest " << id << " --host <another party> -n " << ns << "\n";
  return o.str();
}

std::string exchange_readme(const Federation& f, const ExchangeAddress& ex, const std::vector<PartyAddress>& parties) {
  const std::string& ns = f.exchange.namespace_;
  std::ostringstream o;
  o << "# The Exchange of federation " << f.name << "\n\n"
    << "Written by `fatectl federation provision` from " << fs::path(f.file).filename().string() << ".\n\n"
    << "| file | what |\n|---|---|\n"
    << "| cluster.yaml | the Exchange's KubeFATE spec with a route to every party |\n| ca.crt | the federation CA's certificate |\n";
  if (f.pulsar()) o << "| secrets/traffic-server-cert.yaml | Traffic Server's certificate (proxy." << f.domain << ") as a Secret |\n";
  o << "\n## Install\n\n    kubectl create namespace " << ns << "\n";
  if (f.pulsar()) o << "    kubectl apply -f secrets/traffic-server-cert.yaml\n";
  o << "    fatectl cluster install -f cluster.yaml\n    fatectl exchange route list --release " << f.exchange.name << " -n " << ns
    << " --live\n\nThe parties reach the Exchange at " << ex.str(f) << ". Routes:\n\n";
  for (const auto& a : parties) o << "- party " << a.party << ": " << a.str() << "\n";
  o << "\n## After a new kit arrives\n\n"
    << "Routes only: `fatectl exchange reload -f cluster.yaml` (one transaction: applied, reloaded and verified in "
       "every pod, or restored). Other changes: `fatectl cluster upgrade -f cluster.yaml`.\n";
  return o.str();
}

/// Writes `content` to `path` atomically with `mode`.
void write_atomic(const std::string& path, const std::string& content, bool secret) {
  fs::create_directories(fs::path(path).parent_path());
  if (secret) {
    std::string tmp = path + ".fatectl-tmp";
    fed::write_private_file(tmp, content, true);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      throw failed(path + ": cannot write");
    }
    return;
  }
  if (!exists(path)) {
    std::ofstream(path, std::ios::binary).flush();
    ::chmod(path.c_str(), 0644);
  }
  ops::write_file_atomic(path, content);
}

bool inside(const fs::path& a, const fs::path& dir) {
  auto ai = a.begin();
  for (auto di = dir.begin(); di != dir.end(); ++di, ++ai)
    if (ai == a.end() || *ai != *di) return false;
  return true;
}


}  // namespace

std::vector<Kit> build_kits(const Federation& f, const SitePins& pins, bool issue) {
  auto pins_of = [&](const std::string& site) {
    auto it = pins.find(site);
    return it == pins.end() ? NodePortPins{} : it->second;
  };
  ExchangeAddress ex = exchange_address(f, pins_of("exchange"));
  std::vector<PartyAddress> addrs;
  for (const auto& p : f.parties) addrs.push_back(party_address(f, p, pins_of(site_of(p))));
  // certificates: one CA, proxy.<domain> and <party>.<domain>; Secrets for the Pulsar path
  std::map<std::string, std::string> secret_yaml;  // "exchange" / "party-9999" -> manifest
  fed::CertDir cd{f.cert_dir};
  bool have_all = exists(cd.ca_key());
  for (const auto& p : f.parties) have_all = have_all && exists(cd.party_cert(p.id)) && exists(cd.party_key(p.id));
  if (issue || have_all) {
    ::mkdir(f.cert_dir.c_str(), 0700);
    for (const auto& s : ops::make_exchange_certs(cert_options(f))) {
      std::string site = "exchange";
      for (const auto& p : f.parties)
        if (s.name == "pulsar-cert" && s.namespace_ == p.namespace_) site = site_of(p);
      secret_yaml[site] = yaml::to_yaml(s.object);
    }
  }
  auto file = [](const std::string& p) { return read_if(p).value_or(""); };
  std::vector<Kit> kits;
  Kit ek{"exchange", "the Exchange", {}};
  ek.files.push_back({"cluster.yaml", exchange_text_with_routes(f, exchange_base_text(f, pins_of("exchange")), addrs), false});
  ek.files.push_back({"ca.crt", file(cd.ca_cert()), false});
  if (f.pulsar()) ek.files.push_back({"secrets/traffic-server-cert.yaml", secret_yaml["exchange"], true});
  ek.files.push_back({"README.md", exchange_readme(f, ex, addrs), false});
  kits.push_back(ek);
  for (size_t i = 0; i < f.parties.size(); ++i) {
    const Party& p = f.parties[i];
    std::string id = std::to_string(p.id);
    Kit k{site_of(p), "party " + id, {}};
    k.files.push_back({"cluster.yaml", party_spec_text(f, p, ex, pins_of(site_of(p))), false});
    k.files.push_back({id + ".crt", file(cd.party_cert(p.id)), false});
    k.files.push_back({id + ".key", file(cd.party_key(p.id)), true});
    k.files.push_back({"ca.crt", file(cd.ca_cert()), false});
    if (f.pulsar()) k.files.push_back({"secrets/pulsar-cert.yaml", secret_yaml[site_of(p)], true});
    k.files.push_back({"README.md", party_readme(f, p, addrs[i], ex), false});
    kits.push_back(k);
  }
  for (auto& k : kits)
    for (auto& x : k.files)
      if (x.secret) log::add_secret(x.content);
  return kits;
}

ProvisionReport provision(const Federation& f, const ProvisionOptions& o) {
  if (o.out.empty()) throw invalid("--out: give the kits' directory");
  fs::path out = fs::weakly_canonical(fs::absolute(o.out));
  fs::path ca = fs::weakly_canonical(fs::absolute(f.cert_dir));
  if (inside(ca, out) || inside(out, ca))
    throw invalid(f.file + ": certificates.dir " + f.cert_dir + " and the kits' directory " + o.out +
                  " overlap; the CA key must never travel with a kit -- keep them apart");
  std::string state_path = (out / kState).string();
  YAML::Node state;
  if (auto t = read_if(state_path)) state = yaml::parse(*t, state_path);
  std::string owner = kube::F(state)["federation"].str();
  if (!owner.empty() && owner != f.name)
    throw invalid(o.out + " holds the kits of federation " + owner + ", not " + f.name +
                  "; use another --out");
  bool issue = !o.dry_run;
  SitePins pins = choose_pins(f, state);
  std::vector<Kit> kits = build_kits(f, pins, issue);

  ProvisionReport rep;
  rep.out = o.out;
  YAML::Node next(YAML::NodeType::Map);
  next["federation"] = yaml::str(f.name);
  std::set<std::string> sites_now;
  for (const auto& k : kits) {
    sites_now.insert(k.site);
    KitChange ch;
    ch.site = k.site;
    fs::path dir = out / k.site;
    bool fresh = !exists(dir.string());
    std::set<std::string> changed;
    std::string old_spec;
    for (const auto& x : k.files) {
      std::string path = (dir / x.name).string();
      auto old = read_if(path);
      if (old && x.name == "cluster.yaml") old_spec = *old;
      struct stat st {};
      bool mode_ok = !x.secret || (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) == 0);
      if (old && *old == x.content && mode_ok) continue;
      changed.insert(x.name);
      ch.files.push_back(x.name);
      if (!o.dry_run) {
        write_atomic(path, x.content, x.secret);
        ++rep.written;
      }
    }
    // files of an earlier kit that this one no longer has
    for (const auto& n : kube::F(state)["sites"][k.site]["files"]) {
      bool still = false;
      for (const auto& x : k.files) still |= x.name == n.Scalar();
      if (still) continue;
      ch.files.push_back(n.Scalar() + " (removed)");
      if (!o.dry_run) ::unlink((dir / n.Scalar()).c_str());
    }
    bool is_exchange = k.site == "exchange";
    const Party* p = nullptr;
    for (const auto& q : f.parties)
      if (site_of(q) == k.site) p = &q;
    std::string ns = is_exchange ? f.exchange.namespace_ : p->namespace_;
    if (fresh || !kube::F(state)["sites"][k.site]) {
      ch.state = "new";
      ch.reapply.push_back("install " + k.title + ": follow " + k.site + "/README.md");
    } else if (ch.files.empty()) {
      ch.state = "unchanged";
    } else {
      ch.state = "changed";
      if (changed.count("cluster.yaml")) {
        const std::string& old = old_spec;
        std::string now;
        for (const auto& x : k.files)
          if (x.name == "cluster.yaml") now = x.content;
        bool routes_only = false;
        if (is_exchange && !old.empty()) {
          try {
            routes_only = exchange_without_routes(old) == exchange_without_routes(now);
          } catch (const Error&) {  // an old file that does not parse: upgrade says why
          }
        }
        ch.reapply.push_back(routes_only ? "fatectl exchange reload -f cluster.yaml   (routes changed)"
                                         : "fatectl cluster upgrade -f cluster.yaml");
      }
      for (const auto& n : changed)
        if (n.rfind("secrets/", 0) == 0)
          ch.reapply.push_back("kubectl apply -f " + n + (is_exchange ? "   (then fatectl exchange reload -f cluster.yaml)" : ""));
      if (ch.reapply.empty()) ch.reapply.push_back("nothing to re-apply (only " + *changed.begin() + " changed)");
    }
    rep.sites.push_back(ch);
    YAML::Node s(YAML::NodeType::Map);
    s["title"] = yaml::str(k.title);
    s["release"] = yaml::str(is_exchange ? f.exchange.name : p->name);
    s["namespace"] = yaml::str(ns);
    for (const auto& [key, port] : pins[k.site]) s["nodePorts"][key] = port;
    for (const auto& x : k.files) s["files"].push_back(yaml::str(x.name));
    next["sites"][k.site] = s;
  }
  // sites that left the federation
  if (kube::F(state)["sites"].node().IsMap())
    for (const auto& kv : kube::F(state)["sites"]) {
      std::string site = kv.first.Scalar();
      if (sites_now.count(site)) continue;
      KitChange ch;
      ch.site = site;
      ch.state = "removed";
      for (const auto& n : kube::F(kv.second)["files"]) {
        ch.files.push_back(n.Scalar());
        if (!o.dry_run) ::unlink((out / site / n.Scalar()).c_str());
      }
      if (!o.dry_run) {
        std::error_code ec;
        fs::remove(out / site / "secrets", ec);
        fs::remove(out / site, ec);
      }
      ch.reapply.push_back("left the federation: fatectl cluster uninstall " + kube::F(kv.second)["release"].str() + " -n " +
                           kube::F(kv.second)["namespace"].str() + "   (its kit was removed)");
      rep.sites.push_back(ch);
    }
  std::string state_text =
      "# fatectl federation provision: the NodePorts chosen per site and each kit's files (keep it with the kits; "
      "the next run keeps the same ports)\n" +
      yaml::to_yaml(next);
  if (!o.dry_run && read_if(state_path) != state_text) {
    fs::create_directories(out);
    write_atomic(state_path, state_text, false);
  }
  return rep;
}

YAML::Node provision_report_yaml(const ProvisionReport& r) {
  YAML::Node n(YAML::NodeType::Map);
  n["out"] = yaml::str(r.out);
  n["written"] = r.written;
  n["sites"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& s : r.sites) {
    YAML::Node x(YAML::NodeType::Map);
    x["site"] = yaml::str(s.site);
    x["state"] = yaml::str(s.state);
    x["files"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& f : s.files) x["files"].push_back(yaml::str(f));
    x["reapply"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& c : s.reapply) x["reapply"].push_back(yaml::str(c));
    n["sites"].push_back(x);
  }
  return n;
}

}  // namespace fatectl::federation
