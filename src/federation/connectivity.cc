// Every pair through the Exchange, and the ConfigMap that keeps the last result.
#include "fatectl/federation/connectivity.h"

#include <map>

#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::federation {

using kube::F;

const PairResult* Connectivity::find(long from, long to) const {
  for (const auto& p : pairs)
    if (p.from == from && p.to == to) return &p;
  return nullptr;
}

bool Connectivity::ok() const {
  for (const auto& p : pairs)
    if (!p.ok) return false;
  return true;
}

TlsTarget pair_target(const Federation& f, const ExchangeAddress& ex, long from, long to, std::chrono::milliseconds timeout) {
  fed::CertDir cd{f.cert_dir};
  TlsTarget t;
  t.host = ex.host;
  t.port = ex.sni_port;
  t.sni = party_fqdn(f, to);
  t.expect_cn = t.sni;
  t.exchange_cn = "proxy." + f.domain;
  t.domain = f.domain;
  t.cert = cd.party_cert(from);
  t.key = cd.party_key(from);
  t.ca = cd.ca_cert();
  t.timeout = timeout;
  return t;
}

Connectivity check_pairs(const Federation& f, const ExchangeAddress& ex, const std::map<long, PartyAddress>& addrs,
                         const std::set<long>& only, std::chrono::milliseconds timeout,
                         const std::map<long, std::string>& down) {
  Connectivity c;
  std::string now = kube::format_rfc3339(std::chrono::system_clock::now());
  for (const auto& a : f.parties)
    for (const auto& b : f.parties) {
      if (a.id == b.id) continue;
      if (!only.empty() && !only.count(a.id) && !only.count(b.id)) continue;
      auto dn = down.find(a.id);
      if (dn == down.end()) dn = down.find(b.id);
      if (dn != down.end()) {
        c.pairs.push_back(PairResult{a.id, b.id, false, "party", "party " + std::to_string(dn->first) + " is not up: " + dn->second,
                                     "finish its install (rerun the command)", 0, now});
        continue;
      }
      std::vector<Hop> hops;
      if (f.pulsar()) {
        hops = check_pulsar_path(pair_target(f, ex, a.id, b.id, timeout));
      } else {
        hops = probe_tcp_path(ex.host, ex.rollsite_port, "the Exchange's rollsite", timeout, 1);
        auto it = addrs.find(b.id);
        bool ex_ok = !hops.empty() && hops.back().ok();
        if (ex_ok && it != addrs.end() && it->second.rollsite) {
          auto more = probe_tcp_path(it->second.rollsite->host, it->second.rollsite->port,
                                     "party " + std::to_string(b.id) + "'s rollsite", timeout, 1);
          hops.insert(hops.end(), more.begin(), more.end());
        }
      }
      PairResult r;
      r.from = a.id;
      r.to = b.id;
      r.at = now;
      r.ok = !hops.empty();
      for (const auto& h : hops) {
        r.ms += h.ms;
        if (!h.ok()) {
          r.ok = false;
          r.hop = h.hop;
          r.detail = h.detail;
          r.fix = h.fix;
          break;
        }
      }
      if (r.ok) r.detail = f.pulsar() ? "TLS as " + party_fqdn(f, a.id) + " to " + party_fqdn(f, b.id) + ", CONNECT, PING"
                                       : "TCP to the Exchange's and the party's rollsite";
      log::info("check {} -> {}: {}", a.id, b.id, r.ok ? "ok" : r.hop + ": " + r.detail);
      c.pairs.push_back(r);
    }
  return c;
}

std::string results_configmap(const Federation& f) { return "fatectl-federation-" + f.name; }

Connectivity load_results(kube::Client& c, const Federation& f) {
  Connectivity out;
  std::optional<YAML::Node> cm;
  try {
    cm = kube::get(c, kube::ObjectRef{"v1", "ConfigMap", f.exchange.namespace_, results_configmap(f)});
  } catch (const Error& e) {
    log::debug("reading {}: {}", results_configmap(f), e.what());
    return out;
  }
  if (!cm) return out;
  std::string text = F(*cm)["data"]["connectivity.json"].str();
  if (text.empty()) return out;
  YAML::Node n;
  try {
    n = yaml::parse(text, results_configmap(f));
  } catch (const Error&) {
    return out;
  }
  for (const auto& p : F(n)["pairs"]) {
    PairResult r;
    r.from = F(p)["from"].num();
    r.to = F(p)["to"].num();
    r.ok = F(p)["ok"].str() == "true";
    r.hop = F(p)["hop"].str();
    r.detail = F(p)["detail"].str();
    r.fix = F(p)["fix"].str();
    r.at = F(p)["at"].str();
    out.pairs.push_back(r);
  }
  return out;
}

Connectivity store_results(kube::Client& c, const Federation& f, const Connectivity& old, const Connectivity& now) {
  Connectivity merged;
  for (const auto& a : f.parties)
    for (const auto& b : f.parties) {
      if (a.id == b.id) continue;
      if (const PairResult* r = now.find(a.id, b.id)) merged.pairs.push_back(*r);
      else if (const PairResult* o = old.find(a.id, b.id)) merged.pairs.push_back(*o);
    }
  YAML::Node cm(YAML::NodeType::Map);
  cm["apiVersion"] = "v1";
  cm["kind"] = "ConfigMap";
  cm["metadata"]["name"] = yaml::str(results_configmap(f));
  cm["metadata"]["namespace"] = yaml::str(f.exchange.namespace_);
  cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "fatectl";
  cm["metadata"]["labels"]["fatectl.federation"] = yaml::str(f.name);
  cm["data"]["connectivity.json"] = yaml::str(yaml::to_json(connectivity_yaml(merged), false));
  kube::apply(c, cm);
  return merged;
}

YAML::Node connectivity_yaml(const Connectivity& c) {
  YAML::Node n(YAML::NodeType::Map);
  n["pairs"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& p : c.pairs) {
    YAML::Node x(YAML::NodeType::Map);
    x["from"] = p.from;
    x["to"] = p.to;
    x["ok"] = p.ok;
    if (!p.hop.empty()) x["hop"] = yaml::str(p.hop);
    x["detail"] = yaml::str(p.detail);
    if (!p.fix.empty()) x["fix"] = yaml::str(p.fix);
    x["at"] = yaml::str(p.at);
    n["pairs"].push_back(x);
  }
  return n;
}

std::string connectivity_matrix(const Federation& f, const Connectivity& c) {
  output::Table t;
  t.headers = {"from \\ to"};
  for (const auto& p : f.parties) t.headers.push_back(std::to_string(p.id));
  for (const auto& a : f.parties) {
    std::vector<std::string> row{std::to_string(a.id)};
    for (const auto& b : f.parties) {
      if (a.id == b.id) {
        row.push_back("·");
        continue;
      }
      const PairResult* r = c.find(a.id, b.id);
      row.push_back(!r ? "-" : r->ok ? "ok" : "FAIL(" + r->hop + ")");
    }
    t.rows.push_back(row);
  }
  return t.render();
}

}  // namespace fatectl::federation
