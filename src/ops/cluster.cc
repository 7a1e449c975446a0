#include "fatectl/ops/cluster.h"

#include <algorithm>
#include <map>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/plan/plan.h"
#include "fatectl/ops/mounted_secrets.h"
#include "fatectl/ops/exchange_certs.h"
#include "fatectl/release/pending.h"
#include "fatectl/render/render.h"
#include "fatectl/version.h"

namespace fatectl::ops {
namespace {

using kube::F;
using kube::Manifest;
using kube::ObjectRef;
using release::Record;
using release::Store;

std::string now() { return kube::format_rfc3339(std::chrono::system_clock::now()); }

std::vector<release::InventoryItem> inventory_of(const std::vector<Manifest>& m) {
  std::vector<release::InventoryItem> inv;
  for (const auto& x : m) inv.push_back({x.ref(), x.module});
  return inv;
}

bool namespace_exists(kube::Client& c, const std::string& ns) {
  return kube::get(c, ObjectRef{"v1", "Namespace", "", ns}).has_value();
}

/// Progress per module while waiting: one line per module change (a rewritten line on a terminal).
kube::WaitOptions wait_options(const DeployOptions& o) {
  kube::WaitOptions w;
  w.timeout = o.timeout;
  w.interval = o.poll;
  auto last = std::make_shared<std::map<std::string, std::string>>();
  auto t0 = std::chrono::steady_clock::now();
  w.on_progress = [last, t0](const std::vector<std::string>& lines) {
    if (log::stderr_is_terminal()) {
      int ready = 0;
      std::string first;
      for (const auto& l : lines) {
        if (l.size() > 7 && l.compare(l.size() - 7, 7, ": ready") == 0) ++ready;
        else if (first.empty()) first = l;
      }
      auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0).count();
      std::string line = "waiting " + std::to_string(secs) + "s: " + std::to_string(ready) + "/" +
                         std::to_string(lines.size()) + " modules ready" + (first.empty() ? "" : "; " + first);
      if (line.size() > 160) line = line.substr(0, 157) + "...";
      log::progress(line);
      return;
    }
    for (const auto& l : lines) {
      std::string mod = l.substr(0, l.find(':'));
      if ((*last)[mod] != l) {
        (*last)[mod] = l;
        log::progress(l);
      }
    }
  };
  return w;
}

void apply_objects(kube::Client& c, const std::vector<Manifest>& objs, const DeployOptions& o, bool dry_run) {
  kube::ApplyAllOptions ao;
  ao.apply.dry_run = dry_run;
  ao.concurrency = o.concurrency;
  size_t done = 0, total = objs.size();
  ao.on_applied = [&](const Manifest& m, const YAML::Node&) {
    ++done;
    log::debug("applied {} ({})", m.ref().str(), m.module.empty() ? "shared" : m.module);
    if (log::stderr_is_terminal()) log::progress("applied " + std::to_string(done) + "/" + std::to_string(total));
  };
  kube::apply_all(c, objs, ao);
  if (log::stderr_is_terminal()) log::progress_done();
  log::info("{} {} objects", dry_run ? "server dry-run accepted" : "applied", total);
}

void wait_for(kube::Client& c, const std::vector<Manifest>& objs, const DeployOptions& o) {
  try {
    kube::wait_ready(c, objs, wait_options(o));
    log::progress_done();
  } catch (...) {
    log::progress_done();
    throw;
  }
}

/// Deletes objects in reverse apply order (each stage concurrently); returns what was deleted.
std::vector<ObjectRef> delete_objects(kube::Client& c, const std::vector<release::InventoryItem>& items) {
  std::map<int, std::vector<ObjectRef>, std::greater<int>> stages;
  for (const auto& i : items) stages[kube::apply_stage(i.ref.kind)].push_back(i.ref);
  std::vector<ObjectRef> deleted;
  for (auto& [stage, refs] : stages) {
    for (const auto& r : refs) {
      try {
        if (kube::remove(c, r)) deleted.push_back(r);
      } catch (const Error& e) {
        if (std::string(e.what()).find("does not serve") != std::string::npos) continue;  // API gone: nothing to delete
        throw;
      }
    }
  }
  return deleted;
}

/// Objects of the release's revisions since the last deployed one (failed upgrades included).
std::vector<release::InventoryItem> live_inventory(const std::vector<Record>& history) {
  std::vector<release::InventoryItem> out;
  std::set<ObjectRef> seen;
  size_t from = 0;
  for (size_t i = 0; i < history.size(); ++i)
    if (history[i].status == release::kDeployed) from = i;
  for (size_t i = from; i < history.size(); ++i)
    for (const auto& it : history[i].inventory)
      if (seen.insert(it.ref).second) out.push_back(it);
  return out;
}

Record new_record(const spec::ClusterSpec& spec, const std::string& spec_text, int rev, const char* status,
                  const std::vector<Manifest>& objs) {
  Record r;
  r.name = spec.name;
  r.namespace_ = spec.namespace_;
  r.revision = rev;
  r.status = status;
  r.chart = spec.chart_name;
  r.chart_version = spec.chart_version;
  r.fatectl_version = kVersion;
  r.updated = now();
  r.spec_file = spec.file;
  r.spec = spec_text;
  r.inventory = inventory_of(objs);
  if (release::is_pending(status)) r.holder = release::Holder::self();
  return r;
}

/// Settles a pending revision whose process is gone (marks it failed and says so) and refuses
/// to start while another fatectl is still working on the release.
void settle_or_refuse(Store& store, std::vector<Record>& history, const std::string& name, const std::string& verb) {
  std::string busy;
  release::settle_stale(store, history, &busy);
  if (!busy.empty())
    throw ReleaseBusy("cannot " + verb + " '" + name + "' now: " + busy +
                      "; wait for it to finish (a revision whose process is gone is marked failed by the next command)");
}

/// Before a change of an installed release: a pending revision whose fatectl is gone is marked
/// failed (and said so); one whose fatectl still works refuses the change (check_not_pending,
/// unless take_over_pending).
void settle_then_check(Store& store, std::vector<Record>& history, bool take_over_pending) {
  release::settle_stale(store, history);
  check_not_pending(history, take_over_pending);
}

/// Saves the final state of a revision: no holder, stamped now.
void save_final(Store& store, Record& rec, const char* status, const std::string& description) {
  rec.status = status;
  rec.description = description;
  rec.updated = now();
  rec.holder = release::Holder{};
  store.save(rec);
}

/// Applies + waits for a revision already saved as pending; records the outcome.
void deploy_revision(kube::Client& c, Store& store, Record& rec, const std::vector<Manifest>& objs,
                     const DeployOptions& o, const std::string& verb) {
  release::Heartbeat beat(store, rec);
  try {
    apply_objects(c, objs, o, false);
    if (o.wait) wait_for(c, objs, o);
  } catch (const Error& e) {
    beat.stop();
    try {
      kube::Client::Grace grace(c);  // the record is saved even when the deadline just passed
      save_final(store, rec, release::kFailed, verb + " failed: " + log::redact(e.what()));
    } catch (const Error& e2) {
      log::warn("could not record the failure in the release record: {}", e2.what());
    }
    throw;
  }
  beat.stop();
  save_final(store, rec, release::kDeployed, verb + " complete" + std::string(o.wait ? "" : " (not waited for)"));
}

void ensure_namespace(kube::Client& c, const std::vector<Manifest>& objs, const std::string& ns,
                      const DeployOptions& o) {
  if (namespace_exists(c, ns)) return;
  if (!o.create_namespace)
    throw invalid("namespace '" + ns + "' does not exist: pass --create-namespace, or create it first");
  for (const auto& m : objs)
    if (F(m.node)["kind"].str() == "Namespace" && F(m.node)["metadata"]["name"].str() == ns) {
      kube::apply(c, m.node);
      return;
    }
  YAML::Node n(YAML::NodeType::Map);
  n["apiVersion"] = "v1";
  n["kind"] = "Namespace";
  n["metadata"]["name"] = yaml::str(ns);
  kube::apply(c, n);
}

void supersede_older(Store& store, const std::vector<Record>& history, int current) {
  for (auto r : history)
    if (r.revision != current && r.status == release::kDeployed) {
      r.status = release::kSuperseded;
      store.save(r);
    }
}

/// Shared by upgrade and rollback: apply the new revision, prune, wait, record. `done` is the
/// description of the revision when it succeeds.
DeployResult roll_forward(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                          const DeployOptions& o, const std::string& verb, const std::vector<Record>& history,
                          const std::string& done) {
  DeployResult res;
  res.name = spec.name;
  res.namespace_ = spec.namespace_;
  res.objects = render_for(c, spec, o.dry_run == "client");
  if (o.dry_run.empty()) {
    check_not_pending(history, o.take_over_pending);
    if (o.expected_revision > 0 && history.back().revision != o.expected_revision)
      throw ReleaseBusy("release '" + spec.name + "' changed while this command ran (planned against revision " +
                        std::to_string(o.expected_revision) + ", found " + std::to_string(history.back().revision) +
                        "); nothing was changed -- run the command again");
  }
  int rev = history.back().revision + 1;
  std::set<ObjectRef> now_refs;
  for (const auto& m : res.objects) now_refs.insert(m.ref());
  std::vector<release::InventoryItem> gone;
  for (const auto& it : live_inventory(history)) {
    if (now_refs.count(it.ref)) continue;
    if (it.ref.kind == "Namespace") continue;
    if (it.ref.kind == "PersistentVolumeClaim" && !o.purge) {
      res.kept.push_back(it.ref);
      continue;
    }
    gone.push_back(it);
  }
  if (!o.dry_run.empty()) {
    if (o.dry_run == "server") apply_objects(c, res.objects, o, true);
    for (const auto& g : gone) res.pruned.push_back(g.ref);
    res.revision = rev;
    res.status = "dry-run";
    return res;
  }
  res.revision = rev;
  Store store(c, spec.namespace_);
  const char* pending = verb == "rollback" ? release::kPendingRollback : release::kPendingUpgrade;
  Record rec = new_record(spec, spec_text, rev, pending, res.objects);
  // Kept PVCs stay in the inventory, so uninstall --purge still finds them.
  for (const auto& k : res.kept)
    for (const auto& it : live_inventory(history))
      if (it.ref == k) rec.inventory.push_back(it);
  // Create-only: of two commands that read the same history, only one reserves the revision.
  rec.description = verb + " in progress";
  if (!store.create(rec))
    throw ReleaseBusy("release '" + spec.name + "' revision " + std::to_string(rev) +
                      " was just reserved by another command changing it; nothing was changed -- see `fatectl "
                      "cluster history " + spec.name + "` and run the command again once that one is done");
  release::Heartbeat beat(store, rec);
  try {
    apply_objects(c, res.objects, o, false);
    res.pruned = delete_objects(c, gone);
    for (const auto& p : res.pruned) log::info("deleted {} (no longer in the spec)", p.str());
    if (o.wait) wait_for(c, res.objects, o);
    if (o.before_record) o.before_record();
  } catch (const Error& e) {
    beat.stop();
    try {
      kube::Client::Grace grace(c);  // the record is saved even when the deadline just passed
      save_final(store, rec, release::kFailed, verb + " failed: " + log::redact(e.what()));
    } catch (const Error&) {
    }
    throw;
  }
  beat.stop();
  save_final(store, rec, release::kDeployed, done + std::string(o.wait ? "" : " (not waited for)"));
  supersede_older(store, history, rev);
  store.prune(spec.name, 10);
  res.status = rec.status;
  return res;
}

// ---- diff helpers ----------------------------------------------------------------------

void erase_key(YAML::Node n, const char* key) {
  if (n && n.IsMap() && n[key]) n.remove(key);
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int compare_versions(const std::string& a, const std::string& b) {
  auto parts = [](const std::string& v) {
    std::vector<long> p;
    std::string cur;
    for (char ch : v) {
      if (std::isdigit(static_cast<unsigned char>(ch))) cur += ch;
      else if (ch == '.' || ch == '-' || ch == '+') {
        if (!cur.empty()) p.push_back(std::stol(cur));
        cur.clear();
        if (ch != '.') break;
      }
    }
    if (!cur.empty()) p.push_back(std::stol(cur));
    return p;
  };
  auto pa = parts(a), pb = parts(b);
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    long x = i < pa.size() ? pa[i] : 0, y = i < pb.size() ? pb[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool secret_key_name(const std::string& key) {
  std::string k = key;
  for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return k.find("password") != std::string::npos || k.find("passwd") != std::string::npos ||
         k.find("secret") != std::string::npos || k.find("token") != std::string::npos || k == "accesskey" ||
         k == "default_pass";
}

namespace {
// Values under keys that name a password, secret or token in the spec are registered as secrets
// so that no message, diff or dry-run output shows them (a short one in its base64 form only; the
// spec and Secret data are masked by key where they are printed).
void register_spec_secrets(const YAML::Node& n, const std::string& key) {
  if (n.IsMap()) {
    for (const auto& kv : n) register_spec_secrets(kv.second, kv.first.IsScalar() ? kv.first.Scalar() : "");
  } else if (n.IsSequence()) {
    for (const auto& e : n) register_spec_secrets(e, key);
  } else if (n.IsScalar()) {
    if (secret_key_name(key)) kube::register_secret_value(n.Scalar());
  }
}
}  // namespace

std::vector<Manifest> render_for(kube::Client& c, const spec::ClusterSpec& spec, bool offline) {
  if (spec.root) register_spec_secrets(spec.root, "");
  render::RenderOptions ro;
  if (!offline) ro.kube_version = c.version().minor_str();
  std::vector<Manifest> out;
  std::set<ObjectRef> seen;
  for (const auto& o : render::render(spec, ro)) {
    YAML::Node n = o.node;
    ObjectRef r = ObjectRef::of(n);
    bool namespaced = r.kind != "Namespace" && r.kind != "ClusterRole" && r.kind != "ClusterRoleBinding" &&
                      r.kind != "PodSecurityPolicy" && r.kind != "StorageClass" && r.kind != "PersistentVolume" &&
                      r.kind != "CustomResourceDefinition" && r.kind != "PriorityClass";
    if (!offline) namespaced = c.resource_for(r.api_version, r.kind).namespaced;
    if (namespaced && r.namespace_.empty()) n["metadata"]["namespace"] = yaml::str(spec.namespace_);
    r = ObjectRef::of(n);
    if (!seen.insert(r).second)
      throw failed("rendering produced " + r.str() + " twice (module " + o.module + "); this is a fatectl bug");
    if (r.kind == "Secret" && n["stringData"]) {
      // rendered readable; applied as `data`, the form the API server stores and returns (so that
      // diffs compare like with like and server-side apply owns the keys it sets)
      YAML::Node data = n["data"] ? n["data"] : YAML::Node(YAML::NodeType::Map);
      for (const auto& kv : n["stringData"]) data[kv.first.Scalar()] = yaml::str(kube::base64_encode(kv.second.Scalar()));
      n["data"] = data;
      n.remove("stringData");
    }
    kube::register_secret_values(n);
    out.push_back(Manifest{o.module, n});
  }
  return kube::in_apply_order(out);
}

DeployResult install(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                     const DeployOptions& o) {
  DeployResult res;
  res.name = spec.name;
  res.namespace_ = spec.namespace_;
  res.objects = render_for(c, spec, o.dry_run == "client");
  if (o.dry_run == "client") return res;
  Store store(c, spec.namespace_);
  auto history = store.history(spec.name);
  if (o.dry_run.empty()) settle_or_refuse(store, history, spec.name, "install");
  int rev = 1;
  if (!history.empty()) {
    const Record& last = history.back();
    if (last.status == release::kDeployed && last.spec == spec_text) {
      res.unchanged = true;
      rev = last.revision;
    } else if (last.status == release::kUninstalled) {
      rev = last.revision + 1;  // uninstalled with --keep-history: a fresh install continues the history
    } else if (last.status == release::kDeployed || last.revision > 1 || last.status == release::kSuperseded) {
      throw invalid("cluster '" + spec.name + "' is already installed in namespace '" + spec.namespace_ +
                    "' (revision " + std::to_string(last.revision) + ", " + last.status +
                    ") with a different spec: use `fatectl cluster upgrade -f " + spec.file + "`");
    } else {
      rev = last.revision;  // an interrupted or failed first install: converge on the same revision
    }
  }
  res.revision = rev;
  if (o.plan) plan::check_before_install(c, spec, res.objects);  // stops before anything is applied
  if (!o.skip_secret_check) check_mounted_secrets(c, res.objects);
  if (o.dry_run == "server") {
    if (!namespace_exists(c, spec.namespace_)) {
      std::vector<Manifest> cluster_scoped;
      for (const auto& m : res.objects)
        if (m.ref().namespace_.empty()) cluster_scoped.push_back(m);
      log::warn("namespace '{}' does not exist yet: the server can only dry-run the cluster-scoped objects",
                spec.namespace_);
      apply_objects(c, cluster_scoped, o, true);
    } else {
      apply_objects(c, res.objects, o, true);
    }
    res.status = "dry-run";
    return res;
  }
  ensure_namespace(c, res.objects, spec.namespace_, o);
  if (res.unchanged) {
    // Same spec as the deployed revision: re-apply (repairs drift; no change otherwise) and wait.
    apply_objects(c, res.objects, o, false);
    if (o.wait) wait_for(c, res.objects, o);
    res.status = release::kDeployed;
    return res;
  }
  Record rec = new_record(spec, spec_text, rev, release::kPendingInstall, res.objects);
  store.save(rec);  // before applying: an interrupted install still knows every object it may have created
  deploy_revision(c, store, rec, res.objects, o, "install");
  if (rev > 1) supersede_older(store, history, rev);
  res.status = rec.status;
  return res;
}

namespace {

/// The newest deployed revision, if any.
const Record* last_deployed(const std::vector<Record>& history) {
  const Record* d = nullptr;
  for (const auto& r : history)
    if (r.status == release::kDeployed) d = &r;
  return d;
}

/// The spec stored in a revision, parsed.
spec::ClusterSpec spec_of(const Record& r) {
  return spec::parse(r.spec, r.spec_file.empty() ? "revision " + std::to_string(r.revision) : r.spec_file);
}

/// Rollback's target: `revision`, or (0) the newest earlier deployed/superseded one; an
/// uninstalled release goes back to its last revision.
const Record& pick_rollback_target(const std::vector<Record>& history, const std::string& name, int revision) {
  if (revision > 0) {
    for (const auto& r : history)
      if (r.revision == revision) return r;
    std::string revs;
    for (const auto& r : history) revs += (revs.empty() ? "" : ", ") + std::to_string(r.revision);
    throw invalid("cluster '" + name + "' has no revision " + std::to_string(revision) + " (it has " + revs + ")");
  }
  if (history.back().status == release::kUninstalled) return history.back();
  for (auto it = history.rbegin() + 1; it != history.rend(); ++it)
    if (it->status == release::kSuperseded || it->status == release::kDeployed) return *it;
  throw failed("cluster '" + name + "' has no earlier revision to roll back to");
}

}  // namespace

DeployResult upgrade(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                     const DeployOptions& o) {
  Store store(c, spec.namespace_);
  auto history = store.history(spec.name);
  if (history.empty())
    throw failed("cluster '" + spec.name + "' is not installed in namespace '" + spec.namespace_ +
                 "': use `fatectl cluster install -f " + spec.file + "`");
  if (o.dry_run.empty()) settle_then_check(store, history, false);
  if (history.back().status == release::kUninstalled)
    throw failed("cluster '" + spec.name + "' was uninstalled (history kept): use `fatectl cluster install -f " +
                 spec.file + "`, or `fatectl cluster rollback " + spec.name + "` to restore revision " +
                 std::to_string(history.back().revision));
  const Record* deployed = last_deployed(history);
  const Record& base = deployed ? *deployed : history.back();
  if (!o.force) {
    if (!base.chart.empty() && base.chart != spec.chart_name)
      throw invalid(spec.file + ": chartName: refusing to change the chart from '" + base.chart + "' to '" +
                    spec.chart_name + "' (revision " + std::to_string(base.revision) +
                    "); this replaces the whole cluster — pass --force if you mean it");
    if (!base.chart_version.empty() && compare_versions(spec.chart_version, base.chart_version) < 0)
      throw invalid(spec.file + ": chartVersion: refusing to downgrade from " + base.chart_version + " to " +
                    spec.chart_version + " (FATE's database migrations only go forward) — pass --force if you mean it");
  }
  if (!o.atomic || !o.dry_run.empty()) return roll_forward(c, spec, spec_text, o, "upgrade", history, "upgrade complete");
  if (!deployed)
    throw invalid("--atomic: cluster '" + spec.name + "' has no deployed revision to return to (revision " +
                  std::to_string(history.back().revision) + " is " + history.back().status + "); upgrade without --atomic");
  int back_to = deployed->revision;
  try {
    return roll_forward(c, spec, spec_text, o, "upgrade", history, "upgrade complete");
  } catch (const Error& e) {
    std::string why = log::redact(e.what());
    log::warn("upgrade failed: {}", why);
    log::warn("--atomic: rolling back to revision {}", back_to);
    // the rollback has a --timeout of its own: the upgrade may have spent the command's
    kube::ClientOptions co;
    co.deadline = c.deadline().for_command(std::chrono::duration_cast<kube::Deadline::Ms>(o.timeout),
                                           "--timeout (the --atomic rollback)");
    kube::Client rc(c.config(), co);
    auto now_history = Store(rc, spec.namespace_).history(spec.name);
    const Record& target = pick_rollback_target(now_history, spec.name, back_to);
    DeployOptions ro = o;
    ro.atomic = false;
    ro.force = true;
    ro.before_record = nullptr;  // an exchange: the caller restores the routes it found
    // An exchange's upgrade was planned against the revision before the failed one: the rollback
    // goes on from the history it just read (still reserving its revision create-only).
    if (ro.expected_revision > 0) ro.expected_revision = now_history.back().revision;
    DeployResult back;
    try {
      back = roll_forward(rc, spec_of(target), target.spec, ro, "rollback", now_history,
                          "rollback to revision " + std::to_string(back_to) + " after the failed upgrade (--atomic)");
    } catch (const Error& e2) {
      throw Error(e.kind(), "upgrade failed: " + why + "; --atomic: the rollback to revision " + std::to_string(back_to) +
                                " failed too: " + log::redact(e2.what()) + " (see `fatectl cluster history " +
                                spec.name + "`)");
    }
    throw Error(e.kind(), "upgrade failed: " + why + "; --atomic: rolled back to revision " + std::to_string(back_to) +
                              " (now revision " + std::to_string(back.revision) + ", all ready)");
  }
}

DeployResult rollback(kube::Client& c, const std::string& ns, const std::string& name, int revision,
                      const DeployOptions& o) {
  Store store(c, ns);
  auto history = store.history(name);
  if (history.empty()) throw failed("no cluster '" + name + "' in namespace '" + ns + "'");
  if (o.dry_run.empty()) settle_then_check(store, history, o.force);  // --force takes over
  const Record& target = pick_rollback_target(history, name, revision);
  spec::ClusterSpec spec = spec_of(target);
  if (o.dry_run.empty()) log::info("rolling back '{}' to revision {} ({})", name, target.revision, target.chart_version);
  DeployOptions ro = o;
  ro.take_over_pending = o.force;  // `cluster rollback --force`: the way out of a revision left pending
  ro.force = true;
  std::string text = target.spec;
  DeployResult res = roll_forward(c, spec, text, ro, "rollback", history,
                                  "rollback to revision " + std::to_string(target.revision) + " complete");
  res.target_revision = target.revision;
  const Record& current = history.back();
  res.spec_diff = unified_diff(current.spec, target.spec, "revision " + std::to_string(current.revision) + " (current)",
                               "revision " + std::to_string(target.revision));
  return res;
}

void check_not_pending(const std::vector<Record>& history, bool take_over_pending) {
  if (history.empty() || take_over_pending) return;
  const Record& r = history.back();
  if (r.status.rfind("pending-", 0) != 0) return;
  std::string held_by = r.holder.empty() ? std::string()
                                          : ", held by fatectl pid " + std::to_string(r.holder.pid) + " on " +
                                                r.holder.host + " (last heartbeat " + r.holder.heartbeat + ")";
  throw ReleaseBusy("release '" + r.name + "' revision " + std::to_string(r.revision) + " is " + r.status +
                    (r.description.empty() ? "" : " (" + r.description + ")") + " since " + r.updated + held_by +
                    ": another command is changing it; nothing was changed -- wait until it is done (`fatectl "
                    "cluster history " + r.name + "`), or, if that command was stopped, " +
                    (r.status == release::kPendingInstall
                         ? std::string("run the same `fatectl cluster install` again to finish it")
                         : "return to the deployed revision with `fatectl cluster rollback " + r.name + " --force`"));
}

release::Record rollback_target(kube::Client& c, const std::string& ns, const std::string& name, int revision) {
  auto history = Store(c, ns).history(name);
  if (history.empty()) throw failed("no cluster '" + name + "' in namespace '" + ns + "'");
  return pick_rollback_target(history, name, revision);
}

UninstallResult uninstall(kube::Client& c, const std::string& ns, const std::string& name, bool purge,
                          std::chrono::seconds timeout, bool wait, bool keep_history) {
  Store store(c, ns);
  auto history = store.history(name);
  if (history.empty()) throw failed("no cluster '" + name + "' in namespace '" + ns + "'");
  settle_then_check(store, history, false);
  UninstallResult res;
  std::set<ObjectRef> all_refs;
  std::vector<release::InventoryItem> items;
  for (const auto& r : history)
    for (const auto& it : r.inventory)
      if (all_refs.insert(it.ref).second) items.push_back(it);
  std::vector<release::InventoryItem> to_delete;
  bool delete_ns = false;
  for (const auto& it : items) {
    if (it.ref.kind == "Namespace") {
      if (purge && !keep_history) delete_ns = true;
      else if (purge) res.kept.push_back({it.ref, "holds the release history (--keep-history)"});
      else res.kept.push_back({it.ref, "the namespace is kept (--purge deletes it)"});
      continue;
    }
    if (it.ref.kind == "PersistentVolumeClaim" && !purge) {
      if (kube::get(c, it.ref)) res.kept.push_back({it.ref, "holds data (--purge deletes it)"});
      continue;
    }
    to_delete.push_back(it);
  }
  // PVCs made by StatefulSets from volumeClaimTemplates are not in the inventory.
  std::set<std::string> sts_prefixes;
  for (const auto& it : items)
    if (it.ref.kind == "StatefulSet") {
      auto sts = kube::get(c, it.ref);
      if (!sts) continue;
      for (const auto& t : F(*sts)["spec"]["volumeClaimTemplates"])
        sts_prefixes.insert(F(t)["metadata"]["name"].str() + "-" + it.ref.name + "-");
    }
  std::vector<release::InventoryItem> claim_pvcs;
  kube::list_each(c, "v1", "PersistentVolumeClaim", ns, "", [&](const YAML::Node& pvc) {
    ObjectRef r{"v1", "PersistentVolumeClaim", ns, F(pvc)["metadata"]["name"].str()};
    if (all_refs.count(r)) return;
    bool ours = false;
    for (const auto& p : sts_prefixes)
      if (r.name.rfind(p, 0) == 0) ours = true;
    if (!ours) return;
    if (purge) claim_pvcs.push_back({r, ""});
    else res.kept.push_back({r, "StatefulSet volume, holds data (--purge deletes it)"});
  });
  res.deleted = delete_objects(c, to_delete);
  auto more = delete_objects(c, claim_pvcs);
  res.deleted.insert(res.deleted.end(), more.begin(), more.end());
  if (wait) {
    wait_gone(c, res.deleted, timeout);
    log::progress_done();
  }
  // Secrets in the namespace outside the inventory: release records are handled below; what
  // `fatectl certs exchange` made is fatectl's (deleted with --purge); the rest is the user's.
  std::vector<release::InventoryItem> cert_secrets;
  kube::list_each(c, "v1", "Secret", ns, "", [&](const YAML::Node& s) {
    ObjectRef r{"v1", "Secret", ns, F(s)["metadata"]["name"].str()};
    std::string type = F(s)["type"].str();
    if (all_refs.count(r) || F(s)["metadata"]["labels"]["owner"].str() == "fatectl") return;
    if (type == "kubernetes.io/service-account-token") return;
    std::string made_by = F(s)["metadata"]["labels"][kMadeByLabel].str();  // "certs-exchange"
    std::replace(made_by.begin(), made_by.end(), '-', ' ');
    if (!made_by.empty()) {
      if (purge) cert_secrets.push_back({r, made_by});
      else res.kept.push_back({r, "made by `fatectl " + made_by + "` (--purge deletes it)"});
    } else if (delete_ns) {
      res.noted.push_back({r, "deleted with the namespace (not created by fatectl)"});
    } else {
      res.kept.push_back({r, "not created by fatectl (user-provided)"});
    }
  });
  for (const auto& r : delete_objects(c, cert_secrets)) {
    res.deleted.push_back(r);
    for (const auto& cs : cert_secrets)
      if (cs.ref == r) res.noted.push_back({r, "made by `fatectl " + cs.module + "`"});
  }
  if (keep_history) {
    // The newest revision records the uninstall; older deployed ones become superseded.
    Record last = history.back();
    last.status = release::kUninstalled;
    last.description = "uninstalled; history kept (--keep-history)";
    last.updated = now();
    last.holder = release::Holder{};
    store.save(last);
    supersede_older(store, history, last.revision);
    res.history_kept = static_cast<int>(history.size());
  } else {
    res.records = store.remove_all(name);
  }
  if (delete_ns) {
    ObjectRef nsref{"v1", "Namespace", "", ns};
    if (kube::remove(c, nsref)) res.deleted.push_back(nsref);
    if (wait) {
      wait_gone(c, {nsref}, timeout);
      log::progress_done();
    }
  }
  return res;
}

YAML::Node comparable(const YAML::Node& obj) {
  YAML::Node n = yaml::clone(obj);
  erase_key(n, "status");
  if (n["metadata"]) {
    YAML::Node md = n["metadata"];
    for (const char* k : {"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"})
      erase_key(md, k);
    if (md["annotations"]) {
      YAML::Node an = md["annotations"];
      erase_key(an, "deployment.kubernetes.io/revision");
      if (an.size() == 0) md.remove("annotations");
    }
  }
  if (F(n)["kind"].str() == "Secret") {
    for (const char* k : {"data", "stringData"})
      if (n[k] && n[k].IsMap())
        for (auto kv : n[k]) {
          std::string v = kv.second.Scalar();
          // Mask, but keep a short fingerprint so a changed value still shows as a change.
          unsigned long h = 1469598103934665603ul;
          for (unsigned char ch : v) h = (h ^ ch) * 1099511628211ul;
          kv.second = yaml::str("*** (fingerprint " + std::to_string(h % 100000) + ")");
        }
  }
  return n;
}

std::string unified_diff(const std::string& a, const std::string& b, const std::string& a_name,
                         const std::string& b_name, int context) {
  if (a == b) return "";
  auto x = split_lines(a), y = split_lines(b);
  size_t n = x.size(), m = y.size();
  // LCS table (objects are small: a few hundred lines at most).
  std::vector<std::vector<uint32_t>> L(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;) L[i][j] = x[i] == y[j] ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
  struct Op {
    char t;
    size_t i, j;
  };
  std::vector<Op> ops;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] == y[j]) ops.push_back({' ', i++, j++});
    else if (i < n && (j == m || L[i + 1][j] >= L[i][j + 1])) ops.push_back({'-', i++, j});
    else ops.push_back({'+', i, j++});
  }
  std::string out = "--- " + a_name + "\n+++ " + b_name + "\n";
  size_t k = 0;
  while (k < ops.size()) {
    while (k < ops.size() && ops[k].t == ' ') ++k;
    if (k == ops.size()) break;
    size_t start = k >= static_cast<size_t>(context) ? k - context : 0;
    size_t end = k;
    // extend the hunk while changes are within 2*context of each other
    size_t last_change = k;
    while (end < ops.size()) {
      if (ops[end].t != ' ') last_change = end;
      else if (end - last_change > static_cast<size_t>(2 * context)) break;
      ++end;
    }
    end = std::min(ops.size(), last_change + context + 1);
    size_t a_start = ops[start].i, b_start = ops[start].j, a_len = 0, b_len = 0;
    std::string body;
    for (size_t q = start; q < end; ++q) {
      const Op& op = ops[q];
      if (op.t == ' ') {
        body += " " + x[op.i] + "\n";
        ++a_len;
        ++b_len;
      } else if (op.t == '-') {
        body += "-" + x[op.i] + "\n";
        ++a_len;
      } else {
        body += "+" + y[op.j] + "\n";
        ++b_len;
      }
    }
    out += "@@ -" + std::to_string(a_len ? a_start + 1 : a_start) + "," + std::to_string(a_len) + " +" +
           std::to_string(b_len ? b_start + 1 : b_start) + "," + std::to_string(b_len) + " @@\n" + body;
    k = end;
  }
  return out;
}

std::vector<ObjectDiff> diff(kube::Client& c, const spec::ClusterSpec& spec) {
  auto objs = render_for(c, spec);
  std::vector<ObjectDiff> out;
  bool ns_exists = namespace_exists(c, spec.namespace_);
  for (const auto& m : objs) {
    ObjectRef r = m.ref();
    auto live = kube::get(c, r);
    std::string before = live ? yaml::to_yaml(comparable(*live)) : "";
    YAML::Node after_obj;
    if (!ns_exists && !r.namespace_.empty()) {
      after_obj = m.node;  // the server cannot dry-run into a namespace that does not exist
    } else {
      kube::ApplyOptions ao;
      ao.dry_run = true;
      after_obj = kube::apply(c, m.node, ao);
    }
    std::string after = yaml::to_yaml(comparable(after_obj));
    if (before == after) continue;
    std::string id = r.api_version + "." + r.kind + "." + (r.namespace_.empty() ? "" : r.namespace_ + ".") + r.name;
    out.push_back(ObjectDiff{r, m.module, live ? "update" : "create",
                             unified_diff(before, after, "live/" + id, "fatectl/" + id)});
  }
  Store store(c, spec.namespace_);
  auto history = store.history(spec.name);
  std::set<ObjectRef> now_refs;
  for (const auto& m : objs) now_refs.insert(m.ref());
  for (const auto& it : live_inventory(history)) {
    if (now_refs.count(it.ref) || it.ref.kind == "Namespace" || it.ref.kind == "PersistentVolumeClaim") continue;
    auto live = kube::get(c, it.ref);
    if (!live) continue;
    std::string id = it.ref.api_version + "." + it.ref.kind + "." + it.ref.namespace_ + "." + it.ref.name;
    out.push_back(ObjectDiff{it.ref, it.module, "delete",
                             unified_diff(yaml::to_yaml(comparable(*live)), "", "live/" + id, "fatectl/" + id)});
  }
  return out;
}

StatusReport status(kube::Client& c, const std::string& ns, const std::string& name) {
  Store store(c, ns);
  auto history = store.history(name);
  if (history.empty()) throw failed("no cluster '" + name + "' in namespace '" + ns + "'");
  release::settle_stale(store, history);
  std::optional<Record> latest = history.back();
  StatusReport rep;
  rep.record = *latest;
  if (latest->status == release::kUninstalled) return rep;  // its objects are gone on purpose
  std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, YAML::Node>> live;
  std::vector<std::string> order;
  std::map<std::string, ModuleStatus> mods;
  for (const auto& it : latest->inventory) {
    auto key = std::make_tuple(it.ref.api_version, it.ref.kind, it.ref.namespace_);
    if (!live.count(key)) {
      auto& byname = live[key];
      std::set<std::string> names;  // keep only the release's objects from each list
      for (const auto& x : latest->inventory)
        if (std::make_tuple(x.ref.api_version, x.ref.kind, x.ref.namespace_) == key) names.insert(x.ref.name);
      try {
        kube::list_each(c, it.ref.api_version, it.ref.kind, it.ref.namespace_, "", [&](const YAML::Node& o) {
          std::string n = F(o)["metadata"]["name"].str();
          if (names.count(n)) byname[n] = o;
        });
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::Timeout || dynamic_cast<const kube::BadAnswer*>(&e)) throw;
        log::debug("listing {}: {}", it.ref.kind, e.what());
      }
    }
    std::string mod = it.module.empty() ? "shared" : it.module;
    if (!mods.count(mod)) {
      order.push_back(mod);
      mods[mod].module = mod;
    }
    auto& byname = live[key];
    auto found = byname.find(it.ref.name);
    if (found == byname.end()) {
      rep.missing.push_back(it.ref);
      if (kube::waits_for(YAML::Load("{kind: " + it.ref.kind + "}")) || it.ref.kind == "Service") {
        mods[mod].total++;
        if (mods[mod].detail.empty()) mods[mod].detail = it.ref.kind + " " + it.ref.name + " is missing";
      }
      continue;
    }
    const YAML::Node& obj = found->second;
    if (kube::waits_for(obj)) {
      auto rd = kube::readiness(obj);
      mods[mod].total++;
      if (rd.ready) mods[mod].ready++;
      else if (mods[mod].detail.empty()) {
        std::string why = kube::explain(c, obj);
        mods[mod].detail = it.ref.kind + " " + it.ref.name + " " + rd.progress +
                           (why.empty() ? (rd.reason.empty() ? "" : ": " + rd.reason) : ": " + why);
      }
    }
    if (it.ref.kind == "Service") {
      std::string type = F(obj)["spec"]["type"].str();
      if (type == "NodePort" || type == "LoadBalancer") {
        for (const auto& p : F(obj)["spec"]["ports"]) {
          std::string np = F(p)["nodePort"].str();
          std::string port = F(p)["port"].str() + "/" + (F(p)["protocol"].str().empty() ? "TCP" : F(p)["protocol"].str());
          std::string pname = F(p)["name"].str();
          if (!np.empty())
            rep.endpoints.push_back({mod, "Service", it.ref.name, "NodePort",
                                     "nodePort " + np + " -> " + port + (pname.empty() ? "" : " (" + pname + ")")});
          if (type == "LoadBalancer")
            for (const auto& ing : F(obj)["status"]["loadBalancer"]["ingress"]) {
              std::string a = F(ing)["ip"].str().empty() ? F(ing)["hostname"].str() : F(ing)["ip"].str();
              rep.endpoints.push_back({mod, "Service", it.ref.name, "LoadBalancer", a + ":" + F(p)["port"].str()});
            }
        }
      }
    } else if (it.ref.kind == "Ingress") {
      for (const auto& rule : F(obj)["spec"]["rules"]) {
        std::string host = F(rule)["host"].str();
        if (!host.empty()) rep.endpoints.push_back({mod, "Ingress", it.ref.name, "Ingress", host});
      }
      for (const auto& ing : F(obj)["status"]["loadBalancer"]["ingress"]) {
        std::string a = F(ing)["ip"].str().empty() ? F(ing)["hostname"].str() : F(ing)["ip"].str();
        if (!a.empty()) rep.endpoints.push_back({mod, "Ingress", it.ref.name, "address", a});
      }
    }
  }
  for (const auto& m : order)
    if (mods[m].total > 0 || !mods[m].detail.empty()) rep.modules.push_back(mods[m]);
  return rep;
}

