// fatectl federation status | diagnose: one screen for the whole federation, and the path between
// two parties hop by hop.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/output.h"
#include "fatectl/fed/job.h"
#include "fatectl/federation/connectivity.h"
#include "fatectl/federation/diagnose.h"
#include "fatectl/federation/discover.h"
#include "fatectl/federation/status.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/plan/quantity.h"

namespace fatectl::cli {
namespace {

struct StatusFlags {
  std::string file;
  int warn_days = 30;
};

struct DiagnoseFlags {
  std::string file;
  long from = 0, to = 0;
  std::string exchange_address;
  bool offline = false;
  std::string idle = "35s";
  std::string payload = "1Mi";
  std::string max_message = "8Mi";
  std::string timeout = "10s";
  int rounds = 10;
};

size_t bytes_flag(const std::string& v, const std::string& flag) {
  auto n = plan::parse_units(v);
  if (!n || *n < 0 || *n > (int64_t{1} << 30)) throw invalid(flag + ": '" + v + "' is not a size up to 1Gi (examples: 512Ki, 1Mi, 8Mi)");
  return static_cast<size_t>(*n);
}

void no_global_context(const GlobalOptions& g) {
  if (!g.context.empty())
    throw invalid("--context: each site's context comes from the federation file (exchange.context, parties[].context)");
}

void run_status(const StatusFlags& s, const GlobalOptions& g) {
  no_global_context(g);
  federation::Federation f = federation::load(s.file);
  federation::StatusReport r = federation::status(f, g.kubeconfig, s.warn_days);
  if (g.format() != output::Format::Table) output::print(g.format(), federation::status_yaml(f, r));
  else std::printf("%s", federation::status_text(f, r).c_str());
  if (!r.ok()) throw ExitCode{1};
}

void run_all_pairs(const federation::Federation& f, const DiagnoseFlags& d, const GlobalOptions& g) {
  kube::LoadOptions lo;
  lo.kubeconfig = g.kubeconfig;
  lo.context = f.exchange.context;
  kube::Client c(kube::load_config(lo));
  auto ex = federation::discover_exchange(c, f);
  if (!d.exchange_address.empty()) {
    ops::HostPort hp = ops::parse_host_port(d.exchange_address, "--exchange-address");
    if (!ex) ex = federation::ExchangeAddress{};
    ex->host = hp.host;
    (f.pulsar() ? ex->sni_port : ex->rollsite_port) = hp.port;
  }
  if (!ex) throw failed("the Exchange is not installed (or its Services cannot be read): pass --exchange-address HOST:PORT");
  std::map<long, federation::PartyAddress> addrs;
  for (const auto& p : f.parties) {
    try {
      kube::LoadOptions pl;
      pl.kubeconfig = g.kubeconfig;
      pl.context = p.context;
      kube::Client pc(kube::load_config(pl));
      if (auto a = federation::discover_party(pc, f, p)) addrs[p.id] = *a;
    } catch (const Error&) {
    }
  }
  auto now = federation::check_pairs(f, *ex, addrs, {}, fed::parse_duration(d.timeout));
  auto merged = federation::store_results(c, f, federation::load_results(c, f), now);
  if (g.format() != output::Format::Table) {
    output::print(g.format(), federation::connectivity_yaml(merged));
  } else {
    std::printf("every pair through the Exchange at %s:\n%s", ex->str(f).c_str(), federation::connectivity_matrix(f, merged).c_str());
    for (const auto& p : merged.pairs)
      if (!p.ok) std::printf("%ld -> %ld: %s: %s\n  fix: %s\n", p.from, p.to, p.hop.c_str(), p.detail.c_str(), p.fix.c_str());
  }
  if (!merged.ok()) throw ExitCode{1};
}

void run_diagnose(const DiagnoseFlags& d, const GlobalOptions& g) {
  no_global_context(g);
  federation::Federation f = federation::load(d.file);
  if (!d.from && !d.to) {
    run_all_pairs(f, d, g);
    return;
  }
  if (!d.from || !d.to) throw invalid("give both --from and --to (or neither, to check every pair)");
  federation::DiagnoseOptions o;
  o.kubeconfig = g.kubeconfig;
  o.from = d.from;
  o.to = d.to;
  o.exchange_address = d.exchange_address;
  o.offline = d.offline;
  if (o.offline && o.exchange_address.empty()) throw invalid("--offline needs --exchange-address HOST:PORT");
  o.probe.idle = fed::parse_duration(d.idle);
  o.probe.payload = bytes_flag(d.payload, "--payload");
  o.probe.max_message = bytes_flag(d.max_message, "--max-message");
  o.probe.timeout = fed::parse_duration(d.timeout);
  if (d.rounds < 1 || d.rounds > 10000) throw invalid("--rounds: 1..10000");
  o.probe.rtt_rounds = d.rounds;
  federation::DiagnoseReport r = federation::diagnose(f, o);
  if (g.format() != output::Format::Table) output::print(g.format(), federation::diagnose_yaml(r));
  else std::printf("%s", federation::diagnose_text(r).c_str());
  if (const federation::Hop* h = r.failed()) throw ExitCode{h->hop == "dns" || h->hop == "tcp connect" ? 3 : 1};
}

}  // namespace

void add_federation_status_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* fed = federation_command(root);

