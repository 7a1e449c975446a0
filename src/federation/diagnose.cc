// `federation diagnose`: what the Exchange's record and pods say about the route, then the path.
#include "fatectl/federation/diagnose.h"

#include <memory>

#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/federation/connectivity.h"
#include "fatectl/federation/discover.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/release/record.h"

namespace fatectl::federation {

const Hop* DiagnoseReport::failed() const {
  for (const auto& h : hops)
    if (h.result == "failed") return &h;
  return nullptr;
}

namespace {

Hop make(const std::string& hop, const std::string& result, const std::string& detail, const std::string& fix = "") {
  return Hop{hop, result, 0, detail, fix};
}

/// The Exchange's record and pods about the route to `to`; the Exchange's address when known.
void exchange_side(const Federation& f, const DiagnoseOptions& o, std::vector<Hop>& hops, std::optional<ExchangeAddress>& ex) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = f.exchange.context;
  std::unique_ptr<kube::Client> c;
  try {
    c = std::make_unique<kube::Client>(kube::load_config(lo));
    ex = discover_exchange(*c, f);
  } catch (const Error& e) {
    hops.push_back(make("exchange route", "skipped", std::string("cannot read the Exchange's cluster: ") + e.what()));
    return;
  }
  auto rec = release::Store(*c, f.exchange.namespace_).latest(f.exchange.name);
  if (!rec) {
    hops.push_back(make("exchange route", "failed", "the Exchange is not installed (" + f.exchange.namespace_ + "/" + f.exchange.name + ")",
                        "fatectl federation up"));
    return;
  }
  ops::RouteTable t = ops::read_routes(yaml::parse(rec->spec, "the Exchange's record"), "the Exchange's record");
  std::string fq = party_fqdn(f, o.to), want;
  const Party* to = f.party(o.to);
  try {
    kube::LoadOptions pl;
    pl.kubeconfig = o.kubeconfig;
    pl.context = to->context;
    kube::Client pc(kube::load_config(pl));
    if (auto a = discover_party(pc, f, *to)) want = f.pulsar() ? (a->tunnel ? a->tunnel->str() : "") : (a->rollsite ? a->rollsite->str() : "");
  } catch (const Error&) {
  }
  std::string label = "release " + rec->name + " revision " + std::to_string(rec->revision);
  std::string have;
  if (f.pulsar()) {
    for (const auto& r : t.sni)
      if (r.fqdn == fq) have = r.tunnel.str();
  } else {
    for (const auto& r : t.rollsite)
      if (r.party == o.to) have = r.address.str();
  }
  std::string what = f.pulsar() ? "sni " + fq : "rollsite " + std::to_string(o.to);
  if (have.empty()) {
    hops.push_back(make("exchange route", "failed", label + " has no route " + what,
                        std::string("the route is missing in ") + (f.pulsar() ? "sni.yaml" : "route_table.json") + ": fatectl federation up"));
  } else if (!want.empty() && want != have) {
    hops.push_back(make("exchange route", "failed", what + " -> " + have + " (" + label + "), but party " + std::to_string(o.to) +
                                                        "'s Service is reached at " + want,
                        "the route points at an old or wrong address: fatectl federation up rewrites it"));
  } else {
    hops.push_back(make("exchange route", "ok", what + " -> " + have + " (" + label + ")" +
                                                    (want.empty() ? "" : ", the party's Service is there")));
  }
  try {
    ops::ReloadOptions ro;
    ro.kubeconfig = o.kubeconfig;
    ro.context = f.exchange.context;
    auto cluster = ops::kube_exchange_cluster(*c);
    ops::LiveReport live = ops::read_live_routes(*cluster, ops::render_route_configmaps(rec->spec, label, f.exchange.namespace_), ro);
    std::string lines;
    for (const auto& l : ops::live_report_lines(live)) lines += (lines.empty() ? "" : "; ") + l;
    hops.push_back(make("exchange pods", live.in_sync() ? "ok" : "failed", lines.empty() ? "no exchange pods" : lines,
                        live.in_sync() ? "" : "a pod does not run the recorded routes: fatectl exchange reload --release " + rec->name));
  } catch (const Error& e) {
    hops.push_back(make("exchange pods", "skipped", std::string("cannot look inside the pods: ") + e.what()));
  }
}

}  // namespace

