// The first half of the route transaction: where the current record comes from, and the plan
// (new spec, new route set, route diff) computed from it and a requested change -- pure text work.
#include <map>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/release/record.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::ops {
namespace {

std::unique_ptr<kube::Client> connect(const ReloadOptions& o) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = o.context;
  return std::make_unique<kube::Client>(kube::load_config(lo));
}

std::string release_label(const std::string& name, int revision) {
  return "release " + name + " revision " + std::to_string(revision);
}

ExchangeRecord from_record(const release::Record& rec) {
  if (rec.chart != "fate-exchange")
    throw invalid("release '" + rec.name + "' is chart '" + rec.chart + "'; routes live in a fate-exchange release");
  if (rec.status != release::kDeployed)
    throw failed("release '" + rec.name + "' revision " + std::to_string(rec.revision) + " is " + rec.status +
                 (rec.description.empty() ? "" : " (" + rec.description + ")") +
                 "; finish or roll back that change first (`fatectl cluster history " + rec.name + "`, `fatectl cluster rollback " +
                 rec.name + "`)");
  ExchangeRecord r;
  r.release = rec.name;
  r.ns = rec.namespace_;
  r.revision = rec.revision;
  r.spec_text = rec.spec;
  r.label = release_label(rec.name, rec.revision);
  return r;
}

std::string domain_of(const std::string& fqdn) {
  size_t dot = fqdn.find('.');
  return dot == std::string::npos ? "" : fqdn.substr(dot + 1);
}

std::string nginx_target(const NginxRoute& r) {
  std::string s;
  for (auto& e : r.proxy) s += (s.empty() ? "" : ", ") + std::string("proxy ") + e.str();
  for (auto& e : r.fateflow) s += (s.empty() ? "" : ", ") + std::string("fateflow ") + e.str();
  return s;
}

// Every route as key -> target, for the diff.
std::map<std::string, std::string> route_map(const RouteTable& t) {
  std::map<std::string, std::string> m;
  for (auto& r : t.sni) m["sni " + r.fqdn] = r.tunnel.str();
  for (auto& r : t.nginx) m["nginx " + std::to_string(r.party)] = nginx_target(r);
  for (auto& r : t.rollsite) m["rollsite " + std::to_string(r.party)] = r.address.str();
  return m;
}

RouteTable routes_of(const std::string& text, const std::string& label) {
  if (text.empty()) return RouteTable{};
  return read_routes(yaml::parse(text, label), label);
}

// Routes of `rec` that `spec` lacks, grouped by party as one RouteChange each (SNI: neither the
// fqdn nor the party routed; nginx and rollsite: the party absent). Routes that cannot be written
// back (an fqdn without a party id) go to `unkeepable`.
std::vector<std::pair<RouteChange, std::string>> missing_routes(const RouteTable& rec, const RouteTable& spec,
                                                                std::vector<std::string>& unkeepable,
                                                                std::vector<std::string>& warnings) {
  std::map<long, std::pair<RouteChange, std::vector<std::string>>> by_party;
  auto entry = [&](long party) -> std::pair<RouteChange, std::vector<std::string>>& {
    auto& e = by_party[party];
    e.first.party = party;
    return e;
  };
  for (auto& r : rec.sni) {
    bool has = false;
    for (auto& s : spec.sni) has |= s.fqdn == r.fqdn || (r.party && s.party == r.party);
    if (has) continue;
    if (!r.party) {
      unkeepable.push_back("sni " + r.fqdn + " -> " + r.tunnel.str());
      continue;
    }
    auto& e = entry(r.party);
    e.first.tunnel = r.tunnel;
    e.first.domain = domain_of(r.fqdn);
    e.second.push_back("sni " + r.fqdn + " -> " + r.tunnel.str());
  }
  for (auto& r : rec.nginx) {
    bool has = false;
    for (auto& s : spec.nginx) has |= s.party == r.party;
    if (has) continue;
    auto& e = entry(r.party);
    if (!r.proxy.empty()) e.first.proxy = r.proxy.front();
    if (!r.fateflow.empty()) e.first.fateflow = r.fateflow.front();
    if (r.proxy.size() > 1 || r.fateflow.size() > 1)
      warnings.push_back("party " + std::to_string(r.party) + ": only the first nginx proxy/fateflow endpoint is kept");
    e.second.push_back("nginx " + std::to_string(r.party) + " (" + nginx_target(r) + ")");
  }
  for (auto& r : rec.rollsite) {
    bool has = false;
    for (auto& s : spec.rollsite) has |= s.party == r.party;
    if (has) continue;
    auto& e = entry(r.party);
    e.first.rollsite = r.address;
    e.second.push_back("rollsite " + std::to_string(r.party) + " -> " + r.address.str());
  }
  std::vector<std::pair<RouteChange, std::string>> out;
  for (auto& [party, e] : by_party) {
    std::string what;
    for (auto& w : e.second) what += (what.empty() ? "" : ", ") + w;
    if (!e.first.tunnel && !e.first.proxy && !e.first.fateflow && !e.first.rollsite) continue;  // empty nginx entry
    out.push_back({e.first, "party " + std::to_string(party) + ": " + what});
  }
  return out;
}

}  // namespace