PendingRevision::PendingRevision(kube::Client& c, const spec::ClusterSpec& spec, const std::string& spec_text,
                                 int expected_revision, const std::string& description)
    : c_(c) {
  Store store(c, spec.namespace_);
  auto history = store.history(spec.name);
  settle_then_check(store, history, false);  // a gone holder's revision: failed; a live one refuses
  auto moved = [&](const std::string& found) {
    return ReleaseBusy("release '" + spec.name + "' changed while this command ran (expected revision " +
                  std::to_string(expected_revision) + ", found " + found + "); nothing was changed -- run the command again");
  };
  if (history.empty() || history.back().revision != expected_revision)
    throw moved(history.empty() ? std::string("none") : std::to_string(history.back().revision));
  rec_ = new_record(spec, spec_text, expected_revision + 1, release::kPendingUpgrade, render_for(c, spec));
  rec_.description = description + " (in progress)";
  if (!store.create(rec_)) throw moved("revision " + std::to_string(rec_.revision) + " being written by another command");
  store_ = std::make_unique<Store>(c, spec.namespace_);
  beat_ = std::make_unique<release::Heartbeat>(*store_, rec_);
  rec_.description = description;
}

PendingRevision::~PendingRevision() {
  if (beat_) beat_->stop();
}

void PendingRevision::commit() {
  if (beat_) beat_->stop();
  Store store(c_, rec_.namespace_);
  auto history = store.history(rec_.name);
  rec_.status = release::kDeployed;
  rec_.updated = now();
  rec_.holder = release::Holder{};
  store.save(rec_);
  supersede_older(store, history, rec_.revision);
  store.prune(rec_.name, 10);
}

void PendingRevision::abandon() {
  if (beat_) beat_->stop();
  Store(c_, rec_.namespace_).remove(rec_.name, rec_.revision);
}


std::string release_namespace(kube::Client& c, const std::string& name, const std::string& ns_flag) {
  if (!ns_flag.empty()) return ns_flag;
  std::vector<std::string> found;
  try {
    found = Store::find_namespaces(c, name);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unreachable || dynamic_cast<const kube::BadAnswer*>(&e)) throw;
    log::debug("cannot search all namespaces ({}); using the context's namespace", e.what());
    return c.config().namespace_;
  }
  if (found.size() == 1) return found[0];
  if (found.empty()) throw failed("no cluster named '" + name + "' found in any namespace (see `fatectl cluster list -A`)");
  std::string all;
  for (const auto& n : found) all += (all.empty() ? "" : ", ") + n;
  throw invalid("cluster '" + name + "' exists in several namespaces (" + all + "): pass -n NAMESPACE");
}

}  // namespace fatectl::ops
