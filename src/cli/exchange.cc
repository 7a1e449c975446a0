// fatectl exchange ...: the Exchange's route table (Traffic Server SNI routes, nginx routes,
// rollsite party list) edited in the spec file, applied, and reloaded inside the pods.
#include <unistd.h>

#include <cstdio>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/job.h"
#include "fatectl/ops/exchange.h"
#include "fatectl/ops/exchange_source.h"
#include "fatectl/ops/route_file.h"
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
  std::string timeout = "3m";
  std::string poll = "2s";
  std::string traffic_ctl = ops::kDefaultTrafficCtl;
  bool no_restart_nginx = false;
  bool restart_traffic_server = false;
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

ops::ReloadOptions reload_options(const RouteOptions& o, GlobalOptions& g);

ops::RouteSource source(const RouteOptions& o, GlobalOptions& g) {
  return ops::load_route_source(o.file, o.release, reload_options(o, g));
}

// The source's name in JSON/YAML reports: "file" or "release".
void name_source(YAML::Node n, const ops::RouteSource& src) {
  if (src.from_release()) {
    n["release"] = yaml::str(src.release);
    n["namespace"] = yaml::str(src.ns);
    n["revision"] = src.revision;
  } else {
    n["file"] = yaml::str(src.file);
  }
}

void run_list(const RouteOptions& o, GlobalOptions& g) {
  ops::RouteSource src = source(o, g);
  ops::RouteTable t = ops::read_routes(yaml::parse(src.text, src.label), src.label);
  auto w = ops::route_warnings(t);
  if (g.format() != output::Format::Table) {
    YAML::Node n = ops::routes_to_yaml(t);
    name_source(n, src);
    n["warnings"] = YAML::Node(YAML::NodeType::Sequence);
    for (auto& s : w) n["warnings"].push_back(yaml::str(s));
    output::print(g.format(), n);
    return;
  }
  print_table_rows(t);
  for (auto& s : w) log::warn("{}", s);
}

ops::ReloadOptions reload_options(const RouteOptions& o, GlobalOptions& g) {
  ops::ReloadOptions r;
  r.kubeconfig = g.kubeconfig;
  r.context = g.context;
  r.namespace_override = g.namespace_;
  r.traffic_ctl = o.traffic_ctl;
  r.timeout = fed::parse_duration(o.timeout);
  r.poll = fed::parse_duration(o.poll);
  r.restart_nginx = !o.no_restart_nginx;
  r.restart_traffic_server = o.restart_traffic_server;
  return r;
}

YAML::Node edit_node(const ops::RouteSource& src, const ops::RouteEdit& e) {
  YAML::Node n;
  name_source(n, src);
  n["changes"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& c : e.changes) n["changes"].push_back(yaml::str(c));
  n["warnings"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& c : e.warnings) n["warnings"].push_back(yaml::str(c));
  n["routes"] = ops::routes_to_yaml(e.after);
  return n;
}

// Applies the edit and reports; on failure nothing was recorded or written.
ops::ReloadReport apply_edit(const RouteOptions& o, GlobalOptions& g, const ops::RouteSource& src,
                             const ops::RouteEdit& e, YAML::Node n) {
  try {
    ops::ReloadOptions ro = reload_options(o, g);
    if (src.from_release()) ro.namespace_override = src.ns;
    return ops::apply_and_reload(src.label, e.text, e, ro);
  } catch (const ops::ReloadFailure& f) {
    if (g.format() != output::Format::Table) {
      n["reload"] = ops::reload_report_yaml(f.report);
      output::print(g.format(), n);
    } else {
      std::fputs(ops::reload_report_text(f.report).c_str(), stdout);
    }
    log::error("{} was left unchanged", src.from_release() ? "the release record" : src.file);
    throw;
  }
}

