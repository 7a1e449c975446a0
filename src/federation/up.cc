// `federation up` / `remove-party`: the steps in order over many clusters, each site's failure
// kept to that site, every Exchange route change through the route transaction.
#include "fatectl/federation/up.h"

#include <fstream>
#include <memory>

#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"
#include "fatectl/federation/discover.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/ops/exchange_certs.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/release/record.h"

namespace fatectl::federation {

bool UpReport::changed() const {
  for (const auto& s : steps)
    if (s.action != "check" && (s.outcome == "done" || s.outcome == "planned")) return true;
  return false;
}

bool UpReport::failed() const {
  for (const auto& s : steps)
    if (s.outcome == "failed") return true;
  return false;
}

namespace {

/// One client per kubeconfig context, made on first use.
class Clusters {
 public:
  explicit Clusters(std::string kubeconfig) : kubeconfig_(std::move(kubeconfig)) {}
  kube::Client& get(const std::string& context) {
    auto it = m_.find(context);
    if (it != m_.end()) return *it->second;
    kube::LoadOptions lo;
    lo.kubeconfig = kubeconfig_;
    lo.context = context;
    auto c = std::make_unique<kube::Client>(kube::load_config(lo));
    return *(m_[context] = std::move(c));
  }

 private:
  std::string kubeconfig_;
  std::map<std::string, std::unique_ptr<kube::Client>> m_;
};

std::string ctx_name(const Site& s) { return s.context.empty() ? "the current context" : "context '" + s.context + "'"; }

/// The run's state shared by the steps.
struct Run {
  const Federation& f;
  const UpOptions& o;
  UpReport& r;
  Clusters clusters;
  std::set<long> failed_parties;

