#pragma once
// What a party asks of a cluster, read from its rendered objects: each workload's pods with
// their CPU/memory requests and limits, scheduling constraints and volumes, and the totals per
// module. Offline: no cluster involved.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "fatectl/plan/quantity.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::plan {

/// One container's requests and limits (after the API server's defaulting: a limit without a
/// request makes the request equal to the limit).
struct Container {
  std::string name;
  bool init = false;
  ResourceList requests;
  ResourceList limits;
};

/// A persistent volume a workload's pods use: a PVC object, or a volumeClaimTemplate (one PVC
/// per replica).
struct Volume {
  std::string module;
  std::string component;     ///< the workload's fateMoudle label, e.g. "datanode"
  std::string claim;         ///< PVC name (for templates: <template>-<statefulset>-<ordinal> of ordinal 0)
  std::string template_name; ///< volumeClaimTemplate name; "" for a PVC object
  int copies = 1;            ///< PVCs it stands for (replicas of a StatefulSet template)
  int64_t size = 0;          ///< bytes requested
  std::string size_text;     ///< as rendered ("5Gi")
  bool class_set = false;    ///< storageClassName present (else: the cluster's default class)
  std::string storage_class; ///< "" with class_set = no dynamic provisioning
  std::string spec_path;     ///< spec key of its size, e.g. "hdfs.datanode"
  bool existing = false;     ///< an existingClaim: made by the operator, its size unknown offline
};

/// A Deployment or StatefulSet of the party: `replicas` identical pods.
struct PodSet {
  std::string module;      ///< render module: "python", "spark", "hdfs", "trafficServer", ...
  std::string component;   ///< fateMoudle label: "python", "spark-worker", "datanode", ...
  std::string kind;        ///< Deployment or StatefulSet
  std::string name;
  std::string namespace_;
  int replicas = 1;
  std::string spec_path;   ///< where the spec configures it: "python", "spark.worker", "hdfs.datanode"
  YAML::Node pod;          ///< the pod template's spec (nodeSelector, tolerations, affinity, volumes)
  YAML::Node labels;       ///< the pod template's labels
  YAML::Node selector;     ///< spec.selector.matchLabels
  std::vector<Container> containers;  ///< init containers included (init = true)
  std::vector<std::string> claims;    ///< PVC objects its pods mount by name
  std::vector<std::string> template_claims;  ///< its volumeClaimTemplates' names (StatefulSet)
  std::vector<size_t> volumes;        ///< indexes into Workloads::volumes of this set's volumes

  /// Requests or limits of one pod: the larger of the containers' sum and any init container.
  ResourceList pod_requests() const;
  ResourceList pod_limits() const;
  /// True when every container sets `resource` in its requests.
  bool all_request(const std::string& resource) const;
  /// Name of pod `i` (0-based): "<sts>-<i>" for StatefulSets, "<deploy>[i/n]" otherwise.
  std::string pod_name(int i) const;
  /// PVC names pod `i` mounts (volumeClaimTemplates resolved for its ordinal).
  std::vector<std::string> claims_of(int i) const;
};

/// Every workload and volume of a rendered party, in apply order.
struct Workloads {
  std::vector<PodSet> sets;
  std::vector<Volume> volumes;
};

/// Reads the workloads and volumes of rendered objects. A quantity that cannot be parsed (the
/// spec's value, e.g. resources.requests.cpu: "lots") throws Invalid at its place in `spec`.
Workloads read_workloads(const std::vector<kube::Manifest>& objects, const spec::ClusterSpec& spec);

/// The spec key that configures a component: "spark.worker" for module spark / spark-worker,
/// "hdfs.datanode", "nodemanager" for v1.6's nodemanager-<i>, else the module.
std::string spec_path_of(const std::string& module, const std::string& component);

/// Totals of one module (or of the whole party when module is "").
struct Totals {
  std::string module;
  int pods = 0;
  ResourceList requests;  ///< summed over pods; resources no container sets are absent
  ResourceList limits;
  int64_t storage = 0;    ///< bytes of all PVCs
  int pods_without_cpu_request = 0;
  int pods_without_memory_request = 0;
};
/// Per module in apply order, then the sum (module "") last.
std::vector<Totals> totals(const Workloads& w);

}  // namespace fatectl::plan
