#pragma once
// What the namespace's admission does to the party's objects before any scheduling: LimitRange
// defaults and min/max checks, and ResourceQuota charging, with kube-apiserver's own messages.
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "fatectl/plan/workload.h"

namespace fatectl::plan {

/// An object the API server would refuse: `pods "python-0" is forbidden: exceeded quota: ...`.
struct Refusal {
  std::string object;     ///< "pod python-0", "PersistentVolumeClaim python-data-python-0"
  std::string component;  ///< fateMoudle of the workload ("" for other objects)
  std::string message;    ///< the API server's message
};

/// Applies the namespace's LimitRanges (items of type Container: default, defaultRequest) to the
/// containers of `w`, as the LimitRanger admission plugin mutates each pod.
void apply_limit_range_defaults(Workloads& w, const std::vector<YAML::Node>& limit_ranges);
/// The LimitRanger's refusals of the party's pods (Container and Pod min/max/maxLimitRequestRatio)
/// and PVCs (PersistentVolumeClaim min/max storage); one per workload or volume.
std::vector<Refusal> limit_range_refusals(const Workloads& w, const std::vector<YAML::Node>& limit_ranges);

/// What quota admission needs to know about the namespace beyond the quotas themselves.
struct QuotaContext {
  std::string default_class;                       ///< the cluster's default StorageClass ("" = none)
  std::map<std::string, std::set<std::string>> existing;  ///< kind -> names already in the namespace
  ResourceList own_usage;                          ///< usage of the party's pods already running (re-install)
};

/// The quota resource names an object of `kind` (apiVersion `api_version`) counts towards
/// ("services", "count/services", "configmaps", "count/deployments.apps", ...).
std::vector<std::string> count_keys(const std::string& api_version, const std::string& kind);

/// Charges the party's objects in apply order against the namespace's ResourceQuotas (status.hard,
/// status.used) and returns what the ResourceQuota admission plugin would refuse. Objects already
/// in the namespace are not charged again; the party's running pods are replaced, not added.
/// `refused_pods` (optional): pods refused already (skipped, never created), and the ones it refuses.
std::vector<Refusal> quota_refusals(const Workloads& w, const std::vector<kube::Manifest>& objects,
                                    const std::vector<YAML::Node>& quotas, const QuotaContext& ctx,
                                    std::set<std::string>* refused_pods);

/// Quota usage of one pod (pods, cpu, requests.cpu, limits.cpu, memory, ...).
ResourceList pod_usage(const PodSet& s);

}  // namespace fatectl::plan
