#pragma once
// The cluster verbs: install, upgrade, rollback, uninstall, diff, status, list, history. Each
// composes render (spec -> objects), kube (apply, wait, delete) and release (revision records).
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "fatectl/release/pending.h"
#include "fatectl/release/record.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::ops {

/// Flags shared by install, upgrade and rollback.
struct DeployOptions {
  bool create_namespace = false;
  bool wait = true;
  std::chrono::seconds timeout{30 * 60};
  std::string dry_run;  ///< "", "client" (render only) or "server" (dryRun=All, nothing stored)
  bool purge = false;   ///< upgrade: also delete PVCs that left the spec
  bool force = false;   ///< upgrade: allow a chart change or a downgrade
  bool atomic = false;  ///< upgrade: roll back to the deployed revision by itself when it fails
  unsigned concurrency = 8;
  std::chrono::milliseconds poll{1000};
  bool plan = true;     ///< install: run `cluster plan`'s placement check first (--skip-plan turns it off)
  /// upgrade/rollback: runs once the objects are applied and ready, before the revision is
  /// recorded as deployed (the exchange's route transaction reloads and verifies its pods here);
  /// an exception fails the revision.
  std::function<void()> before_record;
  /// install: skip checking that the Secrets the pods mount exist.
  bool skip_secret_check = false;
  /// upgrade/rollback: the newest revision this command planned against (0 = whatever is newest
  /// when it reserves); a different newest revision refuses the change (ReleaseBusy).
  int expected_revision = 0;
  /// upgrade/rollback: go on although the newest revision is pending (the command that reserved
  /// it was stopped); default: refuse (ReleaseBusy), since another command may be changing it.
  bool take_over_pending = false;
};

/// Another command is changing the release (its newest revision is pending, the revision this
/// command reserves was just taken, or the release moved on since the plan): nothing was changed.
class ReleaseBusy : public Error {
 public:
  explicit ReleaseBusy(const std::string& msg) : Error(ErrorKind::Failed, msg) {}
};

/// Throws ReleaseBusy when the newest revision in `history` (oldest first) is pending and
/// `take_over_pending` is false, naming it and the way out.
void check_not_pending(const std::vector<release::Record>& history, bool take_over_pending);

/// What install/upgrade/rollback did.
struct DeployResult {
  std::string name;
  std::string namespace_;
  int revision = 0;
  bool unchanged = false;  ///< install of the spec already deployed: no new revision
  std::string status;
  std::vector<kube::Manifest> objects;  ///< rendered, in apply order
  std::vector<kube::ObjectRef> pruned;  ///< upgrade: deleted because they left the spec
  std::vector<kube::ObjectRef> kept;    ///< upgrade: left the spec but kept (PVCs without --purge)
  int target_revision = 0;  ///< rollback: the revision whose spec was (or would be) applied
  std::string spec_diff;    ///< rollback: unified diff current spec -> target spec
};

/// Renders a spec for this cluster (its server version decides PSP vs Pod Security labels) and
/// fills in metadata.namespace of namespaced objects. In apply order.
std::vector<kube::Manifest> render_for(kube::Client& c, const spec::ClusterSpec& spec, bool offline = false);

/// `cluster install`: see docs/kube.md. `spec_text` is stored in the release record.
DeployResult install(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                     const DeployOptions& o);
/// `cluster upgrade`. With `atomic`, a failed upgrade is rolled back to the deployed revision
/// and the error says so.
DeployResult upgrade(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                     const DeployOptions& o);
/// `cluster rollback NAME [REVISION]` (0 = the revision before the current one). A dry run
/// (client: nothing sent but reads; server: dryRun=All) says what would be applied and deleted.
DeployResult rollback(kube::Client& c, const std::string& ns, const std::string& name, int revision,
                      const DeployOptions& o);
/// The revision `cluster rollback NAME [REVISION]` returns to (0 = the one before the current).
release::Record rollback_target(kube::Client& c, const std::string& ns, const std::string& name, int revision);

