// fatectl federation up | add-party | remove-party: one operator holding every context brings the
// federation to its file, grows it or shrinks it. Flags are parsed here; src/federation does the work.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "exchange_flags.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/job.h"
#include "fatectl/federation/edit.h"
#include "fatectl/federation/up.h"
#include "fatectl/ops/route_file.h"

namespace fatectl::cli {
namespace {

struct UpFlags {
  std::string file;
  bool dry_run = false;
  bool skip_plan = false;
  bool no_check = false;
  std::string timeout = "30m";
  std::string check_timeout = "10s";
  ExchangeReloadFlags reload;
  // add-party
  federation::PartyEntry entry;
  // remove-party
  long remove = 0;
  bool purge = false;
};

federation::UpOptions up_options(const UpFlags& f, const GlobalOptions& g) {
  if (!g.context.empty())
    throw invalid("--context: each site's context comes from the federation file (exchange.context, parties[].context)");
  federation::UpOptions o;
  o.kubeconfig = g.kubeconfig;
  o.dry_run = f.dry_run;
  o.skip_plan = f.skip_plan;
  o.check = !f.no_check;
  o.timeout = std::chrono::duration_cast<std::chrono::seconds>(fed::parse_duration(f.timeout));
  o.check_timeout = fed::parse_duration(f.check_timeout);
  o.reload = f.reload.options(g);
  return o;
}

void report(const federation::UpReport& r, const federation::Federation& f, const std::string& what, const GlobalOptions& g) {
  if (g.format() != output::Format::Table) {
    output::print(g.format(), federation::up_report_yaml(r));
  } else {
    std::printf("%s%s:\n%s", what.c_str(), r.dry_run ? " (dry run: nothing is changed)" : "", federation::up_report_text(r).c_str());
    if (r.check) std::printf("connectivity through the Exchange:\n%s", federation::connectivity_matrix(f, *r.check).c_str());
  }
}

void add_common(CLI::App* c, UpFlags& f) {
  c->add_option("-f,--file", f.file, "federation file")->required();
  c->add_flag("--dry-run", f.dry_run, "print the plan (installs, upgrades, route changes, checks) and change nothing");
  c->add_option("--timeout", f.timeout, "per site: how long to wait for its modules to be ready (default 30m)");
  c->add_option("--check-timeout", f.check_timeout, "per pair: how long the connectivity check may take (default 10s)");
  c->add_flag("--no-check", f.no_check, "skip the connectivity check at the end");
  add_reload_flags(c, f.reload, true, "reload-");
}

int exit_code(const federation::UpReport& r) {
  if (r.dry_run) return 0;
  return r.ok() ? 0 : 1;
}

}  // namespace

void add_federation_up_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* fed = federation_command(root);

  auto u = std::make_shared<UpFlags>();
  CLI::App* up = fed->add_subcommand("up", "Install or upgrade the Exchange and every party, write the Exchange's routes, check every pair");
  add_common(up, *u);
  up->add_flag("--skip-plan", u->skip_plan, "install without `cluster plan`'s placement check first");
  up->footer(
      "For one operator who holds every site's kubeconfig context (federation file: exchange.context,\n"
      "parties[].context; --kubeconfig picks the file). In order:\n"
      "  1. certificates: the federation CA in certificates.dir issues proxy.<domain> and <party>.<domain>;\n"
      "     their Secrets (traffic-server-cert, pulsar-cert) are applied where they differ;\n"
      "  2. the Exchange: installed, or upgraded through the route transaction when its spec changed;\n"
      "     its address is read from its Services (NodePort + node address, or LoadBalancer ingress);\n"
      "  3. every party: installed (after `cluster plan`'s placement check) or upgraded to its finished spec\n"
      "     (the Exchange's address, peers its own tables name); a party that fails is reported and the\n"
      "     others go on; its address is read from its Services;\n"
      "  4. routes: one transaction on the Exchange (apply, reload Traffic Server, verify in every pod,\n"
      "     record -- or restore); a party whose install failed keeps the route it had;\n"
      "  5. check: from every party to every other through the Exchange (TLS with the peer's SNI and this\n"
      "     party's certificate, the peer broker's CONNECT and PING); the result is kept for `status`.\n"
      "A rerun changes nothing (exit 0); an interrupted run converges when rerun. Exit 1 when a step or a\n"
      "pair failed (each named), 2 for a bad file or flags.\n\n"
      "Examples:\n"
      "  fatectl federation up -f federation.yaml --dry-run\n"
      "  fatectl federation up -f federation.yaml -o json\n"
      "  fatectl --kubeconfig ~/.kube/all-banks federation up -f federation.yaml --timeout 20m");
  up->callback([u, &g] {
    federation::Federation f = federation::load(u->file);
    auto r = federation::up(f, up_options(*u, g));
    report(r, f, "federation " + f.name, g);
    if (int rc = exit_code(r)) throw ExitCode{rc};
  });

