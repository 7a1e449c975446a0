// fatectl federation ...: the command group for a whole federation (an Exchange and its parties).
// This file creates the group and adds validate and provision; federation_up.cc adds up,
// add-party and remove-party; federation_status.cc adds status and diagnose.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "diagnostics_output.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/federation/federation.h"
#include "fatectl/federation/provision.h"

namespace fatectl::cli {

CLI::App* federation_command(CLI::App& root) {
  for (CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == "federation") return sub;
  CLI::App* c = root.add_subcommand(
      "federation", "Provision, bring up, grow and check a whole federation: an Exchange and its parties");
  c->require_subcommand(1);
  c->footer(
      "A federation file names the federation, its domain and engine, the Exchange and every party (see\n"
      "docs/federation.md and examples/federation/federation.yaml). One operator holding every kubeconfig\n"
      "context runs `up`; where no one does, `provision` writes a kit per site to carry by hand.\n\n"
      "Examples:\n"
      "  fatectl federation validate  -f federation.yaml\n"
      "  fatectl federation provision -f federation.yaml --out kits\n"
      "  fatectl federation up        -f federation.yaml --dry-run\n"
      "  fatectl federation status    -f federation.yaml\n"
      "  fatectl federation diagnose  -f federation.yaml --from 9999 --to 10000");
  return c;
}

namespace {

struct ValidateFlags {
  std::string file;
  bool lenient = false;
};

struct ProvisionFlags {
  std::string file;
  std::string out = "kits";
  bool dry_run = false;
};

void run_validate(const ValidateFlags& o, GlobalOptions& g) {
  federation::CheckOptions co;
  co.lenient = o.lenient;
  federation::Report r = federation::check_file(o.file, co);
  if (g.format() != output::Format::Table) {
    YAML::Node n(YAML::NodeType::Map);
    n["file"] = yaml::str(r.fed.file);
    n["valid"] = r.ok();
    if (r.ok()) {
      n["federation"] = yaml::str(r.fed.name);
      n["domain"] = yaml::str(r.fed.domain);
      n["engine"] = yaml::str(r.fed.engine);
      n["exchange"]["name"] = yaml::str(r.fed.exchange.name);
      n["exchange"]["namespace"] = yaml::str(r.fed.exchange.namespace_);
      n["exchange"]["context"] = yaml::str(r.fed.exchange.context);
      n["parties"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& p : r.fed.parties) {
        YAML::Node x;
        x["id"] = p.id;
        x["name"] = yaml::str(p.name);
        x["namespace"] = yaml::str(p.namespace_);
        x["context"] = yaml::str(p.context);
        x["spec"] = yaml::str(p.spec_key.empty() ? "defaults" : p.spec_key);
        n["parties"].push_back(x);
      }
    }
    print_diagnostics_document(g.format(), n, r.errors, r.warnings);
    return;
  }
  log_diagnostics(r.fed.file, r.errors, r.warnings);
  std::printf("OK %s: federation %s (%s, domain %s), the Exchange %s/%s, %zu parties: %s\n", r.fed.file.c_str(),
              r.fed.name.c_str(), r.fed.engine.c_str(), r.fed.domain.c_str(), r.fed.exchange.namespace_.c_str(),
              r.fed.exchange.name.c_str(), r.fed.parties.size(), r.fed.member_list().c_str());
}

void run_provision(const ProvisionFlags& o, GlobalOptions& g) {
  federation::CheckOptions co;
  co.need_addresses = true;
  federation::Federation f = federation::load(o.file, co);
  federation::ProvisionOptions po;
  po.out = o.out;
  po.dry_run = o.dry_run;
  federation::ProvisionReport r = federation::provision(f, po);
  if (g.format() != output::Format::Table) {
    YAML::Node n = federation::provision_report_yaml(r);
    n["dryRun"] = o.dry_run;
    output::print(g.format(), n);
    return;
  }
  output::Table t;
  t.headers = {"site", "kit", "files", "the site re-applies"};
  for (const auto& s : r.sites) {
    std::string files;
    for (const auto& x : s.files) files += (files.empty() ? "" : ", ") + x;
    std::string what;
    for (const auto& x : s.reapply) what += (what.empty() ? "" : "; ") + x;
    t.rows.push_back({s.site, s.state, files.empty() ? "-" : files, what.empty() ? "-" : what});
  }
  std::printf("%s", t.render().c_str());
  if (o.dry_run)
    std::printf("dry run: nothing was written to %s\n", o.out.c_str());
  else
    std::printf("%d file%s written under %s; the CA key stays in %s\n", r.written, r.written == 1 ? "" : "s",
                o.out.c_str(), f.cert_dir.c_str());
}

}  // namespace

void add_federation_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* fed = federation_command(root);

  auto v = std::make_shared<ValidateFlags>();
  CLI::App* val = fed->add_subcommand(
      "validate",
      "Check a federation file strictly: unknown keys (with the nearest valid key), types, unique party ids and "
      "namespaces, the engine every party shares, and each site's own spec against the federation");
  val->add_option("-f,--file", v->file, "federation file (- for stdin)")->required();
  val->add_flag("--lenient", v->lenient, "report unknown keys as warnings instead of errors");
  val->footer(
      "Every problem is printed as FILE:LINE:COL: key.path: message -- in the federation file, or in the\n"
      "spec file a party starts from. Exit status 0 when valid, 2 when not. Nothing is contacted.\n\n"
      "Examples:\n"
      "  fatectl federation validate -f examples/federation/federation.yaml\n"
      "  fatectl federation validate -f federation.yaml -o json");
  val->callback([v, &g] { run_validate(*v, g); });

  auto p = std::make_shared<ProvisionFlags>();
  CLI::App* prov = fed->add_subcommand(
      "provision", "Write one kit per site (spec, certificate, key, CA certificate, Secrets, README) to carry by hand");
  prov->add_option("-f,--file", p->file, "federation file")->required();
  prov->add_option("--out", p->out, "the kits' directory (default: kits)");
  prov->add_flag("--dry-run", p->dry_run, "say what would change in each kit, write nothing");
  prov->footer(
      "For the air-gapped, multi-organisation case: nothing is contacted, every site's address comes from the\n"
      "federation file (exchange.address, parties[].address), and NodePorts not in a site's spec are chosen\n"
      "once and kept in OUT/provision.yaml. Kits: OUT/exchange/ (the Exchange's spec with every party's route,\n"
      "traffic-server-cert) and OUT/party-<id>/ (the party's finished spec, <id>.crt and <id>.key (0600),\n"
      "ca.crt, pulsar-cert). The CA key stays in certificates.dir, which must lie outside OUT.\n"
      "Re-running after an edit rewrites only the files that changed and prints what each site re-applies\n"
      "(`fatectl cluster upgrade -f cluster.yaml`, `fatectl exchange reload -f cluster.yaml`, ...).\n\n"
      "Examples:\n"
      "  fatectl federation provision -f federation.yaml --out kits\n"
      "  fatectl federation provision -f federation.yaml --out kits --dry-run -o json");
  prov->callback([p, &g] { run_provision(*p, g); });
}

}  // namespace fatectl::cli
