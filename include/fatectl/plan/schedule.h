#pragma once
// Placing a party's pods on the cluster's nodes the way kube-scheduler's default profile does:
// the filters (unschedulable, taints/tolerations, nodeSelector and node affinity, requested
// resources and pod count, required pod anti-affinity) with its "0/N nodes are available: ..."
// message, and a score that spreads a workload's pods and prefers the least allocated node.
#include <string>
#include <vector>

#include "fatectl/plan/quantity.h"
#include "fatectl/plan/selector.h"
#include "fatectl/plan/workload.h"

namespace fatectl::plan {

/// A node taint.
struct Taint {
  std::string key, value, effect;
};

/// A node as the scheduler sees it, and what the placement put on it.
struct NodeState {
  std::string name;
  Labels labels;
  std::vector<Taint> taints;
  bool unschedulable = false;
  bool ready = true;
  ResourceList allocatable;  ///< cpu in millicores, memory in bytes, pods, extended resources
  ResourceList requested;    ///< by the pods already bound to it (the party's own excluded)
  int pods = 0;              ///< pods already bound to it (the party's own excluded)
  ResourceList nonzero;      ///< what scoring sees of all its pods: requests, or 100m CPU / 200Mi when unset
  // filled by place():
  ResourceList party;                    ///< requested by the party's pods placed here
  std::vector<std::string> party_pods;   ///< their names
  std::vector<std::pair<const PodSet*, int>> placed;
};

/// One pod of the party to place.
struct PodRequest {
  const PodSet* set = nullptr;
  int index = 0;
  std::string name;
  ResourceList requests;
  std::string blocked;  ///< set when it cannot be scheduled at all (unbound PVCs): the reason
};

/// Where a pod goes, or why it stays Pending.
struct Placement {
  std::string pod;
  const PodSet* set = nullptr;
  std::string node;    ///< "" = Pending
  std::string reason;  ///< the scheduler's message when Pending
};

/// A pod's requests as the scheduler's scoring counts them: a pod without a CPU or memory request
/// counts 100m CPU and 200Mi memory.
ResourceList nonzero_requests(const ResourceList& requests);

/// Places `pods` in order on `nodes` (updating their party fields). Deterministic.
std::vector<Placement> place(std::vector<NodeState>& nodes, const std::vector<PodRequest>& pods);

/// Why `pod` does not fit `node` right now, as the scheduler's filter says it ("Insufficient cpu",
/// "node(s) had untolerated taint {dedicated: gpu}", ...); empty when it fits. Several reasons
/// only from the resources filter.
std::vector<std::string> misfit(const NodeState& node, const PodRequest& pod);

}  // namespace fatectl::plan
