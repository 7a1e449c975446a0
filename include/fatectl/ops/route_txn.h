#pragma once
// The Exchange's route transaction: the one place that changes an installed Exchange's routes.
//
// Given the current record (the release's newest revision, the source of truth) and a requested
// change (route add/remove, a new spec from `reload -f`/`upgrade`, a rollback target), it
//   1. plans: computes the new spec and route set and the route diff (`--dry-run` stops here);
//   2. reserves the next revision as pending (two concurrent changes cannot both go on);
//   3. applies the route ConfigMaps (or, for upgrade/rollback, every object of the new revision);
//   4. reloads Traffic Server in every ready traffic-server pod, restarts the pods that cannot
//      take the change otherwise (records.config; nginx after a party left its routes), and
//      verifies per pod that what runs is the new route set;
//   5. only then records the new revision as deployed.
// On failure at any step it restores the route ConfigMaps it found, reloads and verifies again,
// and leaves the record as it was (the pending revision is deleted). When the restore fails too,
// the report says which pods run which route set and the error is returned; the new revision is
// not recorded either -- the record keeps the routes meant to run, nothing false is recorded.
//
// Callers: `exchange route add|remove`, `exchange reload`, `cluster upgrade|rollback` of an
// exchange, `cluster uninstall --remove-route`, and federation commands (add/remove a party).
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "fatectl/ops/cluster.h"
#include "fatectl/ops/exchange.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/ops/routes.h"