RouteOp RouteOp::adding(const RouteChange& c) {
  RouteOp o;
  o.kind = Kind::Add;
  o.add = c;
  o.party = c.party;
  return o;
}

RouteOp RouteOp::removing(long party, const RemoveScope& s, const std::string& domain) {
  RouteOp o;
  o.kind = Kind::Remove;
  o.party = party;
  o.scope = s;
  o.domain = domain;
  return o;
}

ExchangeRecord load_exchange_record(const ReloadOptions& o, const std::string& release) {
  auto c = connect(o);
  std::string ns = release_namespace(*c, release, o.namespace_override);
  auto rec = release::Store(*c, ns).latest(release);
  if (!rec) throw failed("no release '" + release + "' in namespace '" + ns + "' (see `fatectl cluster list -A`)");
  return from_record(*rec);
}

ExchangeRecord record_for_spec(const ReloadOptions& o, const std::string& label, const std::string& spec_text) {
  spec::ClusterSpec sp = spec::parse(spec_text, label);
  if (!sp.is_exchange())
    throw invalid(label + ": chartName is '" + sp.chart_name + "'; exchange routes live in a fate-exchange spec");
  ExchangeRecord r;
  r.ns = o.namespace_override.empty() ? sp.namespace_ : o.namespace_override;
  r.spec_text = spec_text;
  r.label = label;
  auto c = connect(o);
  auto rec = release::Store(*c, r.ns).latest(sp.name);
  if (!rec) return r;  // applied without fatectl: the file is the only record
  return from_record(*rec);
}

RouteTxnPlan plan_route_txn(const ExchangeRecord& current, const RouteTxnChange& change) {
  RouteTxnPlan p;
  p.current = current;
  p.description = change.description;
  std::string label = change.spec_text && !change.spec_label.empty() ? change.spec_label : current.label;
  p.label = label;
  std::string text = change.spec_text ? *change.spec_text : current.spec_text;
  p.before = routes_of(current.spec_text, current.label);
  if (change.spec_text && !current.spec_text.empty()) {
    RouteTable spec_routes = routes_of(text, label);
    std::vector<std::string> unkeepable;
    auto missing = missing_routes(p.before, spec_routes, unkeepable, p.warnings);
    for (auto& [rc, what] : missing) {
      if (change.recorded == RecordedRoutes::Keep) {
        text = add_route(text, label, rc).text;
        p.kept.push_back(what);
      } else {
        p.dropped.push_back(what);
      }
    }
    for (auto& u : unkeepable) {
      if (change.recorded == RecordedRoutes::Keep)
        p.warnings.push_back(u + ": cannot be kept (its fqdn does not start with a party id); add it to " + label);
      p.dropped.push_back(u);
    }
  }
  for (auto& op : change.ops) {
    RouteEdit e = op.kind == RouteOp::Kind::Add ? add_route(text, label, op.add)
                                                : remove_route(text, label, op.party, op.scope, op.domain);
    text = e.text;
    p.changes.insert(p.changes.end(), e.changes.begin(), e.changes.end());
  }
  p.new_text = text;
  p.after = routes_of(text, label);
  for (auto& w : route_warnings(p.after)) p.warnings.push_back(w);
  auto a = route_map(p.before), b = route_map(p.after);
  for (auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) p.diff.push_back({'-', k + " -> " + v});
    else if (it->second != v) p.diff.push_back({'~', k + ": " + v + " -> " + it->second});
  }
  for (auto& [k, v] : b)
    if (!a.count(k)) p.diff.push_back({'+', k + " -> " + v});
  return p;
}

}  // namespace fatectl::ops
