// fatectl cluster install|upgrade|diff|uninstall|list|status|history|rollback: the verbs that
// talk to the Kubernetes cluster. Flags are parsed here; src/ops does the work.
#include <cstdio>
#include <memory>
#include <optional>

#include "commands.h"
#include "exchange_flags.h"
#include "fatectl/core/duration.h"
#include "object_output.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/release/pending.h"
#include "fatectl/ops/events.h"
#include "fatectl/ops/release_view.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::cli {
namespace {

struct OpsFlags {
  std::string file;
  bool create_namespace = false;
  bool wait = true;
  std::string timeout = "30m";
  std::string dry_run;
  bool purge = false;
  bool force = false;
  bool atomic = false;
  bool keep_history = false;
  bool events = false;
  bool all_namespaces = false;
  std::string name;
  int revision = 0;
  bool skip_plan = false;  // install: do not run the placement check first
  bool replace_routes = false;  ///< upgrade of an exchange: drop routes only the release has
  bool remove_route = false;    ///< uninstall of a party: also remove its routes from the exchanges
  bool skip_secret_check = false;
  ExchangeReloadFlags reload;
  std::vector<int> revisions;  ///< diff --revision A --revision B
};

// The command's one deadline: --timeout from now bounds every request, retry and wait of the
// clients made afterwards (kube::Deadline). Absurd values are usage errors.
void limit_command(const OpsFlags& f) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(fatectl::parse_duration(f.timeout, "--timeout"));
  if (s.count() > kube::Deadline::kMaxBudget.count() / 1000)
    throw invalid("--timeout " + f.timeout + ": longer than " + kube::Deadline::describe(kube::Deadline::kMaxBudget) +
                  ", the most fatectl accepts");
  kube::Deadline::limit_command(s, "--timeout " + f.timeout);
}

std::unique_ptr<kube::Client> connect(const GlobalOptions& g) {
  return std::make_unique<kube::Client>(kube::load_config({g.kubeconfig, g.context}));
}

spec::ClusterSpec load_spec(const std::string& path, std::string& text, const GlobalOptions& g) {
  text = yaml::read_file(path);
  spec::ClusterSpec s = spec::parse(text, path);
  for (const auto& w : s.warnings) log::warn("{}", w);
  if (!g.namespace_.empty() && g.namespace_ != s.namespace_)
    throw invalid(path + ": namespace: the spec says '" + s.namespace_ + "' but -n says '" + g.namespace_ +
                  "'; change the spec (the namespace is part of the cluster's identity)");
  return s;
}

ops::DeployOptions deploy_options(const OpsFlags& f) {
  ops::DeployOptions o;
  o.create_namespace = f.create_namespace;
  o.wait = f.wait;
  o.timeout = std::chrono::duration_cast<std::chrono::seconds>(fatectl::parse_duration(f.timeout, "--timeout"));
  o.dry_run = f.dry_run;
  o.purge = f.purge;
  o.force = f.force;
  o.plan = !f.skip_plan;
  o.skip_secret_check = f.skip_secret_check;
  o.atomic = f.atomic;
  return o;
}

// An exchange's upgrade or rollback, as a route transaction: the plan is shown, then the revision is
// deployed and every exchange pod reloaded and verified before it is recorded.
void deploy_exchange(kube::Client& c, const ops::RouteTxnPlan& plan, const OpsFlags& f, const GlobalOptions& g,
                     int rollback_to, const std::string& verb) {
  bool table = g.format() == output::Format::Table;
  if (table) std::fputs(ops::route_plan_text(plan).c_str(), stdout);
  std::fflush(stdout);
  for (const auto& w : plan.warnings) log::warn("{}", w);
  ops::DeployResult res;
  ops::RouteTxnReport rep;
  try {
    rep = ops::deploy_exchange(c, plan, deploy_options(f), f.reload.options(g), rollback_to, &res);
  } catch (const ops::RouteTxnFailure& e) {
    if (table) std::fputs(ops::route_txn_text(e.report).c_str(), stdout);
    else output::print(g.format(), ops::route_txn_yaml(e.report));
    throw;
  }
  if (!table) {
    YAML::Node n = ops::route_txn_yaml(rep);
    n["name"] = yaml::str(res.name);
    n["revision"] = res.revision;
    n["status"] = yaml::str(res.status);
    output::print(g.format(), n);
    return;
  }
  std::fputs(ops::reload_report_text(rep.forward).c_str(), stdout);
  std::printf("cluster %s %s in namespace %s (revision %d, %zu objects%s; routes reloaded and verified in every pod)\n",
              res.name.c_str(), verb.c_str(), res.namespace_.c_str(), res.revision, res.objects.size(),
              f.wait ? ", all ready" : "");
  for (const auto& p : res.pruned) std::printf("deleted %s (no longer in the spec)\n", p.str().c_str());
  for (const auto& k : res.kept)
    std::printf("kept %s (no longer in the spec; holds data — --purge deletes it)\n", k.str().c_str());
}

