#include "fatectl/plan/plan.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/kube/api.h"

namespace fatectl::plan {
namespace {

using kube::F;

/// kube::list, with a 403 turned into a problem that says what goes unchecked.
bool try_list(kube::Client& c, const std::string& av, const std::string& kind, const std::string& ns,
              std::vector<YAML::Node>& out, std::vector<std::string>& problems, const std::string& unchecked) {
  try {
    out = kube::list(c, av, kind, ns);
    return true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unreachable || std::strstr(e.what(), "403") == nullptr) throw;
    problems.push_back(std::string(e.what()) + " — " + unchecked);
    return false;
  }
}

/// Requests (or limits) of a live pod: containers summed, init containers at their largest, plus
/// overhead.
ResourceList live_pod_requests(const YAML::Node& pod, const char* which = "requests") {
  ResourceList sum, init;
  for (const char* list : {"containers", "initContainers"})
    for (const auto& c : F(pod)["spec"][list])
      for (const auto& kv : F(c)["resources"][which]) {
        std::string r = kv.first.Scalar();
        auto v = parse_resource(r, kv.second.IsScalar() ? kv.second.Scalar() : "");
        if (!v) continue;
        if (std::strcmp(list, "containers") == 0) sum[r] = add_sat(sum[r], *v);
        else init[r] = std::max(init[r], *v);
      }
  for (const auto& [r, v] : init) sum[r] = std::max(sum[r], v);
  for (const auto& kv : F(pod)["spec"]["overhead"])
    if (auto v = parse_resource(kv.first.Scalar(), kv.second.IsScalar() ? kv.second.Scalar() : ""))
      sum[kv.first.Scalar()] = add_sat(sum[kv.first.Scalar()], *v);
  return sum;
}

NodeState node_state(const YAML::Node& n) {
  NodeState s;
  s.name = F(n)["metadata"]["name"].str();
  s.labels = labels_of(F(n)["metadata"]["labels"]);
  s.unschedulable = F(n)["spec"]["unschedulable"].str() == "true";
  for (const auto& t : F(n)["spec"]["taints"]) s.taints.push_back({F(t)["key"].str(), F(t)["value"].str(), F(t)["effect"].str()});
  for (const auto& c : F(n)["status"]["conditions"])
    if (F(c)["type"].str() == "Ready") s.ready = F(c)["status"].str() == "True";
  F alloc = F(n)["status"]["allocatable"] ? F(n)["status"]["allocatable"] : F(n)["status"]["capacity"];
  for (const auto& kv : alloc)
    if (auto v = parse_resource(kv.first.Scalar(), kv.second.IsScalar() ? kv.second.Scalar() : ""))
      s.allocatable[kv.first.Scalar()] = *v;
  return s;
}

/// True when a live pod belongs to one of the party's workloads (re-planning an installed party).
bool own_pod(const YAML::Node& pod, const Workloads& w, const std::string& ns) {
  if (F(pod)["metadata"]["namespace"].str() != ns) return false;
  Labels l = labels_of(F(pod)["metadata"]["labels"]);
  for (const auto& s : w.sets) {
    YAML::Node sel(YAML::NodeType::Map);
    sel["matchLabels"] = s.selector;
    if (s.selector && s.selector.size() > 0 && selector_matches(sel, l)) return true;
  }
  return false;
}

std::string list_names(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

std::vector<const Placement*> ClusterPlan::pending() const {
  std::vector<const Placement*> out;
  for (const auto& p : placements)
    if (p.node.empty()) out.push_back(&p);
  return out;
}

bool Plan::fits() const {
  return cluster.pending().empty() && cluster.storage.empty() && cluster.refusals.empty();
}

size_t Plan::advice() const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(), [](const Finding& f) { return f.level == Level::Advice; }));
}

