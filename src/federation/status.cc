// `federation status`: reads every site, the Exchange's record and pods, the certificates and the
// stored check; changes nothing.
#include "fatectl/federation/status.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"
#include "fatectl/federation/discover.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/release/record.h"

namespace fatectl::federation {

bool StatusReport::ok() const {
  for (const auto& s : sites)
    if (!s.ok) return false;
  for (const auto& r : routes)
    if (!r.ok()) return false;
  for (const auto& c : certs)
    if (!c.ok()) return false;
  return live_ok && check_complete && check.ok();
}

namespace {

std::unique_ptr<kube::Client> connect(const std::string& kubeconfig, const std::string& context) {
  kube::LoadOptions lo;
  lo.kubeconfig = kubeconfig;
  lo.context = context;
  return std::make_unique<kube::Client>(kube::load_config(lo));
}

/// Reads a site's release and modules; fills `s`. Returns the record's spec ("" when none).
std::string read_site(kube::Client& c, SiteStatus& s) {
  auto rec = release::Store(c, s.ns).latest(s.name);
  if (!rec) {
    s.release = "not installed";
    s.problems.push_back(s.site + " is not installed (" + s.ns + "/" + s.name + "): run fatectl federation up");
    return "";
  }
  s.release = "revision " + std::to_string(rec->revision) + " " + rec->status;
  if (rec->status != release::kDeployed) s.problems.push_back(s.site + ": release " + s.release);
  ops::StatusReport st = ops::status(c, s.ns, s.name);
  int ready = 0, total = 0;
  std::string first;
  for (const auto& m : st.modules) {
    ready += m.ready;
    total += m.total;
    if (m.ready < m.total && first.empty()) first = m.module + " " + std::to_string(m.ready) + "/" + std::to_string(m.total) + (m.detail.empty() ? "" : ": " + m.detail);
  }
  s.modules = std::to_string(ready) + "/" + std::to_string(total) + " ready";
  if (!first.empty()) s.problems.push_back(s.site + ": " + first);
  for (const auto& m : st.missing) s.problems.push_back(s.site + ": " + m.str() + " is missing");
  return rec->spec;
}


/// A party's route in a table, as an address (to compare with where it is reached now).
PartyAddress route_of(const ops::RouteTable& t, long party) {
  PartyAddress a;
  a.party = party;
  for (const auto& r : t.sni)
    if (r.party == party) a.tunnel = r.tunnel;
  for (const auto& r : t.nginx)
    if (r.party == party) {
      if (!r.proxy.empty()) a.proxy = r.proxy.front();
      if (!r.fateflow.empty()) a.fateflow = r.fateflow.front();
    }
  for (const auto& r : t.rollsite)
    if (r.party == party) a.rollsite = r.address;
  return a;
}

std::string hosts_of(const PartyAddress& a) {
  if (a.tunnel) return a.tunnel->host;
  if (a.rollsite) return a.rollsite->host;
  if (a.proxy) return a.proxy->host;
  return "";
}

CertStatus cert_status(const std::string& what, const std::string& pem, int warn_days) {
  CertStatus c;
  c.what = what;
  if (pem.empty()) {
    c.state = "missing";
    return c;
  }
  BIO* b = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  if (!x) {
    c.state = "not a certificate";
    return c;
  }
  const ASN1_TIME* na = X509_get0_notAfter(x);
  int days = 0, secs = 0;
  ASN1_TIME_diff(&days, &secs, nullptr, na);
  BIO* o = BIO_new(BIO_s_mem());
  ASN1_TIME_print(o, na);
  char* p = nullptr;
  long n = BIO_get_mem_data(o, &p);
  c.not_after = std::string(p, static_cast<size_t>(n));
  BIO_free(o);
  X509_free(x);
  c.days_left = days;
  c.state = (days < 0 || (days == 0 && secs < 0)) ? "expired" : days < warn_days ? "expires soon" : "ok";
  return c;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (in) s << in.rdbuf();
  return s.str();
}

}  // namespace

StatusReport status(const Federation& f, const std::string& kubeconfig, int warn_days) {
  StatusReport r;
  std::map<std::string, std::unique_ptr<kube::Client>> clients;
  auto client = [&](const std::string& ctx) -> kube::Client& {
    auto& c = clients[ctx];
    if (!c) c = connect(kubeconfig, ctx);
    return *c;
  };
  // the Exchange
  SiteStatus es{"the Exchange", f.exchange.context, f.exchange.namespace_, f.exchange.name, "", "", "", "", false, {}};
  std::optional<ExchangeAddress> ex;
  std::string ex_spec;
  try {
    kube::Client& c = client(f.exchange.context);
    ex_spec = read_site(c, es);
    if (!ex_spec.empty()) {
      es.spec = exchange_without_routes(ex_spec) == exchange_without_routes(exchange_base_text(f)) ? "runs the federation's spec"
                                                                                 : "differs from the federation's spec";
      if (es.spec != "runs the federation's spec") es.problems.push_back("the Exchange's spec differs from the federation's: run fatectl federation up");
      ex = discover_exchange(c, f);
      if (ex) es.address = ex->str(f);
    }
  } catch (const Error& e) {
    es.release = "unreachable";
    es.problems.push_back("the Exchange: " + std::string(e.what()));
  }
  es.ok = es.problems.empty();
  r.sites.push_back(es);
  // parties
  std::map<long, PartyAddress> now;
  for (const auto& p : f.parties) {
    SiteStatus s{"party " + std::to_string(p.id), p.context, p.namespace_, p.name, "", "", "", "", false, {}};
    try {
      kube::Client& c = client(p.context);
      std::string spec = read_site(c, s);
      if (!spec.empty()) {
        if (ex) {
          bool same = spec == party_spec_text(f, p, *ex);
          s.spec = same ? "runs the federation's spec" : "differs from the federation's spec";
          if (!same) s.problems.push_back(s.site + "'s spec differs from the federation's (a new member, the Exchange's address): run fatectl federation up");
        }
        if (auto a = discover_party(c, f, p)) {
          now[p.id] = *a;
          s.address = a->main();
        }
      }
    } catch (const Error& e) {
      s.release = "unreachable";
      s.problems.push_back(s.site + ": " + e.what());
    }
    s.ok = s.problems.empty();
    r.sites.push_back(s);
  }
  // routes: the Exchange's record against where each party is reached now
  if (!ex_spec.empty()) {
    ops::RouteTable t;
    try {
      t = ops::read_routes(yaml::parse(ex_spec, "the Exchange's record"), "the Exchange's record");
    } catch (const Error& e) {
      r.live.push_back(std::string("cannot read the Exchange's routes: ") + e.what());
      r.live_ok = false;
    }
    for (const auto& p : f.parties) {
      RouteStatus rs;
      rs.party = p.id;
      PartyAddress rec = route_of(t, p.id);
      bool has = rec.tunnel || rec.proxy || rec.fateflow || rec.rollsite;
      rs.recorded = has ? rec.str() : "";
      auto it = now.find(p.id);
      rs.expected = it == now.end() ? "" : it->second.str();
      if (!has) {
        rs.state = "missing";
        rs.detail = "the Exchange has no route to party " + std::to_string(p.id) + ": run fatectl federation up";
      } else if (!rec.complete(f)) {
        rs.state = "missing";
        rs.detail = "the Exchange routes party " + std::to_string(p.id) + " only partly (" + rec.str() + "): run fatectl federation up";
      } else if (rs.expected.empty()) {
        rs.state = "unknown";
        rs.detail = "where party " + std::to_string(p.id) + " is reached is not known (not installed or unreachable)";
      } else if (rs.recorded == rs.expected) {
        rs.state = "ok";
      } else if (!p.address.empty() && hosts_of(rec) != p.address) {
        rs.state = "wrong address";
        rs.detail = "the route leads to " + rs.recorded + ", but the federation file puts party " + std::to_string(p.id) +
                    " at " + p.address + ": run fatectl federation up";
      } else {
        rs.state = "address changed";
        rs.detail = "party " + std::to_string(p.id) + " is now reached at " + rs.expected + ", its route (written earlier) says " +
                    rs.recorded + ": run fatectl federation up";
      }
      r.routes.push_back(rs);
    }
    std::set<long> stray;
    for (const auto& x : t.sni) if (x.party && !f.party(x.party)) stray.insert(x.party);
    for (const auto& x : t.nginx) if (!f.party(x.party)) stray.insert(x.party);
    for (const auto& x : t.rollsite) if (!f.party(x.party)) stray.insert(x.party);
    for (long q : stray) {
      RouteStatus rs;
      rs.party = q;
      rs.recorded = route_of(t, q).str();
      rs.state = "not a member";
      rs.detail = "the Exchange routes party " + std::to_string(q) + ", which is not in the federation file: federation up removes it";
      r.routes.push_back(rs);
    }
    // the pods against the record
    try {
      kube::Client& c = client(f.exchange.context);
      ops::ReloadOptions ro;
      ro.kubeconfig = kubeconfig;
      ro.context = f.exchange.context;
      auto cluster = ops::kube_exchange_cluster(c);
      ops::LiveReport live = ops::read_live_routes(*cluster, ops::render_route_configmaps(ex_spec, "the Exchange's record", f.exchange.namespace_), ro);
      r.live = ops::live_report_lines(live);
      r.live_ok = live.in_sync();
    } catch (const Error& e) {
      r.live.push_back(std::string("cannot read the Exchange's pods: ") + e.what());
      r.live_ok = false;
    }
  }
  // certificates: the local CA directory and, where readable, the Secrets the pods mount
  fed::CertDir cd{f.cert_dir};
  r.certs.push_back(cert_status("CA (" + cd.ca_cert() + ")", slurp(cd.ca_cert()), warn_days));
  if (f.pulsar()) r.certs.push_back(cert_status("proxy." + f.domain + " (" + f.cert_dir + "/proxy.crt)", slurp(f.cert_dir + "/proxy.crt"), warn_days));
  for (const auto& p : f.parties) {
    std::string local = slurp(cd.party_cert(p.id));
    r.certs.push_back(cert_status(party_fqdn(f, p.id) + " (" + cd.party_cert(p.id) + ")", local, warn_days));
    if (!f.pulsar()) continue;
    std::string what = "Secret " + p.namespace_ + "/pulsar-cert";
    try {
      auto sec = kube::get(client(p.context), kube::ObjectRef{"v1", "Secret", p.namespace_, "pulsar-cert"});
      std::string b64 = sec ? kube::F(*sec)["data"]["broker.cert.pem"].str() : "";
      std::string pem = b64.empty() ? "" : kube::base64_decode(b64);
      CertStatus cs = cert_status(what, pem, warn_days);
      if (cs.ok() && pem != local) cs.state = "differs from " + cd.party_cert(p.id) + ": run fatectl federation up";
      r.certs.push_back(cs);
    } catch (const Error& e) {
      r.certs.push_back(CertStatus{what, "", 0, std::string("unreadable: ") + e.what()});
    }
  }
  // the last check
  try {
    r.check = load_results(client(f.exchange.context), f);
  } catch (const Error&) {
  }
  size_t pairs = f.parties.size() * (f.parties.size() - (f.parties.empty() ? 0 : 1));
  size_t have = 0;
  for (const auto& a : f.parties)
    for (const auto& b : f.parties)
      if (a.id != b.id && r.check.find(a.id, b.id)) ++have;
  r.check_complete = have == pairs;
  return r;
}

YAML::Node status_yaml(const Federation& f, const StatusReport& r) {
  YAML::Node n(YAML::NodeType::Map);
  n["federation"] = yaml::str(f.name);
  n["engine"] = yaml::str(f.engine);
  n["domain"] = yaml::str(f.domain);
  n["ok"] = r.ok();
  n["sites"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& s : r.sites) {
    YAML::Node x(YAML::NodeType::Map);
    x["site"] = yaml::str(s.site);
    x["context"] = yaml::str(s.context);
    x["namespace"] = yaml::str(s.ns);
    x["name"] = yaml::str(s.name);
    x["release"] = yaml::str(s.release);
    x["modules"] = yaml::str(s.modules);
    x["spec"] = yaml::str(s.spec);
    x["address"] = yaml::str(s.address);
    x["ok"] = s.ok;
    x["problems"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& p : s.problems) x["problems"].push_back(yaml::str(p));
    n["sites"].push_back(x);
  }
  n["routes"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& rs : r.routes) {
    YAML::Node x(YAML::NodeType::Map);
    x["party"] = rs.party;
    x["state"] = yaml::str(rs.state);
    x["recorded"] = yaml::str(rs.recorded);
    x["reachedAt"] = yaml::str(rs.expected);
    if (!rs.detail.empty()) x["detail"] = yaml::str(rs.detail);
    n["routes"].push_back(x);
  }
  n["exchangePods"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& l : r.live) n["exchangePods"].push_back(yaml::str(l));
  n["exchangePodsInSync"] = r.live_ok;
  n["certificates"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& c : r.certs) {
    YAML::Node x(YAML::NodeType::Map);
    x["what"] = yaml::str(c.what);
    x["notAfter"] = yaml::str(c.not_after);
    x["daysLeft"] = c.days_left;
    x["state"] = yaml::str(c.state);
    n["certificates"].push_back(x);
  }
  n["connectivity"] = connectivity_yaml(r.check);
  n["connectivityComplete"] = r.check_complete;
  return n;
}

std::string status_text(const Federation& f, const StatusReport& r) {
  std::string o = "federation " + f.name + " (" + f.engine + ", domain " + f.domain + "): the Exchange and " +
                  std::to_string(f.parties.size()) + " parties\n\n";
  output::Table t;
  t.headers = {"site", "context", "namespace", "release", "modules", "reached at", "spec"};
  for (const auto& s : r.sites)
    t.rows.push_back({s.site, s.context.empty() ? "(current)" : s.context, s.ns, s.release, s.modules.empty() ? "-" : s.modules,
                      s.address.empty() ? "-" : s.address, s.spec.empty() ? "-" : s.spec});
  o += t.render() + "\n";
  output::Table rt;
  rt.headers = {"party", "route", "the Exchange routes it to"};
  for (const auto& x : r.routes) {
    std::string to = x.recorded.empty() ? "-" : x.recorded;
    if (x.ok()) to = to.substr(0, to.find(','));  // all of it matches: the first part says where
    rt.rows.push_back({std::to_string(x.party), x.state, to});
  }
  o += rt.render();
  for (const auto& l : r.live) o += "  exchange pod " + l + "\n";
  o += "\n";
  output::Table ct;
  ct.headers = {"certificate", "expires", "days left", "state"};
  for (const auto& c : r.certs) ct.rows.push_back({c.what, c.not_after.empty() ? "-" : c.not_after, std::to_string(c.days_left), c.state});
  o += ct.render() + "\nconnectivity (last check";
  std::string at;
  for (const auto& p : r.check.pairs)
    if (p.at > at) at = p.at;
  o += at.empty() ? ": never run; fatectl federation up runs it)\n" : ", " + at + ")\n";
  o += connectivity_matrix(f, r.check);
  std::vector<std::string> problems;
  for (const auto& s : r.sites) problems.insert(problems.end(), s.problems.begin(), s.problems.end());
  for (const auto& x : r.routes)
    if (!x.ok()) problems.push_back("route " + std::to_string(x.party) + ": " + x.state + (x.detail.empty() ? "" : " -- " + x.detail));
  if (!r.live_ok) problems.push_back("the Exchange's pods do not all run the recorded routes (see above): fatectl exchange reload --release " + f.exchange.name);
  for (const auto& c : r.certs)
    if (!c.ok()) problems.push_back("certificate " + c.what + ": " + c.state);
  for (const auto& p : r.check.pairs)
    if (!p.ok) problems.push_back("check " + std::to_string(p.from) + " -> " + std::to_string(p.to) + " failed at " + p.hop + ": " + p.detail +
                                  (p.fix.empty() ? "" : " -- " + p.fix) + " (fatectl federation diagnose --from " + std::to_string(p.from) + " --to " + std::to_string(p.to) + ")");
  if (!r.check_complete) problems.push_back("not every pair has been checked: fatectl federation up (or diagnose)");
  if (problems.empty()) return o + "\nall green\n";
  o += "\n" + std::to_string(problems.size()) + " problem" + (problems.size() == 1 ? "" : "s") + ":\n";
  for (const auto& p : problems) o += "  - " + p + "\n";
  return o;
}

}  // namespace fatectl::federation
