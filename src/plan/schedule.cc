#include "fatectl/plan/schedule.h"

#include <algorithm>
#include <map>

#include "fatectl/kube/api.h"

namespace fatectl::plan {
namespace {

using kube::F;

/// The required pod anti-affinity terms of `set` on kubernetes.io/hostname that select `labels`.
bool anti_affine(const PodSet& set, const Labels& labels) {
  for (const auto& t : F(set.pod)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"])
    if (F(t)["topologyKey"].str() == "kubernetes.io/hostname" && selector_matches(F(t)["labelSelector"], labels))
      return true;
  return false;
}

/// Score of a feasible node: fewer pods of the same workload first (the default topology
/// spreading), then the least allocated (mean free share of CPU and memory, counting pods
/// without requests as the scheduler does), then the name.
struct Score {
  int same = 0;
  double free = 0;
};

Score score(const NodeState& n, const PodRequest& p) {
  Score s;
  for (const auto& [set, i] : n.placed)
    if (set == p.set) ++s.same;
  double sum = 0;
  int k = 0;
  for (const char* r : {"cpu", "memory"}) {
    int64_t alloc = amount(n.allocatable, r);
    if (alloc <= 0) continue;
    int64_t used = add_sat(amount(n.nonzero, r), amount(nonzero_requests(p.requests), r));
    sum += static_cast<double>(alloc - std::min(used, alloc)) / static_cast<double>(alloc);
    ++k;
  }
  s.free = k ? sum / k : 0;
  return s;
}

}  // namespace

ResourceList nonzero_requests(const ResourceList& requests) {
  ResourceList out = requests;
  if (amount(out, "cpu") == 0) out["cpu"] = 100;
  if (amount(out, "memory") == 0) out["memory"] = 200LL << 20;
  return out;
}

std::vector<std::string> misfit(const NodeState& n, const PodRequest& p) {
  const YAML::Node& pod = p.set->pod;
  if (n.unschedulable && !tolerates(pod, "node.kubernetes.io/unschedulable", "", "NoSchedule"))
    return {"node(s) were unschedulable"};
  std::vector<Taint> taints = n.taints;
  if (!n.ready && std::none_of(taints.begin(), taints.end(), [](const Taint& t) { return t.key == "node.kubernetes.io/not-ready"; }))
    taints.push_back({"node.kubernetes.io/not-ready", "", "NoSchedule"});
  for (const auto& t : taints) {
    if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
    if (!tolerates(pod, t.key, t.value, t.effect)) return {"node(s) had untolerated taint {" + t.key + ": " + t.value + "}"};
  }
  if (!node_matches_pod(pod, n.labels, n.name)) return {"node(s) didn't match Pod's node affinity/selector"};
  std::vector<std::string> why;
  int64_t max_pods = n.allocatable.count("pods") ? n.allocatable.at("pods") : 110;
  if (n.pods + static_cast<int64_t>(n.party_pods.size()) + 1 > max_pods) why.push_back("Too many pods");
  for (const auto& [r, v] : p.requests) {
    if (v <= 0 || r == "pods") continue;
    int64_t free = amount(n.allocatable, r) - add_sat(amount(n.requested, r), amount(n.party, r));
    if (v > free) why.push_back("Insufficient " + r);
  }
  if (!why.empty()) return why;
  Labels mine = labels_of(p.set->labels);
  for (const auto& [set, i] : n.placed)
    if (anti_affine(*p.set, labels_of(set->labels)) || anti_affine(*set, mine))
      return {"node(s) didn't match pod anti-affinity rules"};
  return {};
}

std::vector<Placement> place(std::vector<NodeState>& nodes, const std::vector<PodRequest>& pods) {
  std::vector<Placement> out;
  for (const auto& p : pods) {
    Placement pl;
    pl.pod = p.name;
    pl.set = p.set;
    std::string n_nodes = std::to_string(nodes.size());
    if (!p.blocked.empty()) {
      pl.reason = "0/" + n_nodes + " nodes are available: " + p.blocked + ".";
      out.push_back(pl);
      continue;
    }
    if (nodes.empty()) {
      pl.reason = "no nodes available to schedule pods";
      out.push_back(pl);
      continue;
    }
    NodeState* best = nullptr;
    Score best_score;
    std::map<std::string, int> reasons;
    for (auto& n : nodes) {
      auto why = misfit(n, p);
      if (!why.empty()) {
        for (const auto& w : why) ++reasons[w];
        continue;
      }
      Score s = score(n, p);
      if (!best || s.same < best_score.same || (s.same == best_score.same && s.free > best_score.free + 1e-12)) {
        best = &n;
        best_score = s;
      }
    }
    if (!best) {
      std::vector<std::string> parts;
      for (const auto& [w, count] : reasons) parts.push_back(std::to_string(count) + " " + w);
      std::sort(parts.begin(), parts.end());
      std::string joined;
      for (const auto& x : parts) joined += (joined.empty() ? "" : ", ") + x;
      pl.reason = "0/" + n_nodes + " nodes are available: " + joined + ".";
      out.push_back(pl);
      continue;
    }
    for (const auto& [r, v] : p.requests) best->party[r] = add_sat(best->party[r], v);
    for (const auto& [r, v] : nonzero_requests(p.requests)) best->nonzero[r] = add_sat(best->nonzero[r], v);
    best->party_pods.push_back(p.name);
    best->placed.emplace_back(p.set, p.index);
    pl.node = best->name;
    out.push_back(pl);
  }
  return out;
}

}  // namespace fatectl::plan
