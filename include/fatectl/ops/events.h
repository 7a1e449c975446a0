#pragma once
// The namespace's recent Kubernetes Events, attributed to the modules of a release (what
// `kubectl describe` shows under each object), for `cluster status --events` and `cluster describe`.
#include <string>
#include <vector>

#include "fatectl/kube/client.h"
#include "fatectl/release/record.h"

namespace fatectl::ops {

/// One Event (aggregated by the cluster: count and last time), with the module it belongs to.
struct ModuleEvent {
  std::string module;   ///< module of the inventory object, or of the workload owning the pod
  std::string type;     ///< Normal or Warning
  std::string reason;   ///< e.g. BackOff, FailedScheduling, Pulled
  std::string object;   ///< "Pod/mysql-0"
  std::string message;  ///< one line
  std::string last;     ///< RFC 3339 time of the last occurrence
  long count = 1;
};

/// The newest `per_module` Events of each module of `rec`'s inventory (Pods and ReplicaSets are
/// attributed to the StatefulSet/Deployment they belong to), Warnings first then newest first
/// within a module, in the inventory's module order.
std::vector<ModuleEvent> recent_events(kube::Client& c, const release::Record& rec, size_t per_module = 5);

/// "35s", "4m", "2h", "3d" since an RFC 3339 time ("?" when unreadable).
std::string age_of(const std::string& rfc3339);

}  // namespace fatectl::ops
