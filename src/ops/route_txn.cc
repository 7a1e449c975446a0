// The second half of the route transaction: snapshot, reserve, converge, record -- or restore.
#include "fatectl/ops/route_txn.h"

#include <algorithm>

#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/spec/cluster_spec.h"
#include "route_txn_detail.h"

namespace fatectl::ops {
namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep = "; ") {
  std::string o;
  for (auto& s : v) o += (o.empty() ? "" : sep) + s;
  return o;
}


/// Records into the release through PendingRevision.
class KubeRecorder : public RouteRecorder {
 public:
  explicit KubeRecorder(kube::Client& c) : c_(c) {}
  int begin(const RouteTxnPlan& plan) override {
    spec::ClusterSpec sp = spec::parse(plan.new_text, plan.current.label);
    sp.namespace_ = plan.current.ns;
    pending_ = std::make_unique<PendingRevision>(c_, sp, plan.new_text, plan.current.revision, plan.description);
    return pending_->revision();
  }
  void commit() override { pending_->commit(); }
  void abandon() override { pending_->abandon(); }

 private:
  kube::Client& c_;
  std::unique_ptr<PendingRevision> pending_;
};

// Whether a forward run changed anything in the cluster (a failed plain reload did not).
bool touched(const ReloadReport& r) {
  if (!r.applied.empty()) return true;
  for (auto& p : r.pods)
    if (p.reload == "deleted") return true;
  return false;
}

}  // namespace

namespace detail {

// Which route set each pod runs, after a restore failed: compared with both sides.
std::vector<std::string> pod_states(ExchangeCluster& cl, const RouteConfigMaps& previous, const RouteConfigMaps& next,
                                    const std::string& previous_name, const ReloadOptions& o) {
  std::vector<std::string> out;
  try {
    LiveReport prev = read_live_routes(cl, previous, o);
    LiveReport now = read_live_routes(cl, next, o);
    for (auto& c : prev.configmaps) out.push_back(c + " (against " + previous_name + ")");
    for (size_t i = 0; i < prev.pods.size(); ++i) {
      const PodDrift& a = prev.pods[i];
      const PodDrift* b = nullptr;
      for (auto& x : now.pods)
        if (x.pod == a.pod && x.component == a.component) b = &x;
      std::string s = "pod " + a.pod + " (" + a.component + "): ";
      bool prev_file = a.differences.empty(), new_file = b && b->differences.empty();
      if (a.in_sync()) s += "runs the previous routes (" + previous_name + ")";
      else if (b && b->in_sync()) s += "runs the NEW routes";
      else if (prev_file || new_file)
        s += std::string("has the ") + (prev_file ? "previous" : "NEW") + " routes mounted, but " + join(a.state, ", ");
      else s += "has neither route set: " + join(a.differences, ", ");
      out.push_back(s);
    }
    if (prev.pods.empty()) out.push_back("no running exchange pods");
  } catch (const Error& e) {
    out.push_back(std::string("cannot read the pods: ") + e.what());
  }
  return out;
}

// Puts `previous` back after a failed change and fills the report; returns the message tail.
std::string restore(ExchangeCluster& cl, RouteTxnReport& r, const RouteConfigMaps& previous,
                    const RouteConfigMaps& next, const ReloadOptions& o) {
  std::string prev_name = r.plan.current.release.empty() ? "as found" : r.plan.current.label;
  log::warn("restoring the previous routes ({})", prev_name);
  try {
    r.restore = converge(cl, previous, next, o);
    r.outcome = "restored";
    std::vector<std::string> pods;
    for (auto& p : r.restore->pods)
      if (p.ok && p.reload != "deleted" && std::find(pods.begin(), pods.end(), p.pod) == pods.end()) pods.push_back(p.pod);
    return "the previous routes (" + prev_name + ") were restored" +
           (pods.empty() ? std::string("") : " and verified in " + join(pods, ", "));
  } catch (const ReloadFailure& f) {
    r.restore = f.report;
    r.outcome = "inconsistent";
    r.pod_states = pod_states(cl, previous, next, prev_name, o);
    return "restoring the previous routes failed too (" + std::string(f.what()) +
           "). The Exchange now runs mixed routes: " + join(r.pod_states) +
           ". Fix the cause and run `fatectl exchange reload" +
           (r.plan.current.release.empty() ? std::string(" -f SPEC") : " --release " + r.plan.current.release) + "`";
  }
}

}  // namespace detail