/// What uninstall did and what it left in place on purpose.
struct UninstallResult {
  std::vector<kube::ObjectRef> deleted;
  std::vector<std::pair<kube::ObjectRef, std::string>> kept;   ///< object and why
  std::vector<std::pair<kube::ObjectRef, std::string>> noted;  ///< deleted objects worth a word (certs, user Secrets)
  int records = 0;       ///< release revisions removed
  int history_kept = 0;  ///< --keep-history: revisions kept (the newest now `uninstalled`)
};
/// `cluster uninstall NAME`: deletes the inventory in reverse order; keeps PVCs, the namespace,
/// user Secrets and what `fatectl certs` made unless `purge`; `keep_history` keeps the release
/// records (the newest marked uninstalled) instead of deleting them.
UninstallResult uninstall(kube::Client& c, const std::string& ns, const std::string& name, bool purge,
                          std::chrono::seconds timeout, bool wait = true, bool keep_history = false);

/// One object's difference between the cluster and the spec.
struct ObjectDiff {
  kube::ObjectRef ref;
  std::string module;
  std::string action;  ///< "create", "update" or "delete"
  std::string diff;    ///< unified diff (Secret values masked)
};
/// `cluster diff`: server-side dry-run of every object compared with the live one, plus the
/// objects of the installed revision that would be deleted. Empty = no change.
std::vector<ObjectDiff> diff(kube::Client& c, const spec::ClusterSpec& spec);

/// Unified diff of two texts with `context` lines around each change ("" when equal).
std::string unified_diff(const std::string& a, const std::string& b, const std::string& a_name,
                         const std::string& b_name, int context = 3);
/// A live or dry-run object without server-set fields (managedFields, status, resourceVersion,
/// uid, creationTimestamp, generation, ...), Secret values masked.
YAML::Node comparable(const YAML::Node& obj);

/// Readiness of one module of an installed cluster.
struct ModuleStatus {
  std::string module;
  int ready = 0;
  int total = 0;
  std::string detail;  ///< first reason when not ready
};
/// An address the next party needs for its route table.
struct Endpoint {
  std::string module;
  std::string kind;     ///< Service or Ingress
  std::string name;
  std::string type;     ///< NodePort, LoadBalancer, Ingress
  std::string address;  ///< "nodePort 30109 -> 9370/TCP", "10.0.0.5:9370", "fate.example.org"
};
/// `cluster status NAME`.
struct StatusReport {
  release::Record record;
  std::vector<ModuleStatus> modules;
  std::vector<Endpoint> endpoints;
  std::vector<kube::ObjectRef> missing;  ///< in the inventory but not in the cluster
};
StatusReport status(kube::Client& c, const std::string& ns, const std::string& name);

/// The namespace holding release `name`: `ns_flag` when given, else the one namespace holding
/// it (searched cluster-wide; falls back to the context's namespace when listing is refused).
std::string release_namespace(kube::Client& c, const std::string& name, const std::string& ns_flag);

/// A change applied outside install/upgrade (an exchange route transaction), recorded in two
/// steps: the constructor stores revision expected_revision+1 of release spec.name as
/// pending-upgrade -- only if that revision does not exist yet and expected_revision is still the
/// newest, so two concurrent changes cannot both go on; commit() marks it deployed and the
/// previous deployed revision superseded; abandon() deletes it (the change was not made).
/// While pending, it names this fatectl as its holder and refreshes a heartbeat, so that the
/// next command can tell a change still running from one whose process is gone
/// (release/pending.h). Destroyed without either, it stays pending: the next command marks it
/// failed once its fatectl is gone; until then route changes, upgrades and rollbacks refuse
/// (`cluster rollback --force` takes over).
class PendingRevision {
 public:
  PendingRevision(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text, int expected_revision,
                  const std::string& description);
  int revision() const { return rec_.revision; }
  void commit();
  void abandon();
  ~PendingRevision();

 private:
  kube::Client& c_;
  release::Record rec_;
  std::unique_ptr<release::Store> store_;
  std::unique_ptr<release::Heartbeat> beat_;
};

/// True for spec keys whose values are secrets (password, passwd, secret, token, accessKey,
/// default_pass): never printed, kept out of ConfigMaps and env.
bool secret_key_name(const std::string& key);

/// Compares chart versions "v1.10.0" < "v1.11.2" (numeric per part; -1, 0, 1).
int compare_versions(const std::string& a, const std::string& b);

}  // namespace fatectl::ops