namespace fatectl::ops {

/// The Exchange's current record: where its routes are recorded.
struct ExchangeRecord {
  std::string release;  ///< release name; "" = not installed by fatectl (only a spec file)
  std::string ns;       ///< namespace of the release (or the file's, or -n)
  int revision = 0;     ///< the newest revision (deployed)
  int newest = 0;       ///< upgrade/rollback: the newest revision of any status when planned (a
                        ///< failed one may follow `revision`); the change must reserve newest+1
  std::string spec_text;
  std::string label;    ///< "release fate-exchange revision 5", or the file's path
};

/// Reads the newest revision of installed exchange `release` (namespace: o.namespace_override, else
/// the only namespace holding it). It must be a fate-exchange release and deployed.
ExchangeRecord load_exchange_record(const ReloadOptions& o, const std::string& release);
/// For a spec file: the record of the installed release of the same name and namespace when there
/// is one, else the file itself (release "").
ExchangeRecord record_for_spec(const ReloadOptions& o, const std::string& label, const std::string& spec_text);

/// One route edit of a change.
struct RouteOp {
  enum class Kind { Add, Remove };
  Kind kind = Kind::Add;
  RouteChange add;           ///< Add: the party's routes (an existing route of the party is replaced)
  long party = 0;            ///< Remove
  RemoveScope scope;         ///< Remove: which tables
  std::string domain;        ///< Remove: only the SNI route <party>.<domain>
  static RouteOp adding(const RouteChange& c);
  static RouteOp removing(long party, const RemoveScope& s = {}, const std::string& domain = "");
};

/// What to do with routes the record has and a new spec lacks.
enum class RecordedRoutes {
  Keep,     ///< keep them (cluster upgrade's default), saying so
  Replace,  ///< the spec wins (-f files, --replace-routes, rollback), naming each dropped route
};

/// A requested change.
struct RouteTxnChange {
  std::optional<std::string> spec_text;  ///< a whole new spec; default: the record's
  std::string spec_label;                ///< names spec_text in messages (its file)
  RecordedRoutes recorded = RecordedRoutes::Replace;
  std::vector<RouteOp> ops;              ///< route edits, applied in order after the spec
  std::string description;               ///< for the revision: "route add: party 10000"
};

/// One line of the route diff, e.g. {'+', "sni 10001.fate.org -> 10.0.0.1:30109"}.
struct RouteDiffLine {
  char op;  ///< '+' added, '-' removed, '~' changed
  std::string text;
};

/// The new state and what changes, before anything is written.
struct RouteTxnPlan {
  ExchangeRecord current;
  std::string description;
  std::string label;                   ///< names new_text in messages (the spec file, or the record)
  std::string new_text;                ///< the new spec (what the revision records)
  RouteTable before, after;
  std::vector<RouteDiffLine> diff;     ///< routes: record -> new
  std::vector<std::string> kept;       ///< RecordedRoutes::Keep: one entry per party kept ("party 10000 (sni, nginx)")
  std::vector<std::string> dropped;    ///< RecordedRoutes::Replace: routes only the record had
  std::vector<std::string> changes;    ///< what the route edits did (one line each)
  std::vector<std::string> warnings;   ///< route warnings of the new table
  bool changed() const { return current.spec_text != new_text; }
};

/// Computes the plan (pure: no cluster access). Throws Invalid for bad input (a route edit that
/// does not apply, a spec that is not an exchange).
RouteTxnPlan plan_route_txn(const ExchangeRecord& current, const RouteTxnChange& change);

/// The outcome of a transaction.
struct RouteTxnReport {
  RouteTxnPlan plan;
  std::string outcome;         ///< "applied", "reloaded" (nothing changed), "restored", "inconsistent"
  int recorded_revision = 0;   ///< the revision recorded; 0 = none
  ReloadReport forward;        ///< applying + reloading the new routes
  std::optional<ReloadReport> restore;  ///< after a failure: putting the previous routes back
  std::string error;           ///< the failure, when there was one
  /// After a failed restore: per pod, which route set it runs ("previous", "new", or its differences).
  std::vector<std::string> pod_states;
};

/// Thrown when the transaction failed; the report says what was restored.
class RouteTxnFailure : public Error {
 public:
  RouteTxnFailure(ErrorKind k, const std::string& msg, RouteTxnReport r) : Error(k, msg), report(std::move(r)) {}
  RouteTxnReport report;
};

/// Where the transaction records (an interface, so tests run it without a cluster).
class RouteRecorder {
 public:
  virtual ~RouteRecorder() = default;
  /// Reserves the next revision as pending; throws when the release moved on.
  virtual int begin(const RouteTxnPlan& plan) = 0;
  virtual void commit() = 0;
  /// The change is not recorded (it failed, whatever the restore did): drop the reserved revision.
  virtual void abandon() = 0;
};

/// Runs a planned route change against a cluster: snapshot, apply, reload, verify, record (or
/// restore). `recorder` may be null (an exchange without a release record). Throws
/// RouteTxnFailure.
RouteTxnReport run_route_txn(ExchangeCluster& cluster, RouteRecorder* recorder, const RouteTxnPlan& plan,
                             const ReloadOptions& o);
/// The same through the kubeconfig in `o`, recording into the plan's release (if any).
RouteTxnReport run_route_txn(const RouteTxnPlan& plan, const ReloadOptions& o);

/// `cluster upgrade` of an exchange: the plan for `spec_text` against the release's newest
/// deployed revision (keeping the release's routes the spec lacks unless `replace_routes`).
RouteTxnPlan plan_exchange_upgrade(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                                   bool replace_routes);
/// `cluster rollback` of an exchange to `revision` (0 = the one before the newest deployed).
/// Both refuse (ReleaseBusy) while the newest revision is pending, unless `take_over_pending`.
RouteTxnPlan plan_exchange_rollback(kube::Client& c, const std::string& ns, const std::string& name, int revision,
                                    bool take_over_pending = false);
/// Deploys the plan's new spec as a revision (ops::upgrade / ops::rollback: every object applied,
/// pruned, waited for), reloads and verifies the pods before the revision is recorded, and on
/// failure restores the route ConfigMaps it found and reloads (the revision is recorded failed,
/// saying what was restored). `rollback_to` > 0 runs a rollback to that revision. Throws
/// RouteTxnFailure.
RouteTxnReport deploy_exchange(kube::Client& c, const RouteTxnPlan& plan, const DeployOptions& d,
                               const ReloadOptions& o, int rollback_to, DeployResult* result);

/// Reports for -o yaml|json and for the terminal.
YAML::Node route_plan_yaml(const RouteTxnPlan& p);
std::string route_plan_text(const RouteTxnPlan& p);
YAML::Node route_txn_yaml(const RouteTxnReport& r);
std::string route_txn_text(const RouteTxnReport& r);

/// Exchange releases in the cluster (all namespaces the caller may list) that route party `party`,
/// with the routes ("sni 10000.fate.org -> ...", "nginx 10000", "rollsite 10000").
struct PartyRoutes {
  ExchangeRecord exchange;
  std::vector<std::string> routes;
};
std::vector<PartyRoutes> exchanges_routing(kube::Client& c, long party);

}  // namespace fatectl::ops