RouteTxnReport run_route_txn(ExchangeCluster& cluster, RouteRecorder* recorder, const RouteTxnPlan& plan,
                             const ReloadOptions& o) {
  RouteTxnReport r;
  r.plan = plan;
  RouteConfigMaps target = render_route_configmaps(plan.new_text, plan.label, plan.current.ns);
  RouteConfigMaps previous = read_route_configmaps(cluster, target.name, target.ns);
  bool record = recorder && !plan.current.release.empty() && plan.changed();
  int pending = 0;
  if (record) pending = recorder->begin(plan);  // throws when the release moved on: nothing changed yet
  try {
    r.forward = converge(cluster, target, previous, o);
    if (record) {
      recorder->commit();
      r.recorded_revision = pending;
    }
    r.outcome = plan.changed() ? "applied" : "reloaded";
    return r;
  } catch (const Error& e) {
    if (auto* f = dynamic_cast<const ReloadFailure*>(&e)) r.forward = f->report;
    r.error = e.what();
    std::string msg = (plan.description.empty() ? std::string("exchange reload") : plan.description) + ": " + e.what();
    std::string tail;
    if (!touched(r.forward) && !plan.changed()) {
      r.outcome = "failed";
      tail = "nothing was changed";
    } else {
      tail = detail::restore(cluster, r, previous, target, o);
    }
    if (record) {
      // The new revision is not recorded, whatever the restore did: the record keeps the routes
      // that were meant to run, and the report (and `route list --live`) says what does.
      try {
        recorder->abandon();
        tail += "; the release record is unchanged (" + plan.current.label + ")";
      } catch (const Error& e2) {
        tail += "; the pending revision " + std::to_string(pending) + " could not be removed (" + e2.what() +
                "): roll back with `fatectl cluster rollback " + plan.current.release + " " +
                std::to_string(plan.current.revision) + "`";
      }
    } else if (!plan.current.release.empty()) {
      tail += "; the release record is unchanged (" + plan.current.label + ")";
    }
    throw RouteTxnFailure(e.kind(), msg + "; " + tail, r);
  }
}

RouteTxnReport run_route_txn(const RouteTxnPlan& plan, const ReloadOptions& o) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = o.context;
  kube::Client c(kube::load_config(lo));
  auto cluster = kube_exchange_cluster(c);
  KubeRecorder rec(c);
  return run_route_txn(*cluster, plan.current.release.empty() ? nullptr : &rec, plan, o);
}

// ---- reports ----------------------------------------------------------------------------------

YAML::Node route_plan_yaml(const RouteTxnPlan& p) {
  YAML::Node n(YAML::NodeType::Map);
  if (!p.current.release.empty()) {
    n["release"] = yaml::str(p.current.release);
    n["namespace"] = yaml::str(p.current.ns);
    n["revision"] = p.current.revision;
  }
  auto list = [&](const char* key, const std::vector<std::string>& v) {
    n[key] = YAML::Node(YAML::NodeType::Sequence);
    for (auto& s : v) n[key].push_back(yaml::str(s));
  };
  n["diff"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& d : p.diff) n["diff"].push_back(yaml::str(std::string(1, d.op) + " " + d.text));
  list("changes", p.changes);
  list("kept", p.kept);
  list("dropped", p.dropped);
  list("warnings", p.warnings);
  n["routes"] = routes_to_yaml(p.after);
  return n;
}

std::string route_plan_text(const RouteTxnPlan& p) {
  std::string o;
  for (auto& c : p.changes) o += c + "\n";
  if (!p.kept.empty())
    o += "keeping " + std::to_string(p.kept.size()) + " part" + (p.kept.size() == 1 ? "y's" : "ies'") +
         " routes that " + p.current.label + " has and the spec lacks (--replace-routes drops them): " + join(p.kept) + "\n";
  if (!p.dropped.empty())
    o += "dropping routes that " + p.current.label + " has and the spec lacks: " + join(p.dropped) + "\n";
  if (p.diff.empty()) {
    o += "routes: no change\n";
  } else {
    o += "route changes:\n";
    for (auto& d : p.diff) o += "  " + std::string(1, d.op) + " " + d.text + "\n";
  }
  return o;
}

YAML::Node route_txn_yaml(const RouteTxnReport& r) {
  YAML::Node n = route_plan_yaml(r.plan);
  n["outcome"] = yaml::str(r.outcome);
  if (r.recorded_revision) n["recordedRevision"] = r.recorded_revision;
  n["reload"] = reload_report_yaml(r.forward);
  if (r.restore) n["restore"] = reload_report_yaml(*r.restore);
  if (!r.error.empty()) n["error"] = yaml::str(r.error);
  if (!r.pod_states.empty()) {
    n["podStates"] = YAML::Node(YAML::NodeType::Sequence);
    for (auto& s : r.pod_states) n["podStates"].push_back(yaml::str(s));
  }
  return n;
}

std::string route_txn_text(const RouteTxnReport& r) {
  std::string o = reload_report_text(r.forward);
  if (r.restore) {
    o += "restore:\n" + reload_report_text(*r.restore);
  }
  for (auto& s : r.pod_states) o += s + "\n";
  if (r.recorded_revision)
    o += "recorded as release " + r.plan.current.release + " revision " + std::to_string(r.recorded_revision) +
         " in namespace " + r.plan.current.ns + "\n";
  return o;
}

}  // namespace fatectl::ops