Plan make_offline(const spec::ClusterSpec& spec, const std::vector<kube::Manifest>& objects, const Options& o) {
  Plan p;
  p.file = spec.file;
  p.name = spec.name;
  p.namespace_ = spec.namespace_;
  p.chart = spec.chart_name + " " + spec.chart_version;
  p.data_size = o.data_size_text;
  p.workloads = read_workloads(objects, spec);
  p.totals = totals(p.workloads);
  auto r = check_rules(o.rules ? *o.rules : builtin_rules(), RuleInput{spec, p.workloads, o.data_size});
  p.findings = std::move(r.findings);
  p.notes = std::move(r.notes);
  return p;
}

Plan make(kube::Client& c, const spec::ClusterSpec& spec, const std::vector<kube::Manifest>& objects, const Options& o) {
  Plan p = make_offline(spec, objects, o);
  p.offline = false;
  ClusterPlan& cp = p.cluster;
  const std::string& ns = spec.namespace_;

  // What the namespace's admission does to the party's objects.
  Workloads eff = p.workloads;
  std::vector<YAML::Node> lrs, quotas, pvcs, classes;
  try_list(c, "v1", "LimitRange", ns, lrs, cp.problems, "LimitRange defaults and limits not checked");
  try_list(c, "v1", "ResourceQuota", ns, quotas, cp.problems, "ResourceQuota not checked");
  bool pvcs_ok = try_list(c, "v1", "PersistentVolumeClaim", ns, pvcs, cp.problems, "existing volumes not taken into account");
  bool classes_ok = try_list(c, "storage.k8s.io/v1", "StorageClass", "", classes, cp.problems, "StorageClasses not checked");
  apply_limit_range_defaults(eff, lrs);

  QuotaContext qctx;
  std::set<std::string> class_names;
  for (const auto& sc : classes) {
    std::string name = F(sc)["metadata"]["name"].str();
    bool def = F(sc)["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"].str() == "true";
    class_names.insert(name);
    if (def && qctx.default_class.empty()) qctx.default_class = name;
    cp.classes.push_back(name + (def ? " (default)" : ""));
  }
  std::map<std::string, std::string> pvc_phase;
  for (const auto& v : pvcs) {
    std::string name = F(v)["metadata"]["name"].str();
    pvc_phase[name] = F(v)["status"]["phase"].str();
    qctx.existing["PersistentVolumeClaim"].insert(name);
  }
  // Objects the quotas count that already exist are not charged again.
  std::set<std::string> hard_keys;
  for (const auto& q : quotas) {
    for (const auto& kv : F(q)["spec"]["hard"]) hard_keys.insert(kv.first.Scalar());
    for (const auto& kv : F(q)["status"]["hard"]) hard_keys.insert(kv.first.Scalar());
  }
  std::set<std::pair<std::string, std::string>> kinds;
  for (const auto& m : objects) kinds.insert({m.ref().api_version, m.ref().kind});
  for (const auto& [av, kind] : kinds) {
    if (kind == "PersistentVolumeClaim" || kind == "Namespace") continue;
    bool counted = false;
    for (const auto& k : count_keys(av, kind)) counted = counted || hard_keys.count(k);
    if (kind == "Service") counted = counted || hard_keys.count("services.nodeports") || hard_keys.count("services.loadbalancers");
    if (!counted) continue;
    std::vector<YAML::Node> items;
    if (try_list(c, av, kind, ns, items, cp.problems, kind + " counts of the quota not checked"))
      for (const auto& it : items) qctx.existing[kind].insert(F(it)["metadata"]["name"].str());
  }

  // Nodes and what is already requested on them.
  std::vector<YAML::Node> nodes, pods;
  bool nodes_ok = try_list(c, "v1", "Node", "", nodes, cp.problems, "placement not checked");
  bool pods_ok = nodes_ok && try_list(c, "v1", "Pod", "", pods, cp.problems, "placement not checked");
  if (!pods_ok)  // the party's own running pods still matter to its quota
    try_list(c, "v1", "Pod", ns, pods, cp.problems, "the quota usage of the party's running pods is unknown");
  for (const auto& n : nodes) cp.nodes.push_back(node_state(n));
  std::sort(cp.nodes.begin(), cp.nodes.end(), [](const NodeState& a, const NodeState& b) { return a.name < b.name; });
  for (const auto& pod : pods) {
    std::string phase = F(pod)["status"]["phase"].str();
    if (phase == "Succeeded" || phase == "Failed") continue;
    if (own_pod(pod, p.workloads, ns)) {
      // Its quota usage: the install replaces it rather than adding to it.
      for (const auto& [r, v] : live_pod_requests(pod)) {
        if (r == "cpu" || r == "memory") qctx.own_usage[r] = add_sat(qctx.own_usage[r], v);
        qctx.own_usage["requests." + r] = add_sat(qctx.own_usage["requests." + r], v);
      }
      for (const auto& [r, v] : live_pod_requests(pod, "limits"))
        qctx.own_usage["limits." + r] = add_sat(qctx.own_usage["limits." + r], v);
      for (const char* k : {"pods", "count/pods"}) qctx.own_usage[k] += 1;
      continue;
    }
    std::string node = F(pod)["spec"]["nodeName"].str();
    if (node.empty()) continue;
    for (auto& n : cp.nodes)
      if (n.name == node) {
        ResourceList req = live_pod_requests(pod);
        for (const auto& [r, v] : req) n.requested[r] = add_sat(n.requested[r], v);
        for (const auto& [r, v] : nonzero_requests(req)) n.nonzero[r] = add_sat(n.nonzero[r], v);
        ++n.pods;
      }
  }

  std::set<std::string> refused;
  for (const auto& r : limit_range_refusals(eff, lrs)) {
    cp.refusals.push_back(r);
    for (const auto& s : eff.sets)
      if (r.object == "pod " + s.pod_name(0))
        for (int i = 0; i < s.replicas; ++i) refused.insert(s.pod_name(i));
  }
  for (const auto& r : quota_refusals(eff, objects, quotas, qctx, &refused)) cp.refusals.push_back(r);

  // Volumes: a claim the cluster cannot provision keeps its pods unschedulable.
  std::set<std::string> unbound;
  if (classes_ok) {
    auto check_claim = [&](const Volume& v, const std::string& claim) {
      if (v.existing) {
        if (pvcs_ok && !pvc_phase.count(claim)) {
          cp.storage.push_back({claim, v.component, "PVC " + claim + " (the existingClaim of " + v.component +
                                                        ") does not exist in namespace " + ns + ": create it first"});
          unbound.insert(claim);
        }
        return;
      }
      auto it = pvc_phase.find(claim);
      if (it != pvc_phase.end() && it->second == "Bound") return;
      std::string why;
      if (v.class_set && v.storage_class.empty()) {
        cp.problems.push_back("PVC " + claim + " names no StorageClass (storageClassName: \"\"): it binds only to a "
                              "PersistentVolume made beforehand; not checked");
        return;
      }
      std::string have = cp.classes.empty() ? "none" : list_names(cp.classes);
      if (v.class_set && !class_names.count(v.storage_class))
        why = "StorageClass " + v.storage_class + " does not exist (the cluster has: " + have + ")";
      else if (!v.class_set && qctx.default_class.empty())
        why = "it names no StorageClass and the cluster has no default one (it has: " + have + ")";
      if (why.empty()) return;
      cp.storage.push_back({claim, v.component, "PVC " + claim + " would stay Pending: " + why + "; set " + v.spec_path +
                                                    ".storageClass to one the cluster has"});
      unbound.insert(claim);
    };
    for (const auto& s : eff.sets)
      for (size_t vi : s.volumes) {
        const Volume& v = eff.volumes[vi];
        if (v.template_name.empty()) continue;
        for (int i = 0; i < s.replicas; ++i) check_claim(v, v.template_name + "-" + s.name + "-" + std::to_string(i));
      }
    for (const auto& v : eff.volumes)
      if (v.template_name.empty()) check_claim(v, v.claim);
  }

  if (!nodes_ok || !pods_ok) return p;
  cp.checked = true;
  std::vector<PodRequest> reqs;
  std::vector<Placement> refused_placements;
  for (const auto& s : eff.sets)
    for (int i = 0; i < s.replicas; ++i) {
      PodRequest r;
      r.set = &s;
      r.index = i;
      r.name = s.pod_name(i);
      r.requests = s.pod_requests();
      if (refused.count(r.name)) continue;
      for (const auto& claim : s.claims_of(i))
        if (unbound.count(claim)) r.blocked = "pod has unbound immediate PersistentVolumeClaims (" + claim + ")";
      reqs.push_back(r);
    }
  cp.placements = place(cp.nodes, reqs);
  // Pods admission refuses are never created: they count as not placed.
  for (const auto& s : eff.sets)
    for (int i = 0; i < s.replicas; ++i)
      if (refused.count(s.pod_name(i))) {
        std::string why;
        for (const auto& r : cp.refusals)
          if (r.component == s.component && why.empty()) why = r.message;
        cp.placements.push_back({s.pod_name(i), &s, "", "not created: " + why});
      }
  // Placement points PodSet pointers at `eff`; re-point them at the plan's own copy, which outlives it.
  for (auto& pl : cp.placements)
    for (size_t k = 0; k < eff.sets.size(); ++k)
      if (pl.set == &eff.sets[k]) pl.set = &p.workloads.sets[k];
  for (auto& n : cp.nodes)
    for (auto& [set, i] : n.placed)
      for (size_t k = 0; k < eff.sets.size(); ++k)
        if (set == &eff.sets[k]) set = &p.workloads.sets[k];

  // One pod per node for the spread rules, now that the pods have nodes.
  std::string chart = spec.is_exchange() ? "fate-exchange" : "fate";
  for (const auto& rule : o.rules ? *o.rules : builtin_rules()) {
    if (rule.check != "spread" || (rule.chart != "*" && rule.chart != chart)) continue;
    for (const auto& s : p.workloads.sets) {
      if (!rule.matches(s.component)) continue;
      std::map<std::string, std::vector<std::string>> by_node;
      for (const auto& pl : cp.placements)
        if (pl.set == &s && !pl.node.empty()) by_node[pl.node].push_back(pl.pod);
      for (const auto& [node, names] : by_node)
        if (names.size() > 1) p.findings.push_back(spread_finding(rule, spec, s, names, node));
    }
  }
  std::stable_sort(p.findings.begin(), p.findings.end(), [](const Finding& a, const Finding& b) {
    if (a.diag.where.line != b.diag.where.line) return a.diag.where.line < b.diag.where.line;
    return a.diag.where.column < b.diag.where.column;
  });
  return p;
}

