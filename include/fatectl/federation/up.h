#pragma once
// `federation up`, `add-party`, `remove-party`: where one operator holds every context. In order:
// certificates and their Secrets; the Exchange (install, or upgrade through the route
// transaction); every party (install or upgrade to its finished spec, one party's failure leaving
// the others to go on); the Exchange's routes from each party's discovered address -- one route
// transaction (apply, reload Traffic Server, verify per pod, record, or restore); then the
// connectivity check of every pair. Idempotent: a rerun changes nothing, an interrupted run
// converges. dry_run computes the same plan and changes nothing.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fatectl/federation/connectivity.h"
#include "fatectl/federation/sites.h"
#include "fatectl/ops/exchange.h"

namespace fatectl::federation {

/// Settings of up / add-party / remove-party.
struct UpOptions {
  std::string kubeconfig;        ///< --kubeconfig (each site's context comes from the federation file)
  bool dry_run = false;
  bool skip_plan = false;        ///< install: skip `cluster plan`'s placement check
  bool check = true;             ///< the connectivity check at the end
  std::set<long> check_only;     ///< check only pairs involving these parties (add-party)
  std::chrono::seconds timeout{30 * 60};          ///< per site: waiting for readiness
  std::chrono::milliseconds check_timeout{10'000};
  ops::ReloadOptions reload;     ///< the route transaction's timeouts (kubeconfig and context are set per call)
  std::string title = "federation up";  ///< names the change in release histories
};

/// One step of the plan or the run.
struct Step {
  std::string site;     ///< "certificates", "the Exchange", "party 9999", "routes", "check"
  std::string action;   ///< "install", "upgrade", "apply", "transaction", "uninstall", "check", "none"
  std::string detail;
  std::string outcome;  ///< "planned", "done", "unchanged", "failed", "skipped"
  std::string error;    ///< on failure: what failed and what was left as it was
};

/// What up did (or, dry-run, would do).
struct UpReport {
  bool dry_run = false;
  std::vector<Step> steps;
  std::optional<ExchangeAddress> exchange;
  std::map<long, PartyAddress> addresses;
  std::vector<std::string> route_diff;  ///< "+ sni 10001.fate.org -> 10.0.0.3:30109"
  std::optional<Connectivity> check;
  bool changed() const;  ///< anything was (or would be) changed (the check is not a change)
  bool failed() const;   ///< a step failed
  bool ok() const { return !failed() && (!check || check->ok()); }
};

/// Brings the federation to its file. Throws only for problems before anything starts (a
/// context missing from the kubeconfig); failures of a site are steps of the report.
UpReport up(const Federation& f, const UpOptions& o);

/// Takes party `party` out of `f`: removes its routes from the Exchange (one transaction),
/// updates the parties whose own tables name it, uninstalls it (PVCs kept unless `purge`) and
/// drops its pairs from the stored check. The caller removes it from the file afterwards.
UpReport remove_party(const Federation& f, long party, const UpOptions& o, bool purge);

YAML::Node up_report_yaml(const UpReport& r);
std::string up_report_text(const UpReport& r);

}  // namespace fatectl::federation
