// fatectl exchange ...: the Exchange's route table (Traffic Server SNI routes, nginx routes,
// rollsite party list) edited in the spec file or the installed release, and every change applied,
// reloaded, verified and recorded through the route transaction (ops/route_txn.h).
#include <cstdio>

#include "commands.h"
#include "exchange_flags.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ops/route_file.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/ops/routes.h"

namespace fatectl::cli {
namespace {

struct RouteOptions {
  std::string file;
  std::string release;
  std::string party;
  std::string domain;
  std::string tunnel, proxy, fateflow, rollsite;
  std::vector<std::string> only;
  bool apply = false;
  bool dry_run = false;
  bool live = false;
  ExchangeReloadFlags reload;
};

void print_table_rows(const ops::RouteTable& t) {
  output::Table tab;
  tab.headers = {"PARTY", "TABLE", "NAME", "TARGET", "NOTE"};
  for (auto& r : t.sni)
    tab.rows.push_back({r.party ? std::to_string(r.party) : "-", "sni", r.fqdn, r.tunnel.str(),
                        ops::port_allowed(t.connect_ports, r.tunnel.port) ? "" : "port outside connect_ports"});
  for (auto& r : t.nginx) {
    for (auto& e : r.proxy) tab.rows.push_back({std::to_string(r.party), "nginx", "proxy", e.str(), ""});
    for (auto& e : r.fateflow) tab.rows.push_back({std::to_string(r.party), "nginx", "fateflow", e.str(), ""});
  }
  for (auto& r : t.rollsite) tab.rows.push_back({std::to_string(r.party), "rollsite", "partyList", r.address.str(), ""});
  if (tab.rows.empty()) {
    std::printf("no routes\n");
    return;
  }
  std::fputs(tab.render().c_str(), stdout);
}

void need_source(const RouteOptions& o) {
  if (o.file.empty() == o.release.empty())
    throw invalid("give the exchange spec with -f FILE or the installed exchange with --release NAME (one of them)");
}

// The record a route command works on: the installed release, or the file (and the release of the
// same name when there is one, with --apply).
ops::ExchangeRecord current(const RouteOptions& o, GlobalOptions& g, bool need_cluster) {
  need_source(o);
  ops::ReloadOptions ro = o.reload.options(g);
  if (!o.release.empty()) return ops::load_exchange_record(ro, o.release);
  std::string text = yaml::read_file(o.file);
  if (need_cluster) return ops::record_for_spec(ro, o.file, text);
  ops::ExchangeRecord r;
  r.spec_text = text;
  r.label = o.file;
  return r;
}

void name_source(YAML::Node n, const ops::ExchangeRecord& cur, const RouteOptions& o) {
  if (!o.file.empty()) n["file"] = yaml::str(o.file);
  if (!cur.release.empty()) {
    n["release"] = yaml::str(cur.release);
    n["namespace"] = yaml::str(cur.ns);
    n["revision"] = cur.revision;
  }
}

void run_list(const RouteOptions& o, GlobalOptions& g) {
  ops::ExchangeRecord cur = current(o, g, false);
  ops::RouteTable t = ops::read_routes(yaml::parse(cur.spec_text, cur.label), cur.label);
  auto w = ops::route_warnings(t);
  std::optional<ops::LiveReport> live;
  if (o.live) {
    ops::ReloadOptions ro = o.reload.options(g);
    if (!cur.release.empty()) ro.namespace_override = cur.ns;
    auto cl = ops::kube_exchange_cluster(ro);
    live = ops::read_live_routes(*cl, ops::render_route_configmaps(cur.spec_text, cur.label, ro.namespace_override), ro);
  }
  if (g.format() != output::Format::Table) {
    YAML::Node n = ops::routes_to_yaml(t);
    name_source(n, cur, o);
    n["warnings"] = YAML::Node(YAML::NodeType::Sequence);
    for (auto& s : w) n["warnings"].push_back(yaml::str(s));
    if (live) n["live"] = ops::live_report_yaml(*live);
    output::print(g.format(), n);
  } else {
    print_table_rows(t);
    for (auto& s : w) log::warn("{}", s);
    if (live) {
      std::printf("\nlive (against %s):\n", cur.label.c_str());
      for (auto& l : ops::live_report_lines(*live)) std::printf("  %s\n", l.c_str());
    }
  }
  if (live && !live->in_sync()) throw ExitCode{1};
}

// Plans, shows, and (unless a dry run) runs one transaction; writes the spec file after success.
void transact(const RouteOptions& o, GlobalOptions& g, const ops::ExchangeRecord& cur, const ops::RouteTxnChange& ch) {
  ops::RouteTxnPlan plan = ops::plan_route_txn(cur, ch);
  bool table = g.format() == output::Format::Table;
  if (table) std::fputs(ops::route_plan_text(plan).c_str(), stdout);
  std::fflush(stdout);
  for (auto& w : plan.warnings) log::warn("{}", w);
  if (!plan.dropped.empty() && !o.file.empty())
    log::warn("the installed {} has routes {} does not: {}. Applying the file drops them (that revision stays in "
              "`fatectl cluster history {}`)",
              cur.label, o.file, [&] {
                std::string s;
                for (auto& d : plan.dropped) s += (s.empty() ? "" : "; ") + d;
                return s;
              }(), cur.release);
  YAML::Node n = ops::route_plan_yaml(plan);
  name_source(n, cur, o);
  n["written"] = false;
  if (o.dry_run) {
    if (table) std::printf("dry run: nothing applied, %s not changed\n", o.file.empty() ? cur.label.c_str() : o.file.c_str());
    else output::print(g.format(), n);
    return;
  }
  ops::ReloadOptions ro = o.reload.options(g);
  if (!cur.release.empty()) ro.namespace_override = cur.ns;
  ops::RouteTxnReport rep;
  try {
    rep = ops::run_route_txn(plan, ro);
  } catch (const ops::RouteTxnFailure& f) {
    if (table) std::fputs(ops::route_txn_text(f.report).c_str(), stdout);
    else {
      YAML::Node e = ops::route_txn_yaml(f.report);
      name_source(e, cur, o);
      e["written"] = false;
      output::print(g.format(), e);
    }
    if (!o.file.empty()) log::error("{} was left unchanged", o.file);
    throw;
  }
  bool write = !o.file.empty() && yaml::read_file(o.file) != plan.new_text;
  if (write) ops::write_file_atomic(o.file, plan.new_text);
  if (table) {
    std::fputs(ops::route_txn_text(rep).c_str(), stdout);
    if (write) std::printf("%s: updated\n", o.file.c_str());
  } else {
    YAML::Node e = ops::route_txn_yaml(rep);
    name_source(e, cur, o);
    e["written"] = write;
    output::print(g.format(), e);
  }
}

// A route edit: applied through the transaction (--release, or -f with --apply), or only written
// to the file.
void edit(RouteOptions& o, GlobalOptions& g, const ops::RouteOp& op, const std::string& what) {
  need_source(o);
  bool apply = o.apply || !o.release.empty();
  ops::ExchangeRecord cur = current(o, g, apply);
  ops::RouteTxnChange ch;
  ch.ops = {op};
  ch.description = what;
  if (!o.file.empty()) {
    ch.spec_text = yaml::read_file(o.file);
    ch.spec_label = o.file;
  }
  if (apply) return transact(o, g, cur, ch);
  // file only: edit the text, nothing else
  ops::RouteTxnPlan plan = ops::plan_route_txn(cur, ch);
  bool table = g.format() == output::Format::Table;
  for (auto& c : plan.changes)
    if (table) std::printf("%s\n", c.c_str());
  for (auto& w : plan.warnings) log::warn("{}", w);
  YAML::Node n = ops::route_plan_yaml(plan);
  name_source(n, cur, o);
  bool write = !o.dry_run && plan.changed();
  if (write) ops::write_file_atomic(o.file, plan.new_text);
  n["written"] = write;
  if (!table) return output::print(g.format(), n);
  if (o.dry_run) std::printf("dry run: %s not changed\n", o.file.c_str());
  else if (!write) std::printf("%s: nothing to change\n", o.file.c_str());
  else std::printf("%s: updated\napply it with: fatectl exchange reload -f %s\n", o.file.c_str(), o.file.c_str());
}

void run_add(RouteOptions& o, GlobalOptions& g) {
  ops::RouteChange c;
  c.party = ops::parse_party_id(o.party, "--party");
  c.domain = o.domain;
  if (!o.tunnel.empty()) c.tunnel = ops::parse_host_port(o.tunnel, "--tunnel");
  if (!o.proxy.empty()) c.proxy = ops::parse_nginx_endpoint(o.proxy, "--proxy");
  if (!o.fateflow.empty()) c.fateflow = ops::parse_nginx_endpoint(o.fateflow, "--fateflow");
  if (!o.rollsite.empty()) c.rollsite = ops::parse_host_port(o.rollsite, "--rollsite");
  edit(o, g, ops::RouteOp::adding(c), "route add: party " + std::to_string(c.party));
}

void run_remove(RouteOptions& o, GlobalOptions& g) {
  long party = ops::parse_party_id(o.party, "--party");
  ops::RemoveScope s;
  if (!o.only.empty()) {
    s = ops::RemoveScope{false, false, false};
    for (auto& t : o.only) {
      if (t == "sni") s.sni = true;
      else if (t == "nginx") s.nginx = true;
      else if (t == "rollsite") s.rollsite = true;
      else throw invalid("--only: '" + t + "': expected sni, nginx or rollsite");
    }
  }
  edit(o, g, ops::RouteOp::removing(party, s, o.domain), "route remove: party " + std::to_string(party));
}

void run_reload(const RouteOptions& o, GlobalOptions& g) {
  ops::ExchangeRecord cur = current(o, g, true);
  ops::RouteTxnChange ch;
  ch.description = "exchange reload";
  if (!o.file.empty()) {
    ch.spec_text = yaml::read_file(o.file);
    ch.spec_label = o.file;
    ch.description = "exchange reload -f " + o.file;
  }
  transact(o, g, cur, ch);
}

/// What a command does with its route source: list reads it, add/remove edit it, reload applies it.
enum class SourceUse { Read, Edit, Apply };

void add_source_flags(CLI::App* c, RouteOptions& o, SourceUse use = SourceUse::Edit) {
  const char* file_help = use == SourceUse::Read    ? "exchange spec to read (fate-exchange.yaml); it is not changed"
                          : use == SourceUse::Apply ? "exchange spec whose routes replace the installed release's; the "
                                                      "file is not changed (the release records them as a new revision)"
                                                    : "exchange spec (fate-exchange.yaml), edited in place";
  const char* release_help =
      use == SourceUse::Read    ? "the installed exchange instead of a file: its routes are read from the newest release "
                                  "revision (nothing is stored)"
      : use == SourceUse::Apply ? "the installed exchange instead of a file: the routes of its newest revision are applied "
                                  "and verified again (no new revision)"
                                : "the installed exchange instead of a file: its spec is read from the newest release "
                                  "revision, and every change is applied, verified and stored as a new revision";
  auto* f = c->add_option("-f,--file", o.file, file_help);
  auto* r = c->add_option("--release", o.release, release_help);
  f->excludes(r);
}

}  // namespace

void add_exchange_commands(CLI::App& root, GlobalOptions& g) {
  auto* ex = root.add_subcommand("exchange", "Manage the Exchange's route table and reload it in the running pods");
  ex->require_subcommand(1);
  ex->footer(
      "The Exchange (chart fate-exchange) routes between parties: Apache Traffic Server by TLS SNI\n"
      "<party>.<domain> for Pulsar, nginx for FATE Flow control traffic, rollsite for Eggroll.\n"
      "The installed exchange's routes live in its release record. Every change -- route add/remove,\n"
      "reload, cluster upgrade/rollback -- is one transaction: apply the ConfigMaps, reload Traffic\n"
      "Server in every pod, verify per pod, then record; on failure the previous routes are put back.\n"
      "In a spec file, fatectl edits only the route entries and keeps the rest of the file (comments,\n"
      "order, formatting) as you wrote it. See docs/exchange.md.");
  auto* route = ex->add_subcommand("route", "List, add or remove a party's routes");
  route->require_subcommand(1);

  static RouteOptions o;
  auto* ls = route->add_subcommand("list", "Show every route; --live compares each pod with the record");
  ls->alias("ls");
  add_source_flags(ls, o, SourceUse::Read);
  ls->add_flag("--live", o.live,
               "read each exchange pod's mounted route files (and what Traffic Server loaded) and mark every "
               "difference from the record; exit 1 when there is one");
  add_reload_flags(ls, o.reload, false);
  ls->footer("Examples:\n  fatectl exchange route list -f fate-exchange.yaml\n  fatectl exchange route list -f fate-exchange.yaml -o json\n"
             "  fatectl exchange route list --release fate-exchange -n fate-exchange\n"
             "  fatectl exchange route list --release fate-exchange --live");
  ls->callback([&g] { run_list(o, g); });

  auto* add = route->add_subcommand("add", "Add a party's routes, or change them (an existing route of the party is replaced)");
  add_source_flags(add, o);
  add->add_option("--party", o.party, "party id (digits)")->required();
  add->add_option("--tunnel", o.tunnel, "Traffic Server SNI route: host:port of the party's Pulsar TLS endpoint (6651 or its NodePort)");
  add->add_option("--domain", o.domain, "federation domain; the SNI name is <party>.<domain> (default: the domain of the existing routes, else fate.org)");
  add->add_option("--proxy", o.proxy, "nginx route: the party's nginx as host:http_port:grpc_port");
  add->add_option("--fateflow", o.fateflow, "nginx route: the party's FATE Flow as host:http_port:grpc_port");
  add->add_option("--rollsite", o.rollsite, "rollsite partyList entry: the party's rollsite as host:port");
  add->add_flag("--apply", o.apply, "with -f: apply, reload and verify the change in the installed exchange (and record it in its release); the file is written only when that succeeded");
  add->add_flag("--dry-run", o.dry_run, "show the route diff; change nothing");
  add_reload_flags(add, o.reload, true);
  add->footer(
      "Examples:\n"
      "  fatectl exchange route add --release fate-exchange --party 10000 --tunnel 192.168.10.2:30109\n"
      "  fatectl exchange route add --release fate-exchange --party 10000 --tunnel 192.168.10.2:30109 --dry-run\n"
      "  fatectl exchange route add -f fate-exchange.yaml --party 10000 --tunnel 192.168.10.1:30109\n"
      "  fatectl exchange route add -f fate-exchange.yaml --party 10000 \\\n"
      "      --proxy 192.168.10.1:30103:30108 --fateflow 192.168.10.1:30107:30102 --apply\n"
      "With -f --apply the file wins over the installed release: routes only the release has are\n"
      "named in a warning and dropped. Tunnel ports must be inside Traffic Server's connect_ports\n"
      "(443 6650-6700 30000-33000 in KubeFATE's chart), or Traffic Server answers 403 Tunnel\n"
      "Forbidden; fatectl adds such a port to records.config, which only a new pod reads, so the\n"
      "traffic-server pods are restarted (--no-restart-traffic-server refuses that).");
  add->callback([&g] { run_add(o, g); });

  auto* rm = route->add_subcommand("remove", "Remove a party's routes");
  rm->alias("rm");
  add_source_flags(rm, o);
  rm->add_option("--party", o.party, "party id (digits)")->required();
  rm->add_option("--domain", o.domain, "remove only the SNI route <party>.<domain>");
  rm->add_option("--only", o.only, "tables to remove from: sni, nginx, rollsite (default: all)")->delimiter(',');
  rm->add_flag("--apply", o.apply, "with -f: apply, reload and verify (nginx pods are restarted: nginx keeps a removed party otherwise)");
  rm->add_flag("--dry-run", o.dry_run, "show the route diff; change nothing");
  add_reload_flags(rm, o.reload, true);
  rm->footer("Examples:\n  fatectl exchange route remove --release fate-exchange --party 10000\n"
             "  fatectl exchange route remove -f fate-exchange.yaml --party 10000 --apply");
  rm->callback([&g] { run_remove(o, g); });

  auto* rl = ex->add_subcommand("reload",
                                "Bring the running Exchange to its routes: apply the route ConfigMaps, reload and verify every pod");
  add_source_flags(rl, o, SourceUse::Apply);
  rl->add_flag("--dry-run", o.dry_run, "show the route diff against the record; change nothing");
  add_reload_flags(rl, o.reload, true);
  rl->footer(
      "With --release, the release record's routes are applied (fixing any drift). With -f, the file's\n"
      "routes replace the release's (routes only the release has are named in a warning) and are\n"
      "recorded as a new revision. For each traffic-server pod fatectl waits until the mounted sni.yaml\n"
      "(read through exec) has the new content -- the kubelet takes up to a minute -- then runs\n"
      "traffic_ctl config reload and confirms Traffic Server loaded it. nginx pods are restarted when a\n"
      "party left the nginx routes. On failure the routes found before are put back.\n"
      "Examples:\n  fatectl exchange reload --release fate-exchange\n  fatectl exchange reload -f fate-exchange.yaml --dry-run");
  rl->callback([&g] { run_reload(o, g); });
}

}  // namespace fatectl::cli