// Installing an exchange again with the spec it runs re-applies its route ConfigMaps (repairing
// drift): every pod then reloads and is verified against the record, as after any route change.
// (A first install needs none: new pods read their routes at start.)
void verify_exchange(const ops::DeployResult& r, const OpsFlags& f, const GlobalOptions& g) {
  ops::ReloadOptions ro = f.reload.options(g);
  ro.namespace_override = r.namespace_;
  ops::RouteTxnPlan plan = ops::plan_route_txn(ops::load_exchange_record(ro, r.name), ops::RouteTxnChange{});
  try {
    ops::RouteTxnReport rep = ops::run_route_txn(plan, ro);
    if (g.format() == output::Format::Table) std::fputs(ops::reload_report_text(rep.forward).c_str(), stdout);
  } catch (const ops::RouteTxnFailure& e) {
    if (g.format() == output::Format::Table) std::fputs(ops::route_txn_text(e.report).c_str(), stdout);
    throw;
  }
}

// Uninstalling a party: the exchanges that still route it (in this kubeconfig) are named, and with
// --remove-route its routes are removed from them first, each as a route transaction.
void party_routes(kube::Client& c, const std::string& ns, const OpsFlags& f, const GlobalOptions& g) {
  auto rec = release::Store(c, ns).latest(f.name);
  if (!rec || rec->chart == "fate-exchange") return;
  long party = 0;
  try {
    party = spec::parse(rec->spec, "release " + f.name).party_id;
  } catch (const Error&) {
  }
  if (party <= 0) return;
  std::vector<ops::PartyRoutes> found;
  try {
    found = ops::exchanges_routing(c, party);
  } catch (const Error& e) {
    log::warn("could not check whether an Exchange still routes party {}: {}", party, e.what());
    return;
  }
  for (const auto& x : found) {
    std::string routes;
    for (const auto& r : x.routes) routes += (routes.empty() ? "" : ", ") + r;
    if (!f.remove_route) {
      log::warn("the Exchange {} (namespace {}, revision {}) still routes party {}: {}. Pass --remove-route to remove "
                "them in this command, or run `fatectl exchange route remove --release {} -n {} --party {}`",
                x.exchange.release, x.exchange.ns, x.exchange.revision, party, routes, x.exchange.release, x.exchange.ns,
                party);
      continue;
    }
    ops::RouteTxnChange ch;
    ch.ops = {ops::RouteOp::removing(party)};
    ch.description = "route remove: party " + std::to_string(party) + " (cluster uninstall " + f.name + ")";
    ops::RouteTxnPlan plan = ops::plan_route_txn(x.exchange, ch);
    std::fprintf(stderr, "removing party %ld's routes from the Exchange %s: %s\n", party, x.exchange.release.c_str(),
                 routes.c_str());
    ops::ReloadOptions ro = f.reload.options(g);
    ro.namespace_override = x.exchange.ns;
    try {
      ops::RouteTxnReport rep = ops::run_route_txn(plan, ro);
      if (g.format() == output::Format::Table) std::fputs(ops::route_txn_text(rep).c_str(), stdout);
    } catch (const ops::RouteTxnFailure& e) {
      if (g.format() == output::Format::Table) std::fputs(ops::route_txn_text(e.report).c_str(), stdout);
      throw Error(e.kind(), std::string(e.what()) + "; cluster " + f.name + " was NOT uninstalled");
    }
  }
}

// Prints text with every registered secret (tokens, spec passwords, Secret values) replaced by ***.
void out(const std::string& text) { print_redacted(text); }

// Secret values never reach the terminal: a dry run shows their keys with "***".
YAML::Node masked(const YAML::Node& obj) {
  if (!obj["kind"] || obj["kind"].Scalar() != "Secret") return obj;
  YAML::Node n = yaml::clone(obj);
  for (const char* k : {"data", "stringData"})
    if (n[k] && n[k].IsMap())
      for (auto kv : n[k]) kv.second = yaml::str("***");
  return n;
}

}  // namespace

void print_redacted(const std::string& text) {
  std::string r = log::redact(text);
  std::fwrite(r.data(), 1, r.size(), stdout);
}

void print_objects(const std::vector<kube::Manifest>& objs, const GlobalOptions& g) {
  auto fmt = g.format();
  if (fmt == output::Format::Yaml) {
    for (const auto& m : objs)
      out("---\n" + (m.module.empty() ? std::string() : "# module: " + m.module + "\n") + yaml::to_yaml(masked(m.node)));
    return;
  }
  if (fmt == output::Format::Json) {
    YAML::Node list(YAML::NodeType::Map);
    list["apiVersion"] = "v1";
    list["kind"] = "List";
    list["items"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& m : objs) list["items"].push_back(masked(m.node));
    out(yaml::to_json(list));
    return;
  }
  output::Table t;
  t.headers = {"module", "kind", "namespace", "name"};
  for (const auto& m : objs) {
    auto r = m.ref();
    t.rows.push_back({m.module.empty() ? "-" : m.module, r.kind, r.namespace_.empty() ? "-" : r.namespace_, r.name});
  }
  std::printf("%s", t.render().c_str());
}