void check_before_install(kube::Client& c, const spec::ClusterSpec& spec, const std::vector<kube::Manifest>& objects) {
  Plan p = make(c, spec, objects, Options{});
  for (const auto& pr : p.cluster.problems) log::warn("plan: {}", pr);
  if (p.advice() > 0)
    log::info("plan: {} piece(s) of sizing advice from the reference architecture (fatectl cluster plan -f {})",
              p.advice(), spec.file);
  if (!p.cluster.checked && p.cluster.storage.empty() && p.cluster.refusals.empty()) {
    log::warn("plan: could not read the cluster's nodes and pods, so placement was not checked; installing anyway");
    return;
  }
  if (p.fits()) {
    log::info("plan: all {} pods fit on {} node(s)", p.cluster.placements.size(), p.cluster.nodes.size());
    return;
  }
  size_t pending = p.cluster.pending().size();
  for (const auto* pl : p.cluster.pending()) log::error("plan: {} would stay Pending: {}", pl->pod, pl->reason);
  for (const auto& s : p.cluster.storage) log::error("plan: {}", s.message);
  for (const auto& r : p.cluster.refusals) log::error("plan: {} would be refused: {}", r.object, r.message);
  std::string what = pending ? std::to_string(pending) + " pod(s) cannot be placed" : "the party does not fit";
  throw failed("the plan says " + what + " in namespace " + spec.namespace_ +
               "; nothing was applied (`fatectl cluster plan -f " + spec.file +
               "` shows every node; --skip-plan installs anyway)");
}

}  // namespace fatectl::plan
