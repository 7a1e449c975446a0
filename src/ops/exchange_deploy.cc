// `cluster upgrade` and `cluster rollback` of an exchange as route transactions: the whole
// revision is deployed by ops::upgrade / ops::rollback, and the pods are reloaded and verified
// (or the route ConfigMaps restored) around it. Also: which exchanges route a party.
#include <optional>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/release/pending.h"
#include "fatectl/release/record.h"
#include "fatectl/spec/cluster_spec.h"
#include "route_txn_detail.h"

namespace fatectl::ops {
namespace {

ExchangeRecord as_current(const release::Record& r) {
  ExchangeRecord e;
  e.release = r.name;
  e.ns = r.namespace_;
  e.revision = r.revision;
  e.spec_text = r.spec;
  e.label = "release " + r.name + " revision " + std::to_string(r.revision);
  return e;
}

// The newest deployed revision (the routes that run), or the newest one; `newest` is set to the
// newest revision of any status. Refuses while another command holds a pending revision.
release::Record base_record(kube::Client& c, const std::string& ns, const std::string& name, int& newest,
                            bool take_over_pending) {
  auto history = release::Store(c, ns).history(name);
  if (history.empty()) throw failed("cluster '" + name + "' is not installed in namespace '" + ns + "'");
  release::Store store(c, ns);
  release::settle_stale(store, history);  // a revision whose fatectl is gone: marked failed, said so
  check_not_pending(history, take_over_pending);
  newest = history.back().revision;
  for (auto it = history.rbegin(); it != history.rend(); ++it)
    if (it->status == release::kDeployed) return *it;
  return history.back();
}

// Appends what the restore did to the failed revision ops::upgrade/rollback recorded (the first
// after `after`; an --atomic rollback may have recorded one more). Returns the newest revision.
std::optional<release::Record> annotate_failed(kube::Client& c, const std::string& ns, const std::string& name,
                                               int after, const std::string& what) {
  try {
    release::Store store(c, ns);
    auto history = store.history(name);
    for (auto& h : history) {
      if (h.revision != after + 1 || h.status != release::kFailed) continue;
      h.description += "; " + log::redact(what);
      store.save(h);
    }
    if (!history.empty()) return history.back();
  } catch (const Error& e) {
    log::warn("could not note the restore in the release record: {}", e.what());
  }
  return std::nullopt;
}

}  // namespace

RouteTxnPlan plan_exchange_upgrade(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                                   bool replace_routes) {
  int newest = 0;
  release::Record base = base_record(c, spec.namespace_, spec.name, newest, false);
  RouteTxnChange ch;
  ch.spec_text = spec_text;
  ch.spec_label = spec.file;
  ch.recorded = replace_routes ? RecordedRoutes::Replace : RecordedRoutes::Keep;
  ch.description = "upgrade";
  ExchangeRecord cur = as_current(base);
  cur.newest = newest;
  if (base.status != release::kDeployed) cur.spec_text.clear();  // nothing deployed: no routes to keep
  return plan_route_txn(cur, ch);
}

RouteTxnPlan plan_exchange_rollback(kube::Client& c, const std::string& ns, const std::string& name, int revision,
                                    bool take_over_pending) {
  release::Record target = rollback_target(c, ns, name, revision);
  int newest = 0;
  release::Record base = base_record(c, ns, name, newest, take_over_pending);
  RouteTxnChange ch;
  ch.spec_text = target.spec;
  ch.spec_label = "release " + name + " revision " + std::to_string(target.revision);
  ch.recorded = RecordedRoutes::Replace;
  ch.description = "rollback to " + std::to_string(target.revision);
  ExchangeRecord cur = as_current(base);
  cur.newest = newest;
  return plan_route_txn(cur, ch);
}

RouteTxnReport deploy_exchange(kube::Client& c, const RouteTxnPlan& plan, const DeployOptions& d,
                               const ReloadOptions& o, int rollback_to, DeployResult* result) {
  RouteTxnReport r;
  r.plan = plan;
  auto cluster = kube_exchange_cluster(c);
  RouteConfigMaps target = render_route_configmaps(plan.new_text, plan.label, plan.current.ns);
  RouteConfigMaps previous = read_route_configmaps(*cluster, target.name, target.ns);
  int newest = 0;
  for (auto& h : release::Store(c, plan.current.ns).history(plan.current.release)) newest = std::max(newest, h.revision);
  DeployOptions dd = d;
  dd.expected_revision = plan.current.newest;  // moved on since the plan, or reserved meanwhile: refused
  dd.before_record = [&] { r.forward = converge(*cluster, target, previous, o); };
  try {
    DeployResult res;
    if (rollback_to > 0) {
      res = rollback(c, plan.current.ns, plan.current.release, rollback_to, dd);
    } else {
      spec::ClusterSpec sp = spec::parse(plan.new_text, plan.label);
      for (const auto& w : sp.warnings) log::debug("{}", w);
      res = upgrade(c, sp, plan.new_text, dd);
    }
    if (result) *result = res;
    r.outcome = "applied";
    r.recorded_revision = res.revision;
    return r;
  } catch (const ReleaseBusy& e) {
    // Refused before anything was applied: nothing to restore (restoring could undo the change of
    // the command that holds the release), and the record is the other command's to write.
    r.outcome = "refused";
    r.error = e.what();
    throw RouteTxnFailure(e.kind(), plan.description + " of " + plan.current.release + " refused: " + e.what(), r);
  } catch (const Error& e) {
    if (auto* f = dynamic_cast<const ReloadFailure*>(&e)) r.forward = f->report;
    r.error = e.what();
    // Waiting may have spent --timeout (and an --atomic rollback its own): the restore gets
    // --reload-timeout of its own, as a reload does.
    kube::ClientOptions co;
    co.deadline = c.deadline().for_command(o.timeout, "--reload-timeout (restoring the routes)");
    kube::Client rc(c.config(), co);
    auto restore_cluster = kube_exchange_cluster(rc);
    std::string tail = detail::restore(*restore_cluster, r, previous, target, o);
    auto latest = annotate_failed(rc, plan.current.ns, plan.current.release, newest,
                                  r.outcome == "restored" ? "route ConfigMaps restored to " + plan.current.label + " and reloaded"
                                                          : "restoring the routes failed: " + tail);
    std::string deployed = plan.current.label + " stays the deployed revision";
    if (latest && latest->status == release::kDeployed && latest->revision > newest + 1)  // the --atomic rollback
      deployed = "release " + plan.current.release + " revision " + std::to_string(latest->revision) + " (" +
                 latest->description + ") is the deployed revision";
    throw RouteTxnFailure(e.kind(),
                          plan.description + " of " + plan.current.release + " failed: " + e.what() + "; " + tail +
                              "; " + deployed,
                          r);
  }
}

std::vector<PartyRoutes> exchanges_routing(kube::Client& c, long party) {
  std::vector<PartyRoutes> out;
  std::vector<release::Record> recs;
  try {
    recs = release::Store::list_latest(c, "");
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unreachable) throw;
    log::debug("cannot list releases in all namespaces ({}); looking in the context's namespace", e.what());
    recs = release::Store::list_latest(c, c.config().namespace_);
  }
  for (auto& latest : recs) {
    if (latest.chart != "fate-exchange" || latest.status != release::kDeployed) continue;
    auto full = release::Store(c, latest.namespace_).latest(latest.name);  // list_latest leaves the spec out
    if (!full || full->revision != latest.revision) continue;
    const release::Record& rec = *full;
    ExchangeRecord e = as_current(rec);
    RouteTable t;
    try {
      t = read_routes(yaml::parse(rec.spec, e.label), e.label);
    } catch (const Error& err) {
      log::warn("{}: {}", e.label, err.what());
      continue;
    }
    PartyRoutes pr;
    pr.exchange = e;
    for (auto& s : t.sni)
      if (s.party == party) pr.routes.push_back("sni " + s.fqdn + " -> " + s.tunnel.str());
    for (auto& n : t.nginx)
      if (n.party == party) pr.routes.push_back("nginx " + std::to_string(party));
    for (auto& rs : t.rollsite)
      if (rs.party == party) pr.routes.push_back("rollsite " + std::to_string(party) + " -> " + rs.address.str());
    if (!pr.routes.empty()) out.push_back(pr);
  }
  return out;
}

}  // namespace fatectl::ops