// Stores the applied text in the release record. A spec file is still written when that fails
// (the file says what runs); a release edit fails, since its record is the only copy.
void record_edit(const RouteOptions& o, GlobalOptions& g, const ops::RouteSource& src, const std::string& text,
                 const std::string& what, YAML::Node n) {
  try {
    std::string line = ops::record_route_change(src, text, reload_options(o, g), what);
    if (line.empty()) return;
    n["recorded"] = yaml::str(line);
    if (g.format() == output::Format::Table) std::printf("%s\n", line.c_str());
  } catch (const Error& err) {
    if (src.from_release()) {
      if (g.format() != output::Format::Table) output::print(g.format(), n);
      throw Error(err.kind(), "the routes were applied, but recording them failed: " + std::string(err.what()));
    }
    log::warn("the routes were applied, but the release record was not updated: {}", err.what());
  }
}

// A new tunnel port outside connect_ports needs a Traffic Server restart: asked at a terminal,
// otherwise left to --restart-traffic-server (the reload reports it).
void offer_restart(RouteOptions& o) {
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) return;
  std::fprintf(stderr,
               "The new tunnel port is outside Traffic Server's connect_ports; it is added to records.config, which "
               "Traffic Server reads only at start.\nRestart the traffic-server pods after applying? [y/N] ");
  std::string answer;
  int ch;
  while ((ch = std::getchar()) != EOF && ch != '\n') answer += static_cast<char>(ch);
  o.restart_traffic_server = answer == "y" || answer == "Y" || answer == "yes";
}

// Applies (with --apply, always for a release), records and writes an edit, and reports.
void finish_edit(RouteOptions& o, GlobalOptions& g, const ops::RouteSource& src, const ops::RouteEdit& e,
                 const std::string& what) {
  bool changed = e.sni_changed || e.nginx_changed || e.rollsite_changed;
  bool apply = o.apply || src.from_release();
  YAML::Node n = edit_node(src, e);
  n["written"] = false;
  if (g.format() == output::Format::Table) {
    for (auto& c : e.changes) std::printf("%s\n", c.c_str());
  }
  for (auto& w : e.warnings) log::warn("{}", w);
  if (o.dry_run) {
    if (g.format() != output::Format::Table) output::print(g.format(), n);
    else std::printf("dry run: %s not changed\n", src.label.c_str());
    return;
  }
  if (!changed) {
    if (g.format() == output::Format::Table) std::printf("%s: nothing to change\n", src.label.c_str());
    else output::print(g.format(), n);
    return;
  }
  if (apply && e.connect_ports_changed && !o.restart_traffic_server) offer_restart(o);
  if (apply) {
    std::string drift = ops::release_drift(src, reload_options(o, g));
    if (!drift.empty()) log::warn("{}", drift);
    ops::ReloadReport rep = apply_edit(o, g, src, e, n);
    n["reload"] = ops::reload_report_yaml(rep);
    if (g.format() == output::Format::Table) std::fputs(ops::reload_report_text(rep).c_str(), stdout);
    record_edit(o, g, src, e.text, what, n);
  }
  if (!src.from_release()) {
    ops::write_file_atomic(o.file, e.text);
    n["written"] = true;
    if (g.format() == output::Format::Table) {
      std::printf("%s: updated\n", o.file.c_str());
      if (!o.apply) std::printf("apply it with: fatectl exchange reload -f %s\n", o.file.c_str());
    }
  }
  if (g.format() != output::Format::Table) output::print(g.format(), n);
}

void run_add(RouteOptions& o, GlobalOptions& g) {
  ops::RouteChange c;
  c.party = ops::parse_party_id(o.party, "--party");
  c.domain = o.domain;
  if (!o.tunnel.empty()) c.tunnel = ops::parse_host_port(o.tunnel, "--tunnel");
  if (!o.proxy.empty()) c.proxy = ops::parse_nginx_endpoint(o.proxy, "--proxy");
  if (!o.fateflow.empty()) c.fateflow = ops::parse_nginx_endpoint(o.fateflow, "--fateflow");
  if (!o.rollsite.empty()) c.rollsite = ops::parse_host_port(o.rollsite, "--rollsite");
  ops::RouteSource src = source(o, g);
  ops::RouteEdit e = ops::add_route(src.text, src.label, c);
  finish_edit(o, g, src, e, "route add: party " + std::to_string(c.party));
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
  ops::RouteSource src = source(o, g);
  ops::RouteEdit e = ops::remove_route(src.text, src.label, party, s, o.domain);
  finish_edit(o, g, src, e, "route remove: party " + std::to_string(party));
}

