#pragma once
// `fatectl cluster plan`: what a party asks (per module and in sum), which of the reference
// architecture's rules its spec breaks, and, against a cluster, where its pods would land, which
// stay Pending and why, which StorageClass is missing and what the namespace's
// ResourceQuota/LimitRange refuse. `cluster install` runs the same check first.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "fatectl/kube/client.h"
#include "fatectl/plan/admission.h"
#include "fatectl/plan/rules.h"
#include "fatectl/plan/schedule.h"
#include "fatectl/plan/workload.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::plan {

/// Flags of `cluster plan`.
struct Options {
  int64_t data_size = 0;         ///< --data-size in bytes (0 = not given)
  std::string data_size_text;    ///< as given ("200Gi")
  const std::vector<Rule>* rules = nullptr;  ///< nullptr = the shipped table
};

/// A PVC whose StorageClass the cluster does not have (or that needs a default class it lacks).
struct StorageProblem {
  std::string claim;
  std::string component;
  std::string message;
};

/// The cluster side of a plan.
struct ClusterPlan {
  bool checked = false;                 ///< placement was simulated
  std::vector<std::string> problems;    ///< what could not be read (RBAC), so what was not checked
  std::vector<NodeState> nodes;         ///< after placement, sorted by name
  std::vector<Placement> placements;    ///< every party pod, in apply order
  std::vector<StorageProblem> storage;  ///< missing StorageClasses
  std::vector<Refusal> refusals;        ///< ResourceQuota / LimitRange refusals
  std::vector<std::string> classes;     ///< the cluster's StorageClasses ("standard (default)")
  /// Pods that will stay Pending (placements without a node).
  std::vector<const Placement*> pending() const;
};

/// The whole plan.
struct Plan {
  std::string file, name, namespace_, chart;
  bool offline = true;
  std::string data_size;
  Workloads workloads;
  std::vector<Totals> totals;
  std::vector<Finding> findings;
  std::vector<std::string> notes;
  ClusterPlan cluster;
  /// False when a pod cannot be placed, a StorageClass is missing or admission refuses an object.
  bool fits() const;
  /// Findings of level advice (what --strict fails on).
  size_t advice() const;
};

/// Offline plan of rendered objects (what the spec asks and the rules it breaks).
Plan make_offline(const spec::ClusterSpec& spec, const std::vector<kube::Manifest>& objects, const Options& o);
/// Offline plan plus the cluster check through `c`: nodes, existing requests, StorageClasses,
/// ResourceQuota and LimitRange of the spec's namespace. Unreadable parts (403) become problems.
Plan make(kube::Client& c, const spec::ClusterSpec& spec, const std::vector<kube::Manifest>& objects, const Options& o);

/// The plan as a YAML/JSON document (`-o yaml|json`).
YAML::Node to_node(const Plan& p);
/// The plan as text: totals table, advice, notes, then per node and the Pending pods.
std::string to_text(const Plan& p);

/// What `cluster install` runs before applying: throws Failed listing the pods that cannot be
/// placed (and why) unless the party fits; logs a warning and returns when the cluster could not
/// be read well enough to tell.
void check_before_install(kube::Client& c, const spec::ClusterSpec& spec, const std::vector<kube::Manifest>& objects);

}  // namespace fatectl::plan
