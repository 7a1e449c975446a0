// fatectl certs: the federation's CA and the parties' certificates (named <party>.<domain>).
#include <cstdio>

#include "commands.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"

namespace fatectl::cli {

CLI::App* certs_command(CLI::App& root) {
  for (CLI::App* sub : root.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == "certs") return sub;
  CLI::App* c = root.add_subcommand("certs", "Create the federation's CA and issue party certificates for mutual TLS");
  c->require_subcommand(1);
  c->footer(
      "Every party proves who it is with a certificate named <partyId>.<domain> (CN and DNS SAN), signed\n"
      "by one CA per federation: the same name the Exchange routes by (SNI). Keys are EC P-256, written\n"
      "with mode 0600; fatectl refuses keys that group or others can read.\n\n"
      "Examples:\n"
      "  fatectl certs init --domain fate.org --dir certs\n"
      "  fatectl certs issue --party 9999 --dir certs\n"
      "  fatectl certs issue --party 10000 --dir certs\n");
  return c;
}

namespace {

void print_info(GlobalOptions& g, const fed::CertInfo& i, const std::string& what) {
  if (g.format() == output::Format::Table) {
    std::printf("%s %s\n  subject:   %s\n  expires:   %s\n  sha256:    %s\n", what.c_str(), i.path.c_str(), i.subject.c_str(),
                i.not_after.c_str(), i.sha256.c_str());
    return;
  }
  YAML::Node n;
  n["path"] = i.path;
  n["subject"] = i.subject;
  n["notAfter"] = i.not_after;
  n["sha256"] = i.sha256;
  output::print(g.format(), n);
}

struct CertOpts {
  std::string dir = "certs";
  std::string domain;
  std::vector<long> parties;
  int days = 0;
  bool force = false;
};

}  // namespace

void add_certs_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* certs = certs_command(root);
  auto o = std::make_shared<CertOpts>();

  CLI::App* init = certs->add_subcommand("init", "Create a federation CA (ca.crt, ca.key) for a domain");
  init->add_option("--domain", o->domain, "federation domain; party names are <partyId>.<domain>")->required();
  init->add_option("--dir", o->dir, "certificates directory (created 0700)")->capture_default_str();
  init->add_option("--days", o->days, "validity in days (default 3650)");
  init->add_flag("--force", o->force, "replace an existing CA (every party certificate must then be issued again)");
  init->footer(
      "The CA may only sign names under the domain (X.509 name constraints). Keep ca.key offline once the\n"
      "parties' certificates are issued; hand each party only ca.crt, <party>.crt and <party>.key.\n\n"
      "Example:\n  fatectl certs init --domain fate.org --dir certs\n");
  init->callback([o, &g] {
    auto i = fed::init_ca(o->dir, o->domain, o->days ? o->days : 3650, o->force);
    print_info(g, i, "created CA");
  });

  CLI::App* issue = certs->add_subcommand("issue", "Issue a party certificate <party>.<domain> signed by the CA");
  issue->add_option("--party", o->parties, "party id (repeatable)")->required();
  issue->add_option("--dir", o->dir, "certificates directory holding ca.crt and ca.key")->capture_default_str();
  issue->add_option("--days", o->days, "validity in days (default 825)");
  issue->add_flag("--force", o->force, "replace an existing key and certificate");
  issue->footer(
      "Writes <dir>/<party>.crt and <dir>/<party>.key (mode 0600). The certificate is valid for TLS server\n"
      "and client use, so the same one serves the party's listener and its outgoing connections.\n\n"
      "Examples:\n  fatectl certs issue --party 10000 --dir certs\n  fatectl certs issue --party 9999 --party 10000 --party 10001\n");
  issue->callback([o, &g] {
    for (long p : o->parties) {
      auto i = fed::issue_party_cert(o->dir, p, o->days ? o->days : 825, o->force);
      print_info(g, i, "issued");
    }
  });
}

}  // namespace fatectl::cli
