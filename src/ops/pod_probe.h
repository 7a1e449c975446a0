#pragma once
// Looking inside one Exchange pod through exec: its mounted route files, and what its Traffic
// Server loaded (diags.log, metrics, running records). Shared by converge (exchange.cc) and the
// live view (route_live.cc). Every read is bounded in size.
#include <string>
#include <vector>

#include "fatectl/ops/exchange.h"

namespace fatectl::ops::detail {

/// Mounted route files are small; more than this from a pod is reported as an error, not read.
inline constexpr size_t kMaxPodFile = 1 << 20;

/// One container of one pod, probed through exec.
class PodProbe {
 public:
  PodProbe(ExchangeCluster& cl, std::string ns, std::string pod, std::string container, const ReloadOptions& o)
      : cl_(cl), ns_(std::move(ns)), pod_(std::move(pod)), container_(std::move(container)), o_(o) {}

  const std::string& pod() const { return pod_; }
  /// Runs argv in the container; throws what exec throws (refused, pod gone, timeout).
  PodExecResult run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  /// The file's content, at most kMaxPodFile bytes; false with `err` set when it cannot be read.
  bool read_file(const std::string& path, std::string& out, std::string& err);
  /// Modification time (seconds since the epoch) of the file a path resolves to; -1 unknown.
  long mtime(const std::string& path);

  // ---- Traffic Server (container traffic-server) ----
  /// A `traffic_ctl metric get` value; -1 when it cannot be read.
  long metric(const std::string& name);
  /// When Traffic Server last read its configuration: the later of its last reconfiguration
  /// (proxy.node.config.reconfigure_time) and its start (proxy.node.restarts.proxy.start_time).
  long loaded_at();
  /// diags.log's path (from `traffic_layout info`, cached).
  const std::string& diags_path();
  /// Lines in diags.log; 0 when it does not exist yet, -1 when it cannot be read.
  long diags_lines();
  /// diags.log from line `from` (1-based), at most kMaxPodFile bytes.
  std::vector<std::string> diags_from(long from);
  /// The last line of diags.log that reports loading sni.yaml ("finished loading" or a failure);
  /// "" when there is none or it cannot be read.
  std::string last_sni_load();
  /// The running proxy.config.http.connect_ports; "" when it cannot be read.
  std::string connect_ports();

 private:
  ExchangeCluster& cl_;
  std::string ns_, pod_, container_;
  const ReloadOptions& o_;
  std::string diags_;
};

/// Whether a diags.log line reports sni.yaml failing to load / finishing.
bool sni_load_failed(const std::string& line);
bool sni_load_finished(const std::string& line);

/// proxy.config.http.connect_ports from a records.config text; "" when not set.
std::string records_connect_ports(const std::string& records_config);

std::string rstrip(std::string s);

}  // namespace fatectl::ops::detail
