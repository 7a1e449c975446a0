#pragma once
// Applying an exchange's route tables to the running Exchange and proving they took effect:
// server-side apply of the route ConfigMaps, then per pod (through exec) wait for the kubelet to
// refresh the mounted file, `traffic_ctl config reload`, and confirm Traffic Server loaded it.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/ops/routes.h"

namespace fatectl::ops {

inline constexpr const char* kDefaultTrafficCtl = "/opt/trafficserver/bin/traffic_ctl";
/// Where KubeFATE's exchange chart mounts each route file inside its container.
inline constexpr const char* kSniMountPath = "/opt/trafficserver/etc/trafficserver/sni/sni.yaml";
inline constexpr const char* kNginxRoutePath = "/data/projects/fate/proxy/nginx/conf/modifiable/route_table.yaml";
inline constexpr const char* kRollsiteRoutePath = "/data/projects/fate/eggroll/conf/route_table/route_table.json";

/// Settings of apply_and_reload.
struct ReloadOptions {
  std::string kubeconfig, context;
  std::string namespace_override;  ///< -n; default: the spec's namespace
  std::string traffic_ctl = kDefaultTrafficCtl;
  std::chrono::milliseconds timeout{180'000};        ///< per pod: file propagation (kubelet refresh)
  std::chrono::milliseconds confirm_timeout{30'000};  ///< per pod: Traffic Server logs the load
  std::chrono::milliseconds poll{2'000};
  bool restart_nginx = true;            ///< restart nginx pods after a party was removed
  bool restart_traffic_server = false;  ///< restart traffic-server pods when records.config changed
  /// `exchange reload` without an edit: a pod whose file was already current may have loaded it
  /// before, so no new "sni.yaml finished loading" is required from it.
  bool plain_reload = false;
};

/// What happened in one pod.
struct PodReport {
  std::string pod;
  std::string component;  ///< traffic-server, nginx, rollsite
  std::string file;       ///< "updated after 3.1s", "not updated", ...
  std::string reload;     ///< "ok", "failed (exit 2)", "-" (not needed), "not run"
  std::string confirmed;  ///< "sni.yaml loaded after 2.0s", "re-read by nginx every 5s", ...
  bool ok = false;
};

/// The outcome of apply_and_reload; on failure also carried by ReloadFailure.
struct ReloadReport {
  std::string namespace_;
  std::vector<std::string> applied;  ///< "ConfigMap/traffic-server-sni", ...
  std::vector<PodReport> pods;
  std::vector<std::string> notes;
  std::string failed_step;  ///< "" on success: render, apply, list pods, propagate, reload, confirm, restart
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

/// What apply_and_reload needs from the cluster: kube/ in production, a fake in unit tests.
class ExchangeCluster {
 public:
  virtual ~ExchangeCluster() = default;
  virtual void apply(const YAML::Node& obj) = 0;
  /// The live object's data (ConfigMap), or a null node when it does not exist.
  virtual YAML::Node configmap_data(const std::string& ns, const std::string& name) = 0;
  /// Names of Running pods matching a label selector.
  virtual std::vector<std::string> running_pods(const std::string& ns, const std::string& selector) = 0;
  virtual PodExecResult exec(const std::string& ns, const std::string& pod, const std::string& container,
                             const std::vector<std::string>& argv, std::chrono::milliseconds timeout) = 0;
  virtual void delete_pod(const std::string& ns, const std::string& pod) = 0;
};

/// The kube/ implementation for a kubeconfig context.
std::unique_ptr<ExchangeCluster> kube_exchange_cluster(const ReloadOptions& o);

/// Renders the spec text, applies the ConfigMaps the edit changed (all route ConfigMaps for a
/// plain reload), then reloads and confirms per pod. Throws ReloadFailure on the first failed
/// step. `file` names the spec in messages.
ReloadReport apply_and_reload(ExchangeCluster& cluster, const std::string& file, const std::string& text,
                              const RouteEdit& edit, const ReloadOptions& o);
ReloadReport apply_and_reload(const std::string& file, const std::string& text, const RouteEdit& edit,
                              const ReloadOptions& o);

YAML::Node reload_report_yaml(const ReloadReport& r);
std::string reload_report_text(const ReloadReport& r);

}  // namespace fatectl::ops