  auto a = std::make_shared<UpFlags>();
  CLI::App* add = fed->add_subcommand("add-party", "Add a party to the file and to the running federation, then check it against every other");
  add_common(add, *a);
  add->add_option("--id", a->entry.id, "the new party's id")->required();
  add->add_option("--context", a->entry.context, "kubeconfig context that reaches its cluster");
  add->add_option("--namespace", a->entry.namespace_, "its namespace (default: its spec's, else fate-<id>)");
  add->add_option("--name", a->entry.name, "its release name (default: its spec's, else fate-<id>)");
  add->add_option("--spec", a->entry.spec, "the KubeFATE spec it starts from (default: fatectl's for the engine)");
  add->add_option("--chart-version", a->entry.chart_version, "chart version of a generated spec");
  add->add_option("--computing", a->entry.computing, "computing engine of a generated spec");
  add->add_option("--storage", a->entry.storage, "storage engine of a generated spec");
  add->add_option("--address", a->entry.address, "where the Exchange reaches it (default: read from its Services)");
  add->add_flag("--skip-plan", a->skip_plan, "install without `cluster plan`'s placement check first");
  add->footer(
      "Appends the party to the federation file's `parties:` (the rest of the file is left byte for byte),\n"
      "validates the whole federation (exit 2 and nothing changed when it does not hold), then runs `up`:\n"
      "installs the party, adds its route to the Exchange (one transaction: reloaded and verified in every\n"
      "Traffic Server pod), upgrades the parties whose own route tables name peers, and checks the new\n"
      "party against every other in both directions. Rerunning after a failure finishes the job.\n\n"
      "Examples:\n"
      "  fatectl federation add-party -f federation.yaml --id 10002 --context bank-d --dry-run\n"
      "  fatectl federation add-party -f federation.yaml --id 10002 --context bank-d --spec party-10002.yaml");
  add->callback([a, &g] {
    std::string text = yaml::read_file(a->file);
    // --context on add-party names the party's context, not the global one
    GlobalOptions gg = g;
    gg.context.clear();
    federation::Federation before = federation::load(a->file);
    std::string next = text;
    const federation::Party* known = before.party(a->entry.id);
    if (known) {
      if (!a->entry.context.empty() && a->entry.context != known->context)
        throw invalid(a->file + ": party " + std::to_string(a->entry.id) + " is already a member (line " +
                      std::to_string(known->where.line) + ") with context '" + known->context + "'; edit the file and run `federation up`");
      log::info("party {} is already in {}: finishing its addition", a->entry.id, a->file);
    } else {
      next = federation::append_party(text, a->file, a->entry);
    }
    federation::Report chk = federation::check(next, a->file);
    if (!chk.ok()) throw Error(ErrorKind::Invalid, chk.errors.front().str() + " (after adding party " + std::to_string(a->entry.id) + "; the file was not changed)");
    if (!a->dry_run && next != text) {
      ops::write_file_atomic(a->file, next);
      log::info("added party {} to {}", a->entry.id, a->file);
    }
    federation::Federation f = std::move(chk.fed);
    auto o = up_options(*a, gg);
    o.check_only = {a->entry.id};
    o.title = "federation add-party " + std::to_string(a->entry.id);
    auto r = federation::up(f, o);
    report(r, f, "federation " + f.name + ": add party " + std::to_string(a->entry.id), g);
    if (int rc = exit_code(r)) throw ExitCode{rc};
  });

  auto d = std::make_shared<UpFlags>();
  CLI::App* rm = fed->add_subcommand("remove-party", "Take a party out of the running federation and the file");
  add_common(rm, *d);
  rm->add_option("--id", d->remove, "the party to remove")->required();
  rm->add_flag("--purge", d->purge, "also delete its PersistentVolumeClaims (its data); kept by default");
  rm->footer(
      "In order: its routes leave the Exchange (one transaction: reloaded and verified in every pod, or\n"
      "restored), the parties whose own route tables name it are upgraded, it is uninstalled (its PVCs are\n"
      "kept unless --purge), its pairs leave the stored check, and only then is its entry removed from the\n"
      "federation file -- so a failed removal can simply be rerun.\n\n"
      "Examples:\n"
      "  fatectl federation remove-party -f federation.yaml --id 10001 --dry-run\n"
      "  fatectl federation remove-party -f federation.yaml --id 10001");
  rm->callback([d, &g] {
    std::string text = yaml::read_file(d->file);
    federation::Federation f = federation::load(d->file);
    auto o = up_options(*d, g);
    o.title = "federation remove-party " + std::to_string(d->remove);
    auto r = federation::remove_party(f, d->remove, o, d->purge);
    federation::Federation rest = f;
    rest.parties.clear();
    for (const auto& p : f.parties)
      if (p.id != d->remove) rest.parties.push_back(p);
    report(r, rest, "federation " + f.name + ": remove party " + std::to_string(d->remove), g);
    if (!r.dry_run && !r.failed()) {
      ops::write_file_atomic(d->file, federation::drop_party(text, d->file, d->remove));
      if (g.format() == output::Format::Table) std::printf("removed party %ld from %s\n", d->remove, d->file.c_str());
    }
    if (r.dry_run) return;
    if (r.failed()) throw ExitCode{1};
  });
}

}  // namespace fatectl::cli