void run_reload(const RouteOptions& o, GlobalOptions& g) {
  ops::RouteSource src = source(o, g);
  const std::string& text = src.text;
  ops::RouteEdit e;
  e.text = text;
  e.after = ops::read_routes(yaml::parse(text, src.label), src.label);
  e.sni_changed = e.after.has_sni_section;
  e.nginx_changed = e.after.has_nginx_section;
  e.rollsite_changed = e.after.has_rollsite_section;
  e.removed = false;
  ops::ReloadReport rep;
  ops::ReloadOptions ro = reload_options(o, g);
  ro.plain_reload = true;
  if (src.from_release()) ro.namespace_override = src.ns;
  try {
    rep = ops::apply_and_reload(src.label, text, e, ro);
  } catch (const ops::ReloadFailure& f) {
    if (g.format() != output::Format::Table) output::print(g.format(), ops::reload_report_yaml(f.report));
    else std::fputs(ops::reload_report_text(f.report).c_str(), stdout);
    throw;
  }
  YAML::Node n = ops::reload_report_yaml(rep);
  if (g.format() == output::Format::Table) std::fputs(ops::reload_report_text(rep).c_str(), stdout);
  if (!src.from_release()) record_edit(o, g, src, text, "exchange reload", n);
  if (g.format() != output::Format::Table) output::print(g.format(), n);
}

void add_source_flags(CLI::App* c, RouteOptions& o) {
  auto* f = c->add_option("-f,--file", o.file, "exchange spec (fate-exchange.yaml), edited in place");
  auto* r = c->add_option("--release", o.release,
                          "the installed exchange instead of a file: its spec is read from the newest release "
                          "revision, and every change is applied and stored as a new revision");
  f->excludes(r);
}

void add_apply_flags(CLI::App* c, RouteOptions& o) {
  c->add_option("--timeout", o.timeout, "how long to wait for the kubelet to refresh the mounted files and for the reload (default 3m)");
  c->add_option("--poll", o.poll, "how often to look at the pods while waiting (default 2s)");
  c->add_option("--traffic-ctl", o.traffic_ctl, "path of traffic_ctl inside the traffic-server container")
      ->default_str(ops::kDefaultTrafficCtl);
  c->add_flag("--no-restart-nginx", o.no_restart_nginx,
              "do not restart the nginx pods after a party was removed (nginx keeps routing it until restarted)");
  c->add_flag("--restart-traffic-server", o.restart_traffic_server,
              "restart the traffic-server pods when records.config changed (new tunnel ports in connect_ports)");
}

}  // namespace

