// fatectl certs exchange: the traffic-server-cert and pulsar-cert Secrets for the Pulsar/Exchange
// TLS path (KubeFATE leaves them to the operator).
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ops/exchange_certs.h"
#include "fatectl/ops/routes.h"

namespace fatectl::cli {

void add_certs_exchange_command(CLI::App& root, GlobalOptions& g) {
  CLI::App* certs = certs_command(root);
  static ops::ExchangeCertsOptions o;
  static std::vector<std::string> parties, party_ns;
  static bool apply = false, create_namespace = false;
  auto* c = certs->add_subcommand("exchange", "Create the Exchange's traffic-server-cert Secret and a pulsar-cert Secret per party");
  c->add_option("--domain", o.domain, "federation domain; certificates are proxy.<domain> and <party>.<domain> (default fate.org)");
  c->add_option("--parties", parties, "party ids, comma-separated (e.g. 9999,10000)")->required()->delimiter(',');
  c->add_option("--dir", o.dir, "directory of the federation CA (created if missing) and the issued files (default exchange-certs)");
  c->add_option("--exchange-namespace", o.exchange_namespace, "namespace of the Exchange (default fate-exchange)");
  c->add_option("--party-namespace", party_ns, "PARTY=NAMESPACE for a party not in fate-<party> (repeatable)");
  c->add_option("--days", o.days, "certificate lifetime in days (default 825)");
  c->add_flag("--force", o.force, "issue new certificates even when they exist in --dir");
  c->add_flag("--apply", apply, "apply the Secrets to the cluster (server-side apply); otherwise only write them under <dir>/secrets/");
  c->add_flag("--create-namespace", create_namespace, "with --apply: create the Exchange's and parties' namespaces that do not exist");
  c->footer(
      "traffic-server-cert (Exchange namespace): proxy.cert.pem, proxy.key.pem, ca.cert.pem.\n"
      "pulsar-cert (each party's namespace): broker.cert.pem, broker.key-pk8.pem (PKCS#8), ca.cert.pem,\n"
      "with CN and DNS SAN <party>.<domain> -- the SNI name the Exchange routes by. All signed by one CA;\n"
      "the same CA directory works with `fatectl certs issue` and native jobs. Keys are written 0600.\n\n"
      "Examples:\n"
      "  fatectl certs exchange --domain fate.org --parties 9999,10000\n"
      "  fatectl certs exchange --domain fate.org --parties 9999,10000 --apply --party-namespace 9999=bank-a\n"
      "  fatectl certs exchange --domain fate.org --parties 9999,10000 --apply --create-namespace");
  c->callback([&g] {
    o.parties.clear();
    for (auto& p : parties) o.parties.push_back(ops::parse_party_id(p, "--parties"));
    for (auto& pn : party_ns) {
      size_t eq = pn.find('=');
      if (eq == std::string::npos) throw invalid("--party-namespace: '" + pn + "': expected PARTY=NAMESPACE");
      o.party_namespaces[ops::parse_party_id(pn.substr(0, eq), "--party-namespace")] = pn.substr(eq + 1);
    }
    if (create_namespace && !apply) throw invalid("--create-namespace: only with --apply");
    auto secrets = ops::make_exchange_certs(o);
    std::vector<std::string> applied;
    if (apply) applied = ops::apply_exchange_secrets(secrets, g.kubeconfig, g.context, create_namespace);
    if (g.format() != output::Format::Table) {
      YAML::Node n;
      n["dir"] = yaml::str(o.dir);
      n["applied"] = YAML::Node(YAML::NodeType::Sequence);
      for (auto& a : applied) n["applied"].push_back(yaml::str(a));
      for (auto& s : secrets) {
        YAML::Node e;
        e["secret"] = yaml::str(s.name);
        e["namespace"] = yaml::str(s.namespace_);
        e["subject"] = yaml::str(s.subject);
        e["manifest"] = yaml::str(s.file);
        for (auto kv : s.object["data"]) e["keys"].push_back(yaml::str(kv.first.Scalar()));
        n["secrets"].push_back(e);
      }
      output::print(g.format(), n);
      return;
    }
    output::Table t;
    t.headers = {"SECRET", "NAMESPACE", "CERTIFICATE", "MANIFEST"};
    for (auto& s : secrets) t.rows.push_back({s.name, s.namespace_, s.subject, s.file});
    std::fputs(t.render().c_str(), stdout);
    if (apply)
      for (auto& a : applied) std::printf("applied %s\n", a.c_str());
    else std::printf("apply them with --apply, or: kubectl apply -f %s/secrets/\n", o.dir.c_str());
  });
}

}  // namespace fatectl::cli