  auto s = std::make_shared<StatusFlags>();
  CLI::App* st = fed->add_subcommand("status", "One screen: every site, the Exchange's routes and pods, certificates, the last check per pair");
  st->add_option("-f,--file", s->file, "federation file")->required();
  st->add_option("--warn-days", s->warn_days, "certificates expiring within this many days are a problem (default 30)");
  st->footer(
      "Reads every site through its context (nothing is changed): release and module readiness, whether it\n"
      "runs the spec the federation gives it, where it is reached; the Exchange's recorded routes against\n"
      "where each party is reached now (missing, wrong address, address changed since the route was written,\n"
      "a route to a non-member) and every Exchange pod against the record; the CA's, proxy's and parties'\n"
      "certificates and the pulsar-cert Secrets; the last connectivity check as a matrix (from `up`,\n"
      "`add-party` or `diagnose`). Exit 0 when all is green, 1 when anything is off (each problem listed).\n\n"
      "Examples:\n"
      "  fatectl federation status -f federation.yaml\n"
      "  fatectl federation status -f federation.yaml -o json | jq '.routes[] | select(.state != \"ok\")'");
  st->callback([s, &g] { run_status(*s, g); });

  auto d = std::make_shared<DiagnoseFlags>();
  CLI::App* dg = fed->add_subcommand("diagnose", "The path from one party to another through the Exchange, hop by hop, with the likely fix");
  dg->add_option("-f,--file", d->file, "federation file")->required();
  dg->add_option("--from", d->from, "the party the path starts at (its certificate is presented)");
  dg->add_option("--to", d->to, "the party the path ends at");
  dg->add_option("--exchange-address", d->exchange_address, "HOST:PORT where this machine reaches the Exchange (default: read from its Services)");
  dg->add_flag("--offline", d->offline, "do not read the clusters; probe the path only (needs --exchange-address)");
  dg->add_option("--idle", d->idle, "hold an idle connection this long, then check it still answers (default 35s; 0 skips)");
  dg->add_option("--payload", d->payload, "throughput: one frame of this size (default 1Mi)");
  dg->add_option("--max-message", d->max_message, "largest message: frames from 64Ki doubling up to this size (default 8Mi; 0 skips)");
  dg->add_option("--timeout", d->timeout, "per hop (default 10s)");
  dg->add_option("--rounds", d->rounds, "round trip: PING/PONG rounds (default 10)");
  dg->footer(
      "Hops (Pulsar federation): exchange route (the Exchange's record has the SNI route and it leads to the\n"
      "party's Service), exchange pods (every traffic-server pod runs the recorded routes), dns, tcp connect,\n"
      "tls handshake (SNI <to>.<domain>, the --from party's certificate; the certificate that answers says\n"
      "where the route leads: the Exchange's own = no route, another party's = wrong route, another CA's =\n"
      "wrong Secret), pulsar connect (the broker answers CONNECT), round trip (PING/PONG), throughput (one\n"
      "CONNECT carrying --payload bytes), largest message (frames up to --max-message), idle connection\n"
      "(held --idle, answering the broker's PINGs, then PING). Each failure names the hop and the likely fix.\n"
      "Eggroll/OSX federations: dns, tcp connect and round trip to the Exchange's rollsite.\n"
      "Without --from/--to: the quick check of every pair, stored for `status`.\n"
      "Run it on a machine in the --from party's network to test that party's own way to the Exchange.\n"
      "Exit 0 every hop passed, 1 a hop failed, 3 the Exchange is unreachable (dns, tcp connect), 2 bad flags.\n\n"
      "Examples:\n"
      "  fatectl federation diagnose -f federation.yaml --from 9999 --to 10000\n"
      "  fatectl federation diagnose -f federation.yaml --from 9999 --to 10000 --idle 0 -o json\n"
      "  fatectl federation diagnose -f federation.yaml\n"
      "  fatectl federation diagnose -f federation.yaml --from 9999 --to 10000 --offline --exchange-address 192.168.0.1:30007");
  dg->callback([d, &g] { run_diagnose(*d, g); });
}

}  // namespace fatectl::cli
