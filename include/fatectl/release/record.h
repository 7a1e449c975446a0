#pragma once
// Release records: each install or upgrade of a cluster stores one revision (spec, inventory,
// status, time, fatectl version) in a Secret in the cluster's namespace, as Helm does, so that a
// second operator on another machine sees the same truth.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "fatectl/kube/api.h"

namespace fatectl::release {

/// Release states, as stored in the record and its `status` label.
inline constexpr const char* kPendingInstall = "pending-install";
inline constexpr const char* kPendingUpgrade = "pending-upgrade";
inline constexpr const char* kPendingRollback = "pending-rollback";
inline constexpr const char* kDeployed = "deployed";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kSuperseded = "superseded";
/// `uninstall --keep-history`: the objects are gone, the records stay (rollback restores it).
inline constexpr const char* kUninstalled = "uninstalled";

/// The process that wrote a pending revision (stored while the revision is pending-*).
struct Holder {
  std::string host;       ///< gethostname()
  long pid = 0;
  std::string pid_start;  ///< /proc/PID/stat start time (clock ticks since boot), "" if unknown
  std::string boot_id;    ///< /proc/sys/kernel/random/boot_id: after a reboot every pid is stale
  std::string heartbeat;  ///< RFC 3339, refreshed while the operation runs

  /// This process, heartbeat now.
  static Holder self();
  bool empty() const { return host.empty() && pid == 0; }
};

/// One object a revision created, with its module.
struct InventoryItem {
  kube::ObjectRef ref;
  std::string module;
};

/// One revision of a release.
struct Record {
  std::string name;
  std::string namespace_;
  int revision = 0;
  std::string status;
  std::string chart;          ///< chartName
  std::string chart_version;  ///< chartVersion
  std::string fatectl_version;
  std::string updated;  ///< RFC 3339
  std::string description;
  std::string spec_file;  ///< path the spec was read from (informational)
  std::string spec;       ///< the spec text as given
  std::vector<InventoryItem> inventory;
  Holder holder;  ///< pending-* only: who is working on it


  YAML::Node to_node(bool with_spec = true) const;
  static Record from_node(const YAML::Node& n);
};

/// Name of the Secret holding a revision: fatectl.release.v1.NAME.vREV.
std::string secret_name(const std::string& name, int revision);

/// Reads and writes release records of one namespace.
class Store {
 public:
  Store(kube::Client& c, std::string ns) : c_(c), ns_(std::move(ns)) {}
  /// Every revision of a release, oldest first (empty when there is none).
  std::vector<Record> history(const std::string& name);
  /// The newest revision, if any.
  std::optional<Record> latest(const std::string& name);
  /// Stores (creates or replaces) a revision.
  void save(const Record& r);
  /// Stores a revision only if it does not exist yet; false when it does (someone else took it).
  bool create(const Record& r);
  /// Deletes one revision.
  void remove(const std::string& name, int revision);
  /// Deletes every revision of a release; returns how many there were.
  int remove_all(const std::string& name);
  /// Keeps the newest `keep` revisions, deleting older ones.
  void prune(const std::string& name, int keep);

  /// The newest revision of every release in `ns` ("" = all namespaces), without its spec text
  /// (read page by page; only these records are kept).
  static std::vector<Record> list_latest(kube::Client& c, const std::string& ns);
  /// The namespaces holding a release called `name` (searches all namespaces).
  static std::vector<std::string> find_namespaces(kube::Client& c, const std::string& name);

 private:
  kube::Client& c_;
  std::string ns_;
};

}  // namespace fatectl::release