void add_exchange_commands(CLI::App& root, GlobalOptions& g) {
  auto* ex = root.add_subcommand("exchange", "Manage the Exchange's route table and reload it in the running pods");
  ex->require_subcommand(1);
  ex->footer(
      "The Exchange (chart fate-exchange) routes between parties: Apache Traffic Server by TLS SNI\n"
      "<party>.<domain> for Pulsar, nginx for FATE Flow control traffic, rollsite for Eggroll.\n"
      "Routes live in the exchange spec; fatectl edits only the route entries and keeps the rest\n"
      "of the file (comments, order, formatting) as you wrote it. See docs/exchange.md.");
  auto* route = ex->add_subcommand("route", "List, add or remove a party's routes in an exchange spec");
  route->require_subcommand(1);

  static RouteOptions o;
  auto* ls = route->add_subcommand("list", "Show every route of an exchange spec");
  ls->alias("ls");
  add_source_flags(ls, o);
  ls->footer("Examples:\n  fatectl exchange route list -f fate-exchange.yaml\n  fatectl exchange route list -f fate-exchange.yaml -o json\n"
             "  fatectl exchange route list --release fate-exchange -n fate-exchange");
  ls->callback([&g] { run_list(o, g); });

  auto* add = route->add_subcommand("add", "Add a party's routes, or change them (an existing route of the party is replaced)");
  add_source_flags(add, o);
  add->add_option("--party", o.party, "party id (digits)")->required();
  add->add_option("--tunnel", o.tunnel, "Traffic Server SNI route: host:port of the party's Pulsar TLS endpoint (6651 or its NodePort)");
  add->add_option("--domain", o.domain, "federation domain; the SNI name is <party>.<domain> (default: the domain of the existing routes, else fate.org)");
  add->add_option("--proxy", o.proxy, "nginx route: the party's nginx as host:http_port:grpc_port");
  add->add_option("--fateflow", o.fateflow, "nginx route: the party's FATE Flow as host:http_port:grpc_port");
  add->add_option("--rollsite", o.rollsite, "rollsite partyList entry: the party's rollsite as host:port");
  add->add_flag("--apply", o.apply, "apply the changed ConfigMaps to the installed exchange and reload Traffic Server; the file is written only when that succeeded");
  add->add_flag("--dry-run", o.dry_run, "show what would change; write nothing");
  add_apply_flags(add, o);
  add->footer(
      "Examples:\n"
      "  fatectl exchange route add -f fate-exchange.yaml --party 10000 --tunnel 192.168.10.1:30109\n"
      "  fatectl exchange route add -f fate-exchange.yaml --party 10000 \\\n"
      "      --proxy 192.168.10.1:30103:30108 --fateflow 192.168.10.1:30107:30102\n"
      "  fatectl exchange route add -f fate-exchange.yaml --party 10000 --tunnel 192.168.10.2:30109 --apply\n"
      "  fatectl exchange route add --release fate-exchange --party 10000 --tunnel 192.168.10.2:30109\n"
      "With -f and --apply, an installed release of the same name also gets a new revision.\n"
      "Tunnel ports must be inside Traffic Server's connect_ports (443 6650-6700 30000-33000 in\n"
      "KubeFATE's chart), or Traffic Server answers 403 Tunnel Forbidden. fatectl warns and adds\n"
      "the port to the rendered records.config; Traffic Server reads that file only at start, so\n"
      "apply such a route with --restart-traffic-server.");
  add->callback([&g] { run_add(o, g); });

  auto* rm = route->add_subcommand("remove", "Remove a party's routes");
  rm->alias("rm");
  add_source_flags(rm, o);
  rm->add_option("--party", o.party, "party id (digits)")->required();
  rm->add_option("--domain", o.domain, "remove only the SNI route <party>.<domain>");
  rm->add_option("--only", o.only, "tables to remove from: sni, nginx, rollsite (default: all)")->delimiter(',');
  rm->add_flag("--apply", o.apply, "apply and reload (nginx pods are restarted: nginx keeps a removed party otherwise)");
  rm->add_flag("--dry-run", o.dry_run, "show what would change; write nothing");
  add_apply_flags(rm, o);
  rm->footer("Examples:\n  fatectl exchange route remove -f fate-exchange.yaml --party 10000 --apply\n"
             "  fatectl exchange route remove --release fate-exchange --party 10000");
  rm->callback([&g] { run_remove(o, g); });

  auto* rl = ex->add_subcommand("reload",
                                "Apply the exchange's route ConfigMaps and reload Traffic Server in every traffic-server pod");
  add_source_flags(rl, o);
  add_apply_flags(rl, o);
  rl->footer(
      "For each traffic-server pod fatectl waits until the mounted sni.yaml (read through exec) has\n"
      "the new content -- the kubelet takes up to a minute to refresh a mounted ConfigMap -- then runs\n"
      "traffic_ctl config reload and confirms Traffic Server loaded it. nginx re-reads its routes by\n"
      "itself every 5 s; fatectl checks the file arrived.\n"
      "Example:\n  fatectl exchange reload -f fate-exchange.yaml");
  rl->callback([&g] { run_reload(o, g); });
}

}  // namespace fatectl::cli
