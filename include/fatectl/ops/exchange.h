#pragma once
// Bringing the running Exchange to a route set and proving it took effect ("converge"): apply the
// route ConfigMaps that differ, then per pod (through exec) wait for the kubelet to refresh the
// mounted file, `traffic_ctl config reload`, confirm Traffic Server loaded it, and restart the
// pods that cannot take the change otherwise. The route transaction (route_txn.h) runs it forward
// and, on failure, again towards the state it found.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fatectl/core/error.h"

namespace fatectl::kube {
class Client;
}

namespace fatectl::ops {

inline constexpr const char* kDefaultTrafficCtl = "/opt/trafficserver/bin/traffic_ctl";
/// Where KubeFATE's exchange chart mounts each route file inside its container.
inline constexpr const char* kSniMountPath = "/opt/trafficserver/etc/trafficserver/sni/sni.yaml";
/// records.config is mounted with subPath: the kubelet never updates it in a running pod.
inline constexpr const char* kRecordsMountPath = "/etc/trafficserver/records.config";
inline constexpr const char* kNginxRoutePath = "/data/projects/fate/proxy/nginx/conf/modifiable/route_table.yaml";
inline constexpr const char* kRollsiteRoutePath = "/data/projects/fate/eggroll/conf/route_table/route_table.json";

/// Settings of a reload: cluster access, timeouts, and which restarts are allowed.
struct ReloadOptions {
  std::string kubeconfig, context;
  std::string namespace_override;  ///< -n; default: the spec's namespace
  std::string traffic_ctl = kDefaultTrafficCtl;
  std::chrono::milliseconds timeout{180'000};        ///< per pod: file propagation (kubelet refresh), restarts
  std::chrono::milliseconds confirm_timeout{30'000};  ///< per pod: Traffic Server logs the load
  std::chrono::milliseconds poll{2'000};
  bool restart_nginx = true;           ///< restart nginx pods when a party left the nginx routes
  bool restart_traffic_server = true;  ///< restart traffic-server pods whose records.config is stale
};

/// The Exchange's route ConfigMaps as whole objects (name, labels, data): rendered from a spec
/// (what a change applies) or read from the cluster (what a failed change restores).
struct RouteConfigMaps {
  std::string name;  ///< the exchange's name (pods are selected by name=<name>)
  std::string ns;
  /// ConfigMap name -> object; a route ConfigMap of a module the exchange does not deploy, or that
  /// does not exist in the cluster, is absent.
  std::map<std::string, YAML::Node> objects;

  bool has(const std::string& cm) const { return objects.count(cm) > 0; }
  /// data[key] of a ConfigMap, "" when absent.
  std::string data(const std::string& cm, const std::string& key) const;
};

/// The ConfigMaps that carry routes: traffic-server-sni, traffic-server-config, nginx-config,
/// rollsite-config.
const std::vector<std::string>& route_configmap_names();

/// Renders an exchange spec's route ConfigMaps (namespace: `ns_override`, else the spec's).
/// Throws Invalid for a spec that is not a fate-exchange spec.
RouteConfigMaps render_route_configmaps(const std::string& spec_text, const std::string& label,
                                        const std::string& ns_override = "");

/// What happened in one pod.
struct PodReport {
  std::string pod;
  std::string component;  ///< traffic-server, nginx, rollsite
  std::string file;       ///< "updated after 3.1s", "up to date", "not updated", ...
  std::string reload;     ///< "ok", "failed (exit 2)", "restarted", "-" (not needed), "not run"
  std::string confirmed;  ///< "sni.yaml loaded after 2.0s", "re-read by nginx every 5s", ...
  bool ok = false;
};

/// The outcome of converge; on failure also carried by ReloadFailure.
struct ReloadReport {
  std::string namespace_;
  std::vector<std::string> applied;  ///< "ConfigMap/traffic-server-sni", ...
  std::vector<PodReport> pods;
  std::vector<std::string> notes;
  std::string failed_step;  ///< "" on success: apply, list pods, propagate, reload, confirm, verify, restart
  std::string error;
};

/// Thrown when a step fails; kind() is the failing step's (Unreachable for a refused exec,
/// Timeout for a file that never arrived, Failed otherwise). The report says which pods were
/// reloaded before the failure.
class ReloadFailure : public Error {
 public:
  ReloadFailure(ErrorKind k, const std::string& msg, ReloadReport r) : Error(k, msg), report(std::move(r)) {}
  ReloadReport report;
};

/// The result of running a command in a container.
struct PodExecResult {
  int exit_code = 0;
  std::string out, err;
};

/// A pod of the Exchange as the API server lists it.
struct PodInfo {
  std::string name;
  bool running = false;      ///< phase Running and not being deleted
  bool ready = false;        ///< condition Ready (Running counts when the pod reports no conditions)
  bool terminating = false;  ///< being deleted (or finished)
  /// Why a pod that is not ready will not become ready by itself (CrashLoopBackOff,
  /// ImagePullBackOff, Unschedulable, ...); "" while it is starting normally.
  std::string stuck;
  long started_at = 0;       ///< status.startTime, seconds since the epoch (0 = unknown)
};

/// What converge needs from the cluster: kube/ in production, a fake in unit tests.
class ExchangeCluster {
 public:
  virtual ~ExchangeCluster() = default;
  virtual void apply(const YAML::Node& obj) = 0;
  /// The live object (ConfigMap), or a null node when it does not exist.
  virtual YAML::Node configmap(const std::string& ns, const std::string& name) = 0;
  /// Pods matching a label selector, sorted by name.
  virtual std::vector<PodInfo> pods(const std::string& ns, const std::string& selector) = 0;
  virtual PodExecResult exec(const std::string& ns, const std::string& pod, const std::string& container,
                             const std::vector<std::string>& argv, std::chrono::milliseconds timeout) = 0;
  virtual void delete_pod(const std::string& ns, const std::string& pod) = 0;
};

/// The kube/ implementation for a kubeconfig context, or on an existing client.
std::unique_ptr<ExchangeCluster> kube_exchange_cluster(const ReloadOptions& o);
std::unique_ptr<ExchangeCluster> kube_exchange_cluster(kube::Client& c);

/// The route ConfigMaps as they are in the cluster now (the state a failed change restores).
RouteConfigMaps read_route_configmaps(ExchangeCluster& cluster, const std::string& name, const std::string& ns);

/// Brings the running Exchange to `target`:
///  1. applies each route ConfigMap whose live data differs;
///  2. traffic-server pods: restarts those whose mounted records.config differs from the target's
///     (it is mounted with subPath, so only a new pod sees a change), then in every ready pod waits
///     for the mounted sni.yaml to equal the target, runs `traffic_ctl config reload`, confirms the
///     load in diags.log and checks the running connect_ports;
///  3. nginx pods: waits for route_table.yaml; restarts them when a party that `baseline` routes is
///     gone from the target's nginx routes (nginx keeps it otherwise) and checks the new pods;
///  4. rollsite pods: waits for route_table.json;
///  5. lists the pods again: one that appeared meanwhile is brought along, one that vanished
///     before it was checked fails the step.
/// `baseline` is the state before the change (what decides the nginx restart). Throws
/// ReloadFailure naming the failed step.
ReloadReport converge(ExchangeCluster& cluster, const RouteConfigMaps& target, const RouteConfigMaps& baseline,
                      const ReloadOptions& o);

YAML::Node reload_report_yaml(const ReloadReport& r);
std::string reload_report_text(const ReloadReport& r);

}  // namespace fatectl::ops