  Step& step(const std::string& site, const std::string& action, const std::string& detail) {
    r.steps.push_back(Step{site, action, detail, r.dry_run ? "planned" : "done", ""});
    log::info("{}: {} {}", site, action, detail);
    return r.steps.back();
  }
  void fail(Step& s, const std::string& why) {
    s.outcome = "failed";
    s.error = why;
    log::error("{}: {} failed: {}", s.site, s.action, why);
  }
  ops::ReloadOptions reload_for(const Site& s) const {
    ops::ReloadOptions ro = o.reload;
    ro.kubeconfig = o.kubeconfig;
    ro.context = s.context;
    ro.namespace_override = s.namespace_;
    return ro;
  }
  ops::DeployOptions deploy() const {
    ops::DeployOptions d;
    d.create_namespace = true;
    d.timeout = o.timeout;
    d.plan = !o.skip_plan;
    return d;
  }
};


/// How a site's release stands against the spec it should run.
enum class Need { Install, Upgrade, Repair, Nothing };

Need need_for(kube::Client& c, const std::string& ns, const std::string& name, const std::string& desired, std::string& why) {
  auto rec = release::Store(c, ns).latest(name);
  if (!rec) {
    why = "not installed";
    return Need::Install;
  }
  if (rec->revision == 1 && rec->status != release::kDeployed && rec->status != release::kSuperseded) {
    why = "revision 1 is " + rec->status + ": the install is finished";
    return Need::Install;
  }
  if (rec->spec != desired) {
    why = "revision " + std::to_string(rec->revision) + " runs another spec";
    return Need::Upgrade;
  }
  if (rec->status != release::kDeployed) {
    why = "revision " + std::to_string(rec->revision) + " is " + rec->status;
    return Need::Upgrade;  // rolls forward as a new revision
  }
  ops::StatusReport st = ops::status(c, ns, name);
  for (const auto& m : st.modules)
    if (m.ready < m.total) {
      why = m.module + " " + std::to_string(m.ready) + "/" + std::to_string(m.total) + " ready" +
            (m.detail.empty() ? "" : " (" + m.detail + ")");
      return Need::Repair;
    }
  if (!st.missing.empty()) {
    why = st.missing.front().str() + " is missing";
    return Need::Repair;
  }
  return Need::Nothing;
}

// ---- certificates ------------------------------------------------------------------------------

void step_certificates(Run& run) {
  const Federation& f = run.f;
  if (!f.pulsar()) return;  // rollsite federations run without TLS Secrets
  fed::CertDir cd{f.cert_dir};
  std::vector<std::string> missing;
  if (!std::ifstream(cd.ca_key())) missing.push_back("the CA");
  for (const auto& p : f.parties)
    if (!std::ifstream(cd.party_cert(p.id))) missing.push_back(std::to_string(p.id) + "." + f.domain);
  if (run.r.dry_run && !missing.empty()) {
    std::string m;
    for (auto& x : missing) m += (m.empty() ? "" : ", ") + x;
    run.step("certificates", "issue", m + " in " + f.cert_dir + ", then apply the Secrets");
    return;
  }
  std::vector<ops::ExchangeSecret> secrets;
  try {
    secrets = ops::make_exchange_certs(cert_options(f));
  } catch (const Error& e) {
    run.fail(run.step("certificates", "issue", f.cert_dir), e.what());
    return;
  }
  if (!missing.empty()) {
    std::string m;
    for (auto& x : missing) m += (m.empty() ? "" : ", ") + x;
    run.step("certificates", "issue", m + " in " + f.cert_dir);
  }
  for (const auto& s : secrets) {
    const Site* site = &f.exchange;
    std::string label = "the Exchange";
    long party = 0;
    for (const auto& p : f.parties)
      if (s.name == "pulsar-cert" && s.namespace_ == p.namespace_) {
        site = &p;
        label = "party " + std::to_string(p.id);
        party = p.id;
      }
    std::string what = "Secret " + s.namespace_ + "/" + s.name;
    try {
      kube::Client& c = run.clusters.get(site->context);
      auto live = kube::get(c, kube::ObjectRef{"v1", "Secret", s.namespace_, s.name});
      if (live && kube::F(*live)["data"].node().IsMap()) {
        bool same = true;
        for (const auto& kv : s.object["data"])
          same = same && kube::F(*live)["data"][kv.first.Scalar()].str() == kv.second.Scalar();
        if (same) continue;
      }
      Step& st = run.step(label, "apply", what + (live ? " (changed)" : ""));
      if (run.r.dry_run) continue;
      if (!kube::get(c, kube::ObjectRef{"v1", "Namespace", "", s.namespace_})) {
        YAML::Node ns(YAML::NodeType::Map);
        ns["apiVersion"] = "v1";
        ns["kind"] = "Namespace";
        ns["metadata"]["name"] = yaml::str(s.namespace_);
        kube::apply(c, ns);
      }
      try {
        kube::apply(c, s.object);
      } catch (const Error& e) {
        run.fail(st, e.what());
        if (party) run.failed_parties.insert(party);
      }
    } catch (const Error& e) {
      run.fail(run.step(label, "apply", what + " in " + ctx_name(*site)), e.what());
      if (party) run.failed_parties.insert(party);
    }
  }
}

// ---- the Exchange ------------------------------------------------------------------------------

/// Installs or upgrades the Exchange to its base spec plus the routes known now; returns its
/// address (nullopt when it is not there yet: dry run, or failed).
std::optional<ExchangeAddress> step_exchange(Run& run, const std::vector<PartyAddress>& known) {
  const Federation& f = run.f;
  const Exchange& e = f.exchange;
  try {
    kube::Client& c = run.clusters.get(e.context);
    std::string base = exchange_base_text(f);
    std::string desired = exchange_text_with_routes(f, base, known);
    std::string why;
    Need n = need_for(c, e.namespace_, e.name, desired, why);
    std::string runs = e.namespace_ + "/" + e.name + " runs its spec";
    if (n == Need::Upgrade) {
      auto rec = release::Store(c, e.namespace_).latest(e.name);
      if (rec && rec->status == release::kDeployed && exchange_without_routes(rec->spec) == exchange_without_routes(desired)) {
        // only routes differ: the route transaction below changes them
        n = Need::Nothing;
        runs += " (its routes: below)";
      }
    }
    if (n != Need::Nothing) {
      spec::ClusterSpec sp = spec::parse(desired, "the Exchange's spec");
      const char* action = n == Need::Install ? "install" : n == Need::Upgrade ? "upgrade" : "repair";
      Step& st = run.step("the Exchange", action, e.namespace_ + "/" + e.name + " in " + ctx_name(e) + " (" + why + ")");
      if (!run.r.dry_run) {
        try {
          if (n != Need::Install) {  // upgrade, or repair: its spec again as a new revision
            ops::RouteTxnPlan plan = ops::plan_exchange_upgrade(c, sp, desired, true);
            plan.description = run.o.title + ": the Exchange's spec";
            ops::DeployResult res;
            ops::deploy_exchange(c, plan, run.deploy(), run.reload_for(e), 0, &res);
          } else {
            ops::install(c, sp, desired, run.deploy());
          }
        } catch (const Error& x) {
          run.fail(st, x.what());
          return std::nullopt;
        }
      }
    } else {
      run.r.steps.push_back(Step{"the Exchange", "none", runs, "unchanged", ""});
    }
    auto a = discover_exchange(c, f);
    if (!a && !run.r.dry_run) run.fail(run.step("the Exchange", "discover", "its Services"), "no Service traffic-server/rollsite after the install");
    if (a) log::info("the Exchange is reached at {} ({})", a->str(f), a->source);
    return a;
  } catch (const Error& x) {
    run.fail(run.step("the Exchange", "reach", ctx_name(e)), x.what());
    return std::nullopt;
  }
}

// ---- parties -----------------------------------------------------------------------------------

/// Installs or upgrades party `p` to its finished spec; records its address when it runs.
void step_party(Run& run, const Federation& f, const Party& p, const std::optional<ExchangeAddress>& ex) {
  std::string label = "party " + std::to_string(p.id);
  if (run.failed_parties.count(p.id)) {
    run.r.steps.push_back(Step{label, "install", "", "skipped", "its Secret could not be applied"});
    return;
  }
  if (!ex) {
    run.step(label, "install or upgrade", p.namespace_ + "/" + p.name + " in " + ctx_name(p) +
                                              " (its spec is finished once the Exchange's address is known)");
    if (!run.r.dry_run) run.r.steps.back().outcome = "skipped";
    return;
  }
  Step* st = nullptr;
  try {
    kube::Client& c = run.clusters.get(p.context);
    std::string desired = party_spec_text(f, p, *ex);
    std::string why;
    Need n = need_for(c, p.namespace_, p.name, desired, why);
    if (n == Need::Nothing) {
      run.r.steps.push_back(Step{label, "none", p.namespace_ + "/" + p.name + " runs its spec", "unchanged", ""});
    } else {
      const char* action = n == Need::Install ? "install" : n == Need::Upgrade ? "upgrade" : "repair";
      st = &run.step(label, action, p.namespace_ + "/" + p.name + " in " + ctx_name(p) + " (" + why + ")");
      if (!run.r.dry_run) {
        spec::ClusterSpec sp = spec::parse(desired, label + "'s spec");
        if (n == Need::Install) ops::install(c, sp, desired, run.deploy());
        else ops::upgrade(c, sp, desired, run.deploy());  // upgrade, or repair: its spec again as a new revision
      }
    }
    if (auto a = discover_party(c, f, p)) {
      run.r.addresses[p.id] = *a;
      log::info("{} is reached at {} ({})", label, a->str(), a->source);
    } else if (!run.r.dry_run) {
      throw failed("no Service of party " + std::to_string(p.id) + " after the install");
    }
  } catch (const Error& x) {
    if (!st) st = &run.step(label, "reach", ctx_name(p));
    run.fail(*st, x.what());
    run.failed_parties.insert(p.id);
    run.r.addresses.erase(p.id);
  }
}

// ---- routes ------------------------------------------------------------------------------------

/// The recorded route of `party` in `t`, as an add (kept for a party whose install failed).
std::optional<ops::RouteChange> recorded_route(const ops::RouteTable& t, long party, const std::string& domain) {
  ops::RouteChange c;
  c.party = party;
  c.domain = domain;
  bool any = false;
  for (const auto& r : t.sni)
    if (r.party == party) c.tunnel = r.tunnel, any = true;
  for (const auto& r : t.nginx)
    if (r.party == party) {
      if (!r.proxy.empty()) c.proxy = r.proxy.front();
      if (!r.fateflow.empty()) c.fateflow = r.fateflow.front();
      any = true;
    }
  for (const auto& r : t.rollsite)
    if (r.party == party) c.rollsite = r.address, any = true;
  return any ? std::optional<ops::RouteChange>(c) : std::nullopt;
}

void step_routes(Run& run, const Federation& f, const std::vector<ops::RouteOp>& extra) {
  const Exchange& e = f.exchange;
  Step* st = nullptr;
  try {
    ops::ReloadOptions ro = run.reload_for(e);
    kube::Client& c = run.clusters.get(e.context);
    auto latest = release::Store(c, e.namespace_).latest(e.name);
    if (!latest) {
      run.step("routes", "transaction", "every party's route, once the Exchange is installed");
      if (!run.r.dry_run) run.r.steps.back().outcome = "skipped";
      return;
    }
    ops::ExchangeRecord rec = ops::load_exchange_record(ro, e.name);
    ops::RouteTable before = ops::read_routes(yaml::parse(rec.spec_text, rec.label), rec.label);
    ops::RouteTxnChange change;
    change.spec_label = "the Exchange's spec";
    change.recorded = ops::RecordedRoutes::Replace;
    std::string who;
    if (extra.empty()) {
      change.spec_text = exchange_base_text(f);
      for (const auto& p : f.parties) {
        auto it = run.r.addresses.find(p.id);
        if (it != run.r.addresses.end() && !run.failed_parties.count(p.id)) {
          change.ops.push_back(ops::RouteOp::adding(party_route(f, it->second)));
        } else if (auto kept = recorded_route(before, p.id, f.domain)) {
          change.ops.push_back(ops::RouteOp::adding(*kept));  // its install failed: its route stays as it was
        }
      }
    } else {
      change.ops = extra;
    }
    for (const auto& op : change.ops) who += (who.empty() ? "" : ", ") + std::to_string(op.party);
    change.description = run.o.title + ": routes" + (who.empty() ? std::string() : " of " + who);
    ops::RouteTxnPlan plan = ops::plan_route_txn(rec, change);
    for (const auto& d : plan.diff) run.r.route_diff.push_back(std::string(1, d.op) + " " + d.text);
    if (!plan.changed()) {
      // nothing to change: prove the pods run the recorded routes, and converge them when not
      auto cluster = ops::kube_exchange_cluster(c);
      ops::LiveReport live = ops::read_live_routes(*cluster, ops::render_route_configmaps(rec.spec_text, rec.label, e.namespace_), ro);
      if (live.in_sync()) {
        run.r.steps.push_back(Step{"routes", "none", rec.label + ": every pod runs the recorded routes", "unchanged", ""});
        return;
      }
      std::string drift;
      for (const auto& l : ops::live_report_lines(live)) drift += (drift.empty() ? "" : "; ") + l;
      st = &run.step("routes", "reload", "the pods drifted from " + rec.label + ": " + drift);
    } else {
      size_t n = run.r.route_diff.size();
      st = &run.step("routes", "transaction",
                     std::to_string(n) + " route change" + (n == 1 ? "" : "s") + " (below) on " + rec.label);
    }
    if (run.r.dry_run) return;
    ops::RouteTxnReport rep = ops::run_route_txn(plan, ro);
    st->detail += " -> " + rep.outcome +
                  (rep.recorded_revision ? " (release " + e.name + " revision " + std::to_string(rep.recorded_revision) + ")" : "");
    for (const auto& pod : rep.forward.pods)
      if (pod.component == "traffic-server") st->detail += "; " + pod.pod + ": " + pod.confirmed;
  } catch (const ops::RouteTxnFailure& x) {
    if (!st) st = &run.step("routes", "transaction", "");
    run.fail(*st, x.what());
  } catch (const Error& x) {
    if (!st) st = &run.step("routes", "transaction", "");
    run.fail(*st, x.what());
  }
}

// ---- check -------------------------------------------------------------------------------------

void step_check(Run& run, const Federation& f, const std::optional<ExchangeAddress>& ex) {
  if (!run.o.check) return;
  if (run.r.dry_run) {
    run.step("connectivity", "check", "every pair through the Exchange" +
                                   (run.o.check_only.empty() ? std::string() : " involving the new party"));
    return;
  }
  if (!ex) {
    run.r.steps.push_back(Step{"connectivity", "check", "", "skipped", "the Exchange's address is not known"});
    return;
  }
  Step& st = run.step("connectivity", "check", "");
  std::map<long, std::string> down;
  for (const auto& s : run.r.steps)
    for (long id : run.failed_parties)
      if (s.site == "party " + std::to_string(id) && s.outcome == "failed") down[id] = s.action + " failed";
  for (long id : run.failed_parties) down.emplace(id, "it failed");
  Connectivity now = check_pairs(f, *ex, run.r.addresses, run.o.check_only, run.o.check_timeout, down);
  int good = 0;
  for (const auto& p : now.pairs) good += p.ok;
  st.detail = std::to_string(good) + "/" + std::to_string(now.pairs.size()) + " pairs pass through the Exchange at " + ex->str(f);
  try {
    kube::Client& c = run.clusters.get(f.exchange.context);
    run.r.check = store_results(c, f, load_results(c, f), now);
  } catch (const Error& x) {
    log::warn("cannot store the check's results in {}: {}", results_configmap(f), x.what());
    run.r.check = now;
  }
  if (!now.ok()) {
    std::string bad;
    for (const auto& p : now.pairs)
      if (!p.ok) bad += (bad.empty() ? "" : "; ") + std::to_string(p.from) + " -> " + std::to_string(p.to) + ": " + p.hop + ": " + p.detail;
    run.fail(st, bad);
  }
}

std::vector<PartyAddress> discovered_in_order(const Federation& f, const std::map<long, PartyAddress>& m) {
  std::vector<PartyAddress> v;
  for (const auto& p : f.parties) {
    auto it = m.find(p.id);
    if (it != m.end()) v.push_back(it->second);
  }
  return v;
}

/// Addresses of the parties already running, before anything changes (the Exchange is
/// installed or upgraded with the routes known so far).
void discover_running(Run& run) {
  for (const auto& p : run.f.parties) {
    try {
      kube::Client& c = run.clusters.get(p.context);
      if (!release::Store(c, p.namespace_).latest(p.name)) continue;
      if (auto a = discover_party(c, run.f, p)) run.r.addresses[p.id] = *a;
    } catch (const Error& e) {
      log::debug("party {}: {}", p.id, e.what());
    }
  }
}

}  // namespace

UpReport up(const Federation& f, const UpOptions& o) {
  UpReport r;
  r.dry_run = o.dry_run;
  Run run{f, o, r, Clusters(o.kubeconfig), {}};
  step_certificates(run);
  discover_running(run);
  r.exchange = step_exchange(run, discovered_in_order(f, r.addresses));
  bool exchange_failed = r.failed() && !r.exchange;
  for (const auto& p : f.parties) {
    if (exchange_failed) {
      r.steps.push_back(Step{"party " + std::to_string(p.id), "install or upgrade", "", "skipped", "the Exchange failed"});
      continue;
    }
    step_party(run, f, p, r.exchange);
  }
  if (!exchange_failed) step_routes(run, f, {});
  step_check(run, f, r.exchange);
  return r;
}

UpReport remove_party(const Federation& f, long id, const UpOptions& o, bool purge) {
  const Party* gone = f.party(id);
  if (!gone) throw invalid(f.file + ": party " + std::to_string(id) + " is not a member (members: " + f.member_list() + ")");
  Federation rest = f;
  rest.parties.clear();
  for (const auto& p : f.parties)
    if (p.id != id) rest.parties.push_back(p);
  UpReport r;
  r.dry_run = o.dry_run;
  Run run{rest, o, r, Clusters(o.kubeconfig), {}};
  // 1. its routes leave the Exchange first (one transaction)
  {
    Step* st = nullptr;
    try {
      kube::Client& c = run.clusters.get(f.exchange.context);
      auto latest = release::Store(c, f.exchange.namespace_).latest(f.exchange.name);
      bool routed = false;
      if (latest) {
        ops::RouteTable t = ops::read_routes(yaml::parse(latest->spec, "the Exchange's record"), "the Exchange's record");
        routed = recorded_route(t, id, f.domain).has_value();
      }
      if (routed) step_routes(run, rest, {ops::RouteOp::removing(id)});
      else r.steps.push_back(Step{"routes", "none", "the Exchange routes no party " + std::to_string(id), "unchanged", ""});
    } catch (const Error& x) {
      if (!st) st = &run.step("routes", "transaction", "");
      run.fail(*st, x.what());
    }
  }
  // 2. the parties whose own tables name it
  std::optional<ExchangeAddress> ex;
  try {
    ex = discover_exchange(run.clusters.get(f.exchange.context), f);
  } catch (const Error& x) {
    run.fail(run.step("the Exchange", "reach", ctx_name(f.exchange)), x.what());
  }
  for (const auto& p : rest.parties)
    if (names_peers(rest, p)) step_party(run, rest, p, ex);
  // 3. uninstall it (PVCs kept unless purge)
  std::string label = "party " + std::to_string(id);
  try {
    kube::Client& c = run.clusters.get(gone->context);
    if (release::Store(c, gone->namespace_).latest(gone->name)) {
      Step& st = run.step(label, "uninstall",
                          gone->namespace_ + "/" + gone->name + " in " + ctx_name(*gone) + (purge ? " (with its PVCs)" : " (PVCs kept)"));
      if (!o.dry_run && !r.failed()) {
        ops::UninstallResult u = ops::uninstall(c, gone->namespace_, gone->name, purge, o.timeout);
        st.detail += ": " + std::to_string(u.deleted.size()) + " objects deleted, " + std::to_string(u.kept.size()) + " kept";
      } else if (!o.dry_run) {
        st.outcome = "skipped";
        st.error = "an earlier step failed; the party stays installed";
      }
    } else {
      r.steps.push_back(Step{label, "none", "not installed", "unchanged", ""});
    }
  } catch (const Error& x) {
    run.fail(run.step(label, "uninstall", ctx_name(*gone)), x.what());
  }
  // 4. its pairs leave the stored check
  if (!o.dry_run) {
    try {
      kube::Client& c = run.clusters.get(f.exchange.context);
      r.check = store_results(c, rest, load_results(c, f), Connectivity{});
    } catch (const Error& x) {
      log::warn("cannot update {}: {}", results_configmap(f), x.what());
    }
  }
  r.exchange = ex;
  return r;
}

YAML::Node up_report_yaml(const UpReport& r) {
  YAML::Node n(YAML::NodeType::Map);
  n["dryRun"] = r.dry_run;
  n["changed"] = r.changed();
  n["ok"] = r.ok();
  n["steps"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& s : r.steps) {
    YAML::Node x(YAML::NodeType::Map);
    x["site"] = yaml::str(s.site);
    x["action"] = yaml::str(s.action);
    x["detail"] = yaml::str(s.detail);
    x["outcome"] = yaml::str(s.outcome);
    if (!s.error.empty()) x["error"] = yaml::str(s.error);
    n["steps"].push_back(x);
  }
  n["routeDiff"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& d : r.route_diff) n["routeDiff"].push_back(yaml::str(d));
  n["addresses"] = YAML::Node(YAML::NodeType::Map);
  for (const auto& [id, a] : r.addresses) n["addresses"][std::to_string(id)] = yaml::str(a.str());
  if (r.check) n["check"] = connectivity_yaml(*r.check);
  return n;
}

std::string up_report_text(const UpReport& r) {
  std::string o;
  for (const auto& s : r.steps) {
    if (s.outcome == "unchanged" && s.action == "none") {
      o += "  = " + s.site + ": " + s.detail + "\n";
      continue;
    }
    std::string mark = s.outcome == "failed" ? "!" : s.outcome == "skipped" ? "-" : s.outcome == "planned" ? "~" : "+";
    o += "  " + mark + " " + s.site + ": " + s.action + (s.detail.empty() ? "" : " " + s.detail) +
         (s.outcome == "planned" || s.outcome == "done" ? "" : " [" + s.outcome + "]") + "\n";
    if (!s.error.empty()) o += "      " + s.error + "\n";
  }
  if (!r.route_diff.empty()) {
    o += "route changes:\n";
    for (const auto& d : r.route_diff) o += "  " + d + "\n";
  }
  return o;
}

}  // namespace fatectl::federation
