#pragma once
// Applying a set of objects in dependency order (independent objects concurrently) and
// waiting for them to become ready, with the reason when something is stuck.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "fatectl/kube/api.h"

namespace fatectl::kube {

/// An object to apply, with the module it belongs to (for progress and status per module).
struct Manifest {
  std::string module;
  YAML::Node node;
  ObjectRef ref() const { return ObjectRef::of(node); }
};

/// Apply stage of a kind: 0 Namespace/CRD/StorageClass, 1 ServiceAccount/Role/ClusterRole/PSP,
/// 2 bindings, 3 Secret/ConfigMap, 4 PV/PVC, 5 Service, 6 workloads, 7 Ingress and the rest.
int apply_stage(const std::string& kind);

/// Sorts manifests into apply order (stable within a stage).
std::vector<Manifest> in_apply_order(std::vector<Manifest> m);

/// Settings for apply_all.
struct ApplyAllOptions {
  ApplyOptions apply;
  unsigned concurrency = 8;
  /// Called (from worker threads, serialised) after each object is applied.
  std::function<void(const Manifest&, const YAML::Node& result)> on_applied;
};

/// Applies every manifest stage by stage, the objects of a stage concurrently. Stops after the
/// failing stage and throws the first error, naming the object. Returns the server's objects
/// in the input order.
std::vector<YAML::Node> apply_all(Client& c, const std::vector<Manifest>& manifests, const ApplyAllOptions& o = {});

/// Readiness of one live object: whether it is ready, "1/2"-style progress, and why not.
struct Readiness {
  bool ready = true;
  std::string progress;  ///< e.g. "2/3 ready", "Bound", "Pending"
  std::string reason;    ///< set when not ready: from the object itself
};

/// Kinds wait_ready() waits for: Deployment, StatefulSet, DaemonSet, PersistentVolumeClaim,
/// Service of type LoadBalancer, Job.
bool waits_for(const YAML::Node& obj);
/// Readiness from the object's status alone (no API calls).
Readiness readiness(const YAML::Node& live);
/// Why a not-ready object is stuck, from its pods, PVCs, storage classes and container logs:
/// "pod python-0: ImagePullBackOff: image federatedai/python:1.11.2 not found", ...
std::string explain(Client& c, const YAML::Node& live);

/// Settings for wait_ready.
struct WaitOptions {
  std::chrono::seconds timeout{30 * 60};
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds explain_every{3000};  ///< how often to look into pods for reasons
  /// Called with one line per module ("mysql ready", "python 0/1: ImagePullBackOff ...").
  std::function<void(const std::vector<std::string>& lines)> on_progress;
};

/// Waits until every manifest that waits_for() is ready. On timeout throws Timeout listing each
/// object that is not ready and why.
void wait_ready(Client& c, const std::vector<Manifest>& manifests, const WaitOptions& o);

/// Waits until the objects are gone (404). On timeout throws Timeout naming those left.
void wait_gone(Client& c, const std::vector<ObjectRef>& refs, std::chrono::seconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(500));

}  // namespace fatectl::kube