DiagnoseReport diagnose(const Federation& f, const DiagnoseOptions& o) {
  if (!f.party(o.from)) throw invalid("--from " + std::to_string(o.from) + ": not a member of federation " + f.name + " (members: " + f.member_list() + ")");
  if (!f.party(o.to)) throw invalid("--to " + std::to_string(o.to) + ": not a member of federation " + f.name + " (members: " + f.member_list() + ")");
  if (o.from == o.to) throw invalid("--from and --to name the same party");
  DiagnoseReport r;
  r.from = o.from;
  r.to = o.to;
  std::optional<ExchangeAddress> ex;
  if (!o.offline) exchange_side(f, o, r.hops, ex);
  if (!o.exchange_address.empty()) {
    ops::HostPort hp = ops::parse_host_port(o.exchange_address, "--exchange-address");
    ExchangeAddress a = ex.value_or(ExchangeAddress{});
    a.host = hp.host;
    if (f.pulsar()) a.sni_port = hp.port;
    else a.rollsite_port = hp.port;
    ex = a;
  }
  if (!ex) {
    r.hops.push_back(make("exchange address", "failed", "where this machine reaches the Exchange is not known",
                          "the Exchange is not installed, or its Services cannot be read: pass --exchange-address HOST:PORT"));
    return r;
  }
  if (f.pulsar()) {
    TlsTarget t = pair_target(f, *ex, o.from, o.to, o.probe.timeout);
    r.path = std::to_string(o.from) + " -> the Exchange " + ex->host + ":" + std::to_string(ex->sni_port) + " (sni " + t.sni +
             ") -> " + std::to_string(o.to);
    auto hops = probe_pulsar_path(t, o.probe);
    r.hops.insert(r.hops.end(), hops.begin(), hops.end());
  } else {
    r.path = std::to_string(o.from) + " -> the Exchange's rollsite " + ex->host + ":" + std::to_string(ex->rollsite_port) + " -> " +
             std::to_string(o.to);
    auto hops = probe_tcp_path(ex->host, ex->rollsite_port, "the Exchange's rollsite", o.probe.timeout, o.probe.rtt_rounds);
    r.hops.insert(r.hops.end(), hops.begin(), hops.end());
    for (const char* h : {"throughput", "largest message", "idle connection"})
      r.hops.push_back(make(h, "skipped", "rollsite speaks gRPC: run `fatectl toy --guest " + std::to_string(o.from) + " --host " +
                                              std::to_string(o.to) + "` for the path above TCP"));
  }
  return r;
}

YAML::Node diagnose_yaml(const DiagnoseReport& r) {
  YAML::Node n(YAML::NodeType::Map);
  n["from"] = r.from;
  n["to"] = r.to;
  n["path"] = yaml::str(r.path);
  n["ok"] = r.failed() == nullptr;
  if (const Hop* h = r.failed()) n["failedHop"] = yaml::str(h->hop);
  n["hops"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& h : r.hops) {
    YAML::Node x(YAML::NodeType::Map);
    x["hop"] = yaml::str(h.hop);
    x["result"] = yaml::str(h.result);
    x["ms"] = h.ms;
    x["detail"] = yaml::str(h.detail);
    if (!h.fix.empty()) x["fix"] = yaml::str(h.fix);
    n["hops"].push_back(x);
  }
  return n;
}

std::string diagnose_text(const DiagnoseReport& r) {
  std::string o = r.path.empty() ? "" : r.path + "\n";
  output::Table t;
  t.headers = {"hop", "result", "time", "detail"};
  for (const auto& h : r.hops) t.rows.push_back({h.hop, h.result, h.ms > 0 ? fmt_ms(h.ms) : "-", h.detail});
  o += t.render();
  for (const auto& h : r.hops)
    if (!h.fix.empty()) o += h.hop + ": " + h.fix + "\n";
  if (const Hop* h = r.failed()) o += "failed hop: " + h->hop + "\n";
  else o += "every hop passed\n";
  return o;
}

}  // namespace fatectl::federation