namespace {

void report_deploy(const ops::DeployResult& r, const std::string& verb, const OpsFlags& f, const GlobalOptions& g) {
  if (f.dry_run == "client" && verb == "rolled back") {
    // rollback --dry-run=client: the history was read, nothing was sent
    if (g.format() == output::Format::Table) {
      std::printf("dry run: rolling back %s to revision %d would apply %zu objects as revision %d\n", r.name.c_str(),
                  r.target_revision, r.objects.size(), r.revision);
      for (const auto& p : r.pruned) std::printf("would delete %s (not in revision %d)\n", p.str().c_str(), r.target_revision);
      for (const auto& k : r.kept)
        std::printf("would keep %s (not in revision %d; holds data — --purge deletes it)\n", k.str().c_str(), r.target_revision);
      if (r.spec_diff.empty()) std::printf("the spec of revision %d is the current one\n", r.target_revision);
      else out(r.spec_diff);
      std::fprintf(stderr, "dry run (client): nothing was sent to the cluster\n");
      return;
    }
  } else if (f.dry_run == "client") {
    print_objects(r.objects, g);
    std::fprintf(stderr, "dry run (client): %zu objects would be applied to namespace %s; nothing was sent\n",
                 r.objects.size(), r.namespace_.c_str());
    for (const auto& p : r.pruned) std::fprintf(stderr, "would delete %s (no longer in the spec)\n", p.str().c_str());
    return;
  }
  if (g.format() != output::Format::Table) {
    YAML::Node n(YAML::NodeType::Map);
    n["name"] = yaml::str(r.name);
    n["namespace"] = yaml::str(r.namespace_);
    n["revision"] = r.revision;
    n["status"] = yaml::str(r.status);
    n["unchanged"] = r.unchanged;
    n["objects"] = static_cast<int>(r.objects.size());
    if (r.target_revision) n["rolledBackTo"] = r.target_revision;
    if (!f.dry_run.empty()) n["dryRun"] = yaml::str(f.dry_run);
    if (!r.spec_diff.empty() && !f.dry_run.empty()) n["specDiff"] = yaml::str(log::redact(r.spec_diff));
    for (const auto& p : r.pruned) n["pruned"].push_back(yaml::str(p.str()));
    for (const auto& k : r.kept) n["kept"].push_back(yaml::str(k.str()));
    output::print(g.format(), n);
    return;
  }
  if (f.dry_run == "server") {
    std::printf("dry run (server): the API server accepted all %zu objects for %s in namespace %s\n",
                r.objects.size(), r.name.c_str(), r.namespace_.c_str());
    for (const auto& p : r.pruned) std::printf("would delete %s (no longer in the spec)\n", p.str().c_str());
    for (const auto& k : r.kept) std::printf("would keep %s (no longer in the spec; holds data)\n", k.str().c_str());
    return;
  }
  if (r.unchanged)
    std::printf("cluster %s is already installed in namespace %s (revision %d) with this spec; nothing changed\n",
                r.name.c_str(), r.namespace_.c_str(), r.revision);
  else if (r.target_revision)
    std::printf("cluster %s rolled back to revision %d in namespace %s (now revision %d, %zu objects%s)\n",
                r.name.c_str(), r.target_revision, r.namespace_.c_str(), r.revision, r.objects.size(),
                f.wait ? ", all ready" : ", not waited for");
  else
    std::printf("cluster %s %s in namespace %s (revision %d, %zu objects%s)\n", r.name.c_str(), verb.c_str(),
                r.namespace_.c_str(), r.revision, r.objects.size(), f.wait ? ", all ready" : ", not waited for");
  for (const auto& p : r.pruned) std::printf("deleted %s (no longer in the spec)\n", p.str().c_str());
  for (const auto& k : r.kept)
    std::printf("kept %s (no longer in the spec; holds data — --purge deletes it)\n", k.str().c_str());
  std::printf("next: fatectl cluster status %s -n %s\n", r.name.c_str(), r.namespace_.c_str());
}

// The first line of `s`, cut to `max` characters with "...".
std::string one_line(const std::string& s, size_t max) {
  std::string l = s.substr(0, s.find('\n'));
  bool more = l.size() != s.size();
  if (l.size() > max) {
    l = l.substr(0, max - 3);
    more = true;
  }
  return more ? l + "..." : l;
}

void run_status(const OpsFlags& f, const GlobalOptions& g, bool with_events) {
  auto c = connect(g);
  std::string ns = ops::release_namespace(*c, f.name, g.namespace_);
  auto rep = ops::status(*c, ns, f.name);
  bool uninstalled = rep.record.status == release::kUninstalled;
  bool healthy = rep.missing.empty() && !uninstalled;
  for (const auto& m : rep.modules)
    if (m.ready < m.total) healthy = false;
  std::vector<ops::ModuleEvent> events;
  if (with_events && !uninstalled) events = ops::recent_events(*c, rep.record);
  std::optional<ops::LiveReport> live;  // an exchange: each pod's routes against the record
  if (rep.record.chart == "fate-exchange" && rep.record.status == release::kDeployed) {
    ops::ReloadOptions ro = f.reload.options(g);
    auto cl = ops::kube_exchange_cluster(*c);
    live = ops::read_live_routes(*cl, ops::render_route_configmaps(rep.record.spec, "release " + f.name, ns), ro);
    healthy = healthy && live->in_sync();
  }
  if (g.format() != output::Format::Table) {
    YAML::Node n = rep.record.to_node(false);
    n.remove("inventory");
    n["modules"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& m : rep.modules) {
      YAML::Node e(YAML::NodeType::Map);
      e["module"] = yaml::str(m.module);
      e["ready"] = m.ready;
      e["total"] = m.total;
      if (!m.detail.empty()) e["detail"] = yaml::str(m.detail);
      n["modules"].push_back(e);
    }
    n["endpoints"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& ep : rep.endpoints) {
      YAML::Node e(YAML::NodeType::Map);
      e["module"] = yaml::str(ep.module);
      e["kind"] = yaml::str(ep.kind);
      e["name"] = yaml::str(ep.name);
      e["type"] = yaml::str(ep.type);
      e["address"] = yaml::str(ep.address);
      n["endpoints"].push_back(e);
    }
    n["missing"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& m : rep.missing) n["missing"].push_back(yaml::str(m.str()));
    if (with_events) {
      n["events"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& ev : events) {
        YAML::Node e(YAML::NodeType::Map);
        e["module"] = yaml::str(ev.module);
        e["type"] = yaml::str(ev.type);
        e["reason"] = yaml::str(ev.reason);
        e["object"] = yaml::str(ev.object);
        e["count"] = ev.count;
        e["last"] = yaml::str(ev.last);
        e["message"] = yaml::str(ev.message);
        n["events"].push_back(e);
      }
    }
    if (live) n["routes"] = ops::live_report_yaml(*live);
    output::print(g.format(), n);
  } else {
    const auto& r = rep.record;
    std::printf("cluster %s in namespace %s: revision %d, %s (%s %s), updated %s\n", r.name.c_str(),
                r.namespace_.c_str(), r.revision, r.status.c_str(), r.chart.c_str(), r.chart_version.c_str(),
                r.updated.c_str());
    if (!r.description.empty()) std::printf("%s\n", one_line(r.description, 300).c_str());
    if (uninstalled) {
      std::printf("its objects were deleted and its history kept: `fatectl cluster rollback %s -n %s` restores "
                  "revision %d\n", r.name.c_str(), r.namespace_.c_str(), r.revision);
      throw ExitCode{1};
    }
    output::Table t;
    t.headers = {"module", "ready", "status"};
    for (const auto& m : rep.modules)
      t.rows.push_back({m.module, std::to_string(m.ready) + "/" + std::to_string(m.total),
                        m.ready == m.total ? "ready" : m.detail});
    std::printf("\n%s", t.render().c_str());
    if (!rep.endpoints.empty()) {
      output::Table e;
      e.headers = {"module", "kind", "name", "type", "address"};
      for (const auto& ep : rep.endpoints) e.rows.push_back({ep.module, ep.kind, ep.name, ep.type, ep.address});
      std::printf("\nendpoints:\n%s", e.render().c_str());
    }
    for (const auto& m : rep.missing) std::printf("missing: %s (re-run install or upgrade)\n", m.str().c_str());
    if (live) {
      std::printf("\nroutes against revision %d:\n", r.revision);
      for (const auto& l : ops::live_report_lines(*live)) std::printf("  %s\n", l.c_str());
    }
    if (with_events) {
      if (events.empty()) {
        std::printf("\nevents: none recorded for this cluster's objects (the cluster keeps them about an hour)\n");
      } else {
        std::printf("\nevents (per module: warnings first, then the newest):\n");
        output::Table e;
        e.headers = {"module", "type", "reason", "age", "object", "message"};
        for (const auto& ev : events)
          e.rows.push_back({ev.module, ev.type, ev.reason + (ev.count > 1 ? " (x" + std::to_string(ev.count) + ")" : ""),
                            ops::age_of(ev.last), ev.object, one_line(ev.message, 120)});
        out(e.render());
      }
    }
  }
  if (!healthy) throw ExitCode{1};
}

void add_deploy_flags(CLI::App* c, OpsFlags& f) {
  c->add_option("-f,--file", f.file, "cluster spec (KubeFATE cluster.yaml; - for stdin)")->required();
  c->add_flag("--wait,!--no-wait", f.wait, "wait until every module is ready (default: on)");
  c->add_option("--timeout", f.timeout,
                "deadline of the whole command: apply, wait and every API request, e.g. 90s, 10m, 1h (default 30m)");
  c->add_option("--dry-run", f.dry_run,
                "client: render and print the objects without contacting the cluster; server: let the API "
                "server validate everything (dryRun=All) and store nothing")
      ->check(CLI::IsMember({"client", "server"}));
}

}  // namespace

void add_cluster_ops_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* cluster = cluster_command(root);
  auto f = std::make_shared<OpsFlags>();

  // install
  CLI::App* install = cluster->add_subcommand("install", "Install a FATE party or Exchange from a cluster spec");
  add_deploy_flags(install, *f);
  install->add_flag("--create-namespace", f->create_namespace, "create the spec's namespace if it does not exist");
  install->add_flag("--skip-plan", f->skip_plan,
                    "do not check first that every pod can be placed (see `fatectl cluster plan`)");
  install->add_flag("--skip-secret-check", f->skip_secret_check,
                    "install even when a Secret the pods mount (a certificate) does not exist yet");
  add_reload_flags(install, f->reload, false, "reload-");
  install->footer(
      "First checks, as `fatectl cluster plan` does, that every pod can be placed on the nodes (requests,\n"
      "nodeSelector, taints, StorageClasses, the namespace's ResourceQuota/LimitRange) and stops before\n"
      "applying anything when one cannot (exit 1; --skip-plan goes ahead).\n"
      "Applies every object server-side (field manager fatectl) in dependency order, records revision 1\n"
      "in a Secret fatectl.release.v1.NAME.v1 in the namespace, then waits for every module and says\n"
      "why when one is stuck (image pulls, pending volumes, crash loops with their last log lines).\n"
      "Installing the same spec again changes nothing; re-running an interrupted install converges.\n"
      "Before applying anything it checks that every Secret the pods mount (certificates such as\n"
      "traffic-server-cert and pulsar-cert) exists or is rendered, and names those that do not.\n"
      "Installing an exchange again with the same spec also reloads and verifies its pods' routes.\n\n"
      "Examples:\n"
      "  fatectl cluster install -f party-9999.yaml --create-namespace\n"
      "  fatectl cluster install -f party-9999.yaml --dry-run=client -o yaml   # Secret values print as ***\n"
      "  fatectl cluster install -f party-9999.yaml --dry-run=server\n"
      "  fatectl --context prod cluster install -f exchange.yaml --timeout 10m");
  install->callback([f, &g] {
    limit_command(*f);
    std::string text;
    auto spec = load_spec(f->file, text, g);
    auto o = deploy_options(*f);
    std::unique_ptr<kube::Client> c;
    if (f->dry_run == "client") {
      c = std::make_unique<kube::Client>(kube::Config{});
    } else {
      c = connect(g);
    }
    auto r = ops::install(*c, spec, text, o);
    report_deploy(r, "installed", *f, g);
    if (spec.is_exchange() && r.unchanged && f->dry_run.empty() && f->wait) verify_exchange(r, *f, g);
  });

  // upgrade
  CLI::App* upgrade = cluster->add_subcommand("upgrade", "Change an installed cluster to a new spec");
  add_deploy_flags(upgrade, *f);
  upgrade->add_flag("--purge", f->purge, "also delete PersistentVolumeClaims that are no longer in the spec");
  upgrade->add_flag("--force", f->force, "allow a chart change or a chart downgrade");
  upgrade->add_flag("--atomic", f->atomic,
                    "when applying or waiting fails, roll back to the deployed revision by itself (needs --wait)");
  upgrade->add_flag("--replace-routes", f->replace_routes,
                    "exchange: drop the routes the release has and the spec lacks (default: keep them, saying so)");
  add_reload_flags(upgrade, f->reload, true, "reload-");
  upgrade->footer(
      "Applies the new spec as the next revision, deletes the objects of the previous revision that are\n"
      "gone from it (never PersistentVolumeClaims unless --purge), waits, and records the revision.\n"
      "A different chartName or a lower chartVersion is refused unless --force. With --atomic a failed\n"
      "upgrade (an apply error, or a module not ready within --timeout) is rolled back at once to the\n"
      "revision that was deployed; the command still exits non-zero and says so. --dry-run=client reads\n"
      "the release's history (what would be deleted) but sends nothing.\n"
      "The revision is reserved create-only: while another command changes the release (its newest\n"
      "revision is pending and its fatectl still runs) the upgrade is refused, changing nothing; a\n"
      "pending revision whose fatectl is gone is marked failed first, saying so.\n"
      "An exchange (chart fate-exchange) is upgraded as a route transaction: routes added to the release\n"
      "with `exchange route add --release` that the spec lacks are kept (one line names them;\n"
      "--replace-routes drops them), the route diff is shown, and after the objects are ready Traffic\n"
      "Server is reloaded and verified in every pod before the revision is recorded. On failure the\n"
      "route ConfigMaps found before are restored and reloaded, with --reload-timeout of its own (also\n"
      "after --timeout passed, and after an --atomic rollback).\n\n"
      "Examples:\n"
      "  fatectl cluster diff -f party-9999.yaml      # review first: exit 1 means there are changes\n"
      "  fatectl cluster upgrade -f party-9999.yaml\n"
      "  fatectl cluster upgrade -f party-9999.yaml --atomic --timeout 15m\n"
      "  fatectl cluster upgrade -f fate-exchange.yaml --dry-run=server   # shows the route diff\n"
      "  fatectl cluster upgrade -f fate-exchange.yaml --replace-routes");
  upgrade->callback([f, &g] {
    limit_command(*f);
    std::string text;
    auto spec = load_spec(f->file, text, g);
    if (f->atomic && !f->wait) throw invalid("--atomic needs --wait: without waiting a failed upgrade is not noticed");
    auto c = connect(g);  // a client dry run reads the history too (what would be deleted)
    if (spec.is_exchange()) {
      auto plan = ops::plan_exchange_upgrade(*c, spec, text, f->replace_routes);
      if (f->dry_run.empty()) return deploy_exchange(*c, plan, *f, g, 0, "upgraded");
      if (g.format() == output::Format::Table) std::fputs(ops::route_plan_text(plan).c_str(), stdout);
      text = plan.new_text;
      spec = spec::parse(text, f->file);
    }
    auto r = ops::upgrade(*c, spec, text, deploy_options(*f));
    report_deploy(r, "upgraded", *f, g);
  });

  // diff
  CLI::App* diff = cluster->add_subcommand(
      "diff", "Show what install or upgrade would change, or how two revisions differ (exit 1 on a difference)");
  diff->add_option("-f,--file", f->file, "cluster spec to compare with the live cluster");
  diff->add_option("name", f->name, "with --revision: the cluster (release) name");
  diff->add_option("--revision", f->revisions,
                   "compare two revisions of NAME instead (give it twice: --revision 1 --revision 3; once: that "
                   "revision against the newest)")
      ->allow_extra_args(false);
  diff->footer(
      "With -f: sends every rendered object to the API server as a server-side dry run and prints a\n"
      "unified diff against the live object (server-set fields such as managedFields, status,\n"
      "resourceVersion and uid are left out; Secret values are masked). Objects the installed revision\n"
      "has and the spec no longer has are shown as deletions.\n"
      "With NAME --revision A [--revision B]: the stored specs of the two revisions (passwords masked),\n"
      "then the objects they render to, from A to B.\n"
      "Exit status: 0 no difference, 1 differences, like `kubectl diff`.\n\n"
      "Examples:\n"
      "  fatectl cluster diff -f party-9999.yaml\n"
      "  fatectl cluster diff fate-9999 --revision 1 --revision 3\n"
      "  fatectl cluster diff fate-9999 --revision 2 -o yaml");
  diff->callback([f, &g] {
    auto print = [&g](const std::vector<ops::ObjectDiff>& d, const std::string* spec_diff) {
      if (g.format() != output::Format::Table) {
        YAML::Node n(YAML::NodeType::Sequence);
        for (const auto& x : d) {
          YAML::Node e(YAML::NodeType::Map);
          e["object"] = yaml::str(x.ref.str());
          e["module"] = yaml::str(x.module);
          e["action"] = yaml::str(x.action);
          e["diff"] = yaml::str(x.diff);
          n.push_back(e);
        }
        if (spec_diff) {
          YAML::Node m(YAML::NodeType::Map);
          m["spec"] = yaml::str(*spec_diff);
          m["objects"] = n;
          n = m;
        }
        out(g.format() == output::Format::Json ? yaml::to_json(n) : yaml::to_yaml(n));
      } else {
        if (spec_diff) out(*spec_diff);
        for (const auto& x : d) out(x.diff);
      }
    };
    if (!f->revisions.empty()) {
      if (!f->file.empty()) throw invalid("cluster diff: give either -f SPEC or NAME --revision A [--revision B], not both");
      if (f->name.empty()) throw invalid("cluster diff --revision: name the cluster, e.g. fatectl cluster diff fate-9999 --revision 1");
      if (f->revisions.size() > 2) throw invalid("cluster diff: --revision at most twice (from and to)");
      for (int r : f->revisions)
        if (r < 1) throw invalid("--revision: " + std::to_string(r) + " is not a revision number (1, 2, ...)");
      auto c = connect(g);
      std::string ns = ops::release_namespace(*c, f->name, g.namespace_);
      int to = f->revisions.size() == 2 ? f->revisions[1] : 0;
      auto d = ops::diff_revisions(*c, ns, f->name, f->revisions[0], to);
      print(d.objects, &d.spec_diff);
      if (d.spec_diff.empty() && d.objects.empty()) {
        std::fprintf(stderr, "no difference between revisions %d and %d\n", d.from, d.to);
        return;
      }
      std::fprintf(stderr, "revisions %d and %d differ: %s%zu object(s)\n", d.from, d.to,
                   d.spec_diff.empty() ? "" : "the spec and ", d.objects.size());
      throw ExitCode{1};
    }
    if (f->file.empty()) throw invalid("cluster diff: -f SPEC is required (or NAME --revision A [--revision B])");
    if (!f->name.empty()) throw invalid("cluster diff: NAME goes with --revision; with -f the spec names the cluster");
    std::string text;
    auto spec = load_spec(f->file, text, g);
    auto c = connect(g);
    auto d = ops::diff(*c, spec);
    print(d, nullptr);
    if (d.empty()) {
      std::fprintf(stderr, "no changes: the cluster matches %s\n", f->file.c_str());
      return;
    }
    std::fprintf(stderr, "%zu object(s) would change\n", d.size());
    throw ExitCode{1};
  });

  // uninstall
  CLI::App* uninstall = cluster->add_subcommand("uninstall", "Delete an installed cluster (keeps data unless --purge)");
  uninstall->add_option("name", f->name, "cluster (release) name")->required();
  uninstall->add_flag("--purge", f->purge,
                      "also delete PersistentVolumeClaims (data!), the Secrets `fatectl certs exchange` made, and the "
                      "namespace when fatectl created it");
  uninstall->add_flag("--keep-history", f->keep_history,
                      "keep the release records (the newest marked uninstalled): history shows them and rollback "
                      "restores the cluster");
  uninstall->add_flag("--wait,!--no-wait", f->wait, "wait until the objects are gone (default: on)");
  uninstall->add_option("--timeout", f->timeout, "deadline of the whole command, waiting included (default 30m)");
  uninstall->add_flag("--remove-route", f->remove_route,
                      "a party that an Exchange in this kubeconfig still routes: remove its routes there first "
                      "(a route transaction per Exchange); without it fatectl only warns");
  add_reload_flags(uninstall, f->reload, true, "reload-");
  uninstall->footer(
      "Deletes the cluster's objects in reverse dependency order and waits for them to go, then its\n"
      "release records (kept with --keep-history). Keeps PersistentVolumeClaims, the namespace, the\n"
      "Secrets `fatectl certs exchange` made (labelled fatectl.io/made-by) and Secrets fatectl did not\n"
      "create, and prints exactly what it kept. --purge deletes the claims, those certificate Secrets and\n"
      "the namespace (with --keep-history the namespace stays: it holds the history), and names every\n"
      "Secret that goes with the namespace. When an installed Exchange still routes the party, fatectl\n"
      "names those routes; --remove-route takes them out first (and nothing is uninstalled if that fails).\n\n"
      "Examples:\n  fatectl cluster uninstall fate-9999\n  fatectl cluster uninstall fate-9999 --keep-history\n"
      "  fatectl cluster uninstall fate-9999 -n fate-9999 --purge\n"
      "  fatectl cluster uninstall fate-10000 --remove-route");
  uninstall->callback([f, &g] {
    limit_command(*f);
    auto timeout = std::chrono::duration_cast<std::chrono::seconds>(fatectl::parse_duration(f->timeout, "--timeout"));
    auto c = connect(g);
    std::string ns = ops::release_namespace(*c, f->name, g.namespace_);
    party_routes(*c, ns, *f, g);
    auto r = ops::uninstall(*c, ns, f->name, f->purge, timeout, f->wait, f->keep_history);
    if (g.format() != output::Format::Table) {
      YAML::Node n(YAML::NodeType::Map);
      n["name"] = yaml::str(f->name);
      n["namespace"] = yaml::str(ns);
      n["deleted"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& d : r.deleted) n["deleted"].push_back(yaml::str(d.str()));
      n["notes"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& [k, why] : r.noted) {
        YAML::Node e(YAML::NodeType::Map);
        e["object"] = yaml::str(k.str());
        e["note"] = yaml::str(why);
        n["notes"].push_back(e);
      }
      n["kept"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& [k, why] : r.kept) {
        YAML::Node e(YAML::NodeType::Map);
        e["object"] = yaml::str(k.str());
        e["reason"] = yaml::str(why);
        n["kept"].push_back(e);
      }
      n["releaseRecords"] = r.records;
      n["historyKept"] = r.history_kept;
      output::print(g.format(), n);
      return;
    }
    if (r.history_kept)
      std::printf("uninstalled cluster %s from namespace %s: deleted %zu objects; kept its %d release record(s) "
                  "(history shows them; `fatectl cluster rollback %s` restores it)\n",
                  f->name.c_str(), ns.c_str(), r.deleted.size(), r.history_kept, f->name.c_str());
    else
      std::printf("uninstalled cluster %s from namespace %s: deleted %zu objects and %d release record(s)\n",
                  f->name.c_str(), ns.c_str(), r.deleted.size(), r.records);
    for (const auto& [k, why] : r.noted) std::printf("deleted %s: %s\n", k.str().c_str(), why.c_str());
    if (r.kept.empty()) std::printf("kept nothing\n");
    for (const auto& [k, why] : r.kept) std::printf("kept %s: %s\n", k.str().c_str(), why.c_str());
  });

  // list
  CLI::App* list = cluster->add_subcommand("list", "List installed clusters (release records) in every namespace, or -n NS");
  list->add_flag("-A,--all-namespaces", f->all_namespaces, "every namespace (the default; kept for kubectl habits)");
  list->footer(
      "Lists the newest revision of every release in every namespace the context may read, like\n"
      "`kubefate cluster list`; -n NAMESPACE narrows it to one. When listing across namespaces is\n"
      "forbidden, the context's namespace is listed and a note says so.\n\n"
      "Examples:\n  fatectl cluster list\n  fatectl cluster list -n fate-9999 -o yaml");
  list->callback([f, &g] {
    auto c = connect(g);
    std::string ns = g.namespace_;
    std::vector<release::Record> recs;
    try {
      recs = release::Store::list_latest(*c, ns);
    } catch (const Error& e) {
      // only a refusal (403) falls back; an API server that does not answer fails as it is
      if (!ns.empty() || e.kind() != ErrorKind::Unreachable ||
          std::string(e.what()).find("(403 Forbidden)") == std::string::npos)
        throw;
      ns = c->config().namespace_;
      log::warn("cannot list release records in every namespace ({}); listing namespace {} only", e.what(), ns);
      recs = release::Store::list_latest(*c, ns);
    }
    for (auto& r : recs) {  // a pending revision whose process is gone is marked failed here too
      if (!release::is_pending(r.status)) continue;
      release::Store store(*c, r.namespace_);
      auto h = store.history(r.name);
      release::settle_stale(store, h);
      if (!h.empty()) r = h.back();
    }
    YAML::Node n(YAML::NodeType::Sequence);
    output::Table t;
    t.headers = {"name", "namespace", "revision", "status", "chart", "version", "updated"};
    for (const auto& r : recs) {
      n.push_back(r.to_node(false));
      t.rows.push_back({r.name, r.namespace_, std::to_string(r.revision), r.status, r.chart, r.chart_version, r.updated});
    }
    if (recs.empty() && g.format() == output::Format::Table) {
      std::fprintf(stderr, "no clusters installed %s\n",
                   ns.empty() ? "in any namespace" : ("in namespace " + ns + " (without -n every namespace is listed)").c_str());
      return;
    }
    output::print(g.format(), n, t);
  });

  // status, describe
  CLI::App* status = cluster->add_subcommand("status", "Modules, readiness and endpoints of an installed cluster");
  status->add_option("name", f->name, "cluster (release) name")->required();
  status->add_flag("--events", f->events, "also the namespace's recent Events of each module (as `cluster describe`)");
  status->footer(
      "Shows each module's readiness (with the reason when one is not ready) and the endpoints the\n"
      "other parties need for their route tables: NodePorts, LoadBalancer addresses, ingress hosts.\n"
      "For an exchange, one line per exchange pod says whether its mounted routes (and what Traffic\n"
      "Server loaded) match the release record (see `exchange route list --live`).\n"
      "--events adds the newest Kubernetes Events of each module (its objects, pods, ReplicaSets and\n"
      "volume claims), as `kubectl describe` shows them.\n"
      "Exit status 1 when a module is not ready, an object is missing or an exchange pod drifted.\n\n"
      "Examples:\n  fatectl cluster status fate-9999\n  fatectl cluster status fate-9999 --events");
  status->callback([f, &g] { run_status(*f, g, f->events); });
  CLI::App* describe = cluster->add_subcommand(
      "describe", "Everything about an installed cluster: status, endpoints and each module's recent Events");
  describe->add_option("name", f->name, "cluster (release) name")->required();
  describe->footer(
      "The same as `fatectl cluster status NAME --events`: the release record, each module's readiness\n"
      "and its newest Kubernetes Events (Warnings first say why a pod is not running), the endpoints,\n"
      "and for an exchange each pod's routes against the record.\n\n"
      "Example:\n  fatectl cluster describe fate-9999");
  describe->callback([f, &g] { run_status(*f, g, true); });

  // history
  CLI::App* history = cluster->add_subcommand("history", "Revisions of an installed cluster");
  history->add_option("name", f->name, "cluster (release) name")->required();
  history->footer(
      "One line per revision; a long description (a failed upgrade's error) is cut to one line here\n"
      "and shown whole with -o yaml or -o json.\n\n"
      "Examples:\n  fatectl cluster history fate-9999\n  fatectl cluster history fate-9999 -o yaml");
  history->callback([f, &g] {
    auto c = connect(g);
    std::string ns = ops::release_namespace(*c, f->name, g.namespace_);
    release::Store store(*c, ns);
    auto h = store.history(f->name);
    if (h.empty()) throw failed("no cluster '" + f->name + "' in namespace '" + ns + "'");
    release::settle_stale(store, h);
    YAML::Node n(YAML::NodeType::Sequence);
    output::Table t;
    t.headers = {"revision", "updated", "status", "chart", "version", "fatectl", "description"};
    bool cut = false;
    for (const auto& r : h) {
      YAML::Node e = r.to_node(false);
      e.remove("inventory");
      n.push_back(e);
      std::string d = one_line(r.description, 72);
      cut = cut || d != r.description;
      t.rows.push_back({std::to_string(r.revision), r.updated, r.status, r.chart, r.chart_version, r.fatectl_version, d});
    }
    output::print(g.format(), n, t);
    if (cut && g.format() == output::Format::Table)
      std::fprintf(stderr, "(descriptions cut to one line; -o yaml shows them whole)\n");
  });

  // rollback
  CLI::App* rollback = cluster->add_subcommand("rollback", "Return a cluster to an earlier revision's spec");
  rollback->add_option("name", f->name, "cluster (release) name")->required();
  rollback->add_option("revision", f->revision, "revision to return to (default: the one before the current)");
  rollback->add_flag("--wait,!--no-wait", f->wait, "wait until every module is ready (default: on)");
  rollback->add_option("--timeout", f->timeout, "deadline of the whole command, waiting included (default 30m)");
  rollback->add_flag("--purge", f->purge, "also delete PersistentVolumeClaims the old revision does not have");
  rollback->add_flag("--force", f->force,
                     "go on although the newest revision is pending and its fatectl still looks alive (one whose "
                     "fatectl is gone is marked failed without it)");
  rollback->add_flag("--dry-run{client}", f->dry_run,
                     "client (also plain --dry-run): say which revision would be applied, what would be deleted and "
                     "how the spec changes (for an exchange: the route diff), sending nothing; server: also let the "
                     "API server validate every object (dryRun=All)")
      ->check(CLI::IsMember({"client", "server"}));
  add_reload_flags(rollback, f->reload, true, "reload-");
  rollback->footer(
      "Re-applies the spec stored in that revision as a new revision (history is never rewritten); an\n"
      "uninstalled release (--keep-history) comes back at its last revision.\n"
      "An exchange is rolled back as a route transaction: its pods are reloaded and verified before the\n"
      "revision is recorded, and the route ConfigMaps are restored if that fails.\n"
      "While another command's revision is pending (an upgrade or route change in progress) the rollback\n"
      "is refused; a pending revision whose fatectl is gone is marked failed first, and --force goes on\n"
      "regardless (e.g. a fatectl on another machine that you know was stopped).\n\n"
      "Examples:\n  fatectl cluster rollback fate-9999\n  fatectl cluster rollback fate-9999 2\n"
      "  fatectl cluster rollback fate-9999 2 --dry-run=client\n"
      "  fatectl cluster rollback fate-9999 --force   # revision 3 is pending; its fatectl was stopped");
  rollback->callback([f, &g] {
    limit_command(*f);
    auto c = connect(g);
    std::string ns = ops::release_namespace(*c, f->name, g.namespace_);
    auto o = deploy_options(*f);
    auto target = ops::rollback_target(*c, ns, f->name, f->revision);
    if (target.chart == "fate-exchange") {
      auto plan = ops::plan_exchange_rollback(*c, ns, f->name, target.revision, f->force);
      if (f->dry_run.empty()) return deploy_exchange(*c, plan, *f, g, target.revision, "rolled back");
      if (g.format() != output::Format::Table) return output::print(g.format(), ops::route_plan_yaml(plan));
      std::fputs(ops::route_plan_text(plan).c_str(), stdout);
    }
    auto r = ops::rollback(*c, ns, f->name, target.revision, o);
    report_deploy(r, "rolled back", *f, g);
  });
}

}  // namespace fatectl::cli
