// Route edits on an installed exchange: its spec comes from, and goes back to, its release record.
#include "fatectl/ops/exchange_source.h"

#include <memory>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/release/record.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::ops {
namespace {

std::unique_ptr<kube::Client> connect(const ReloadOptions& o) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = o.context;
  return std::make_unique<kube::Client>(kube::load_config(lo));
}

// One line per route, for comparing two tables.
std::set<std::string> route_lines(const RouteTable& t) {
  std::set<std::string> out;
  for (auto& r : t.sni) out.insert("sni " + r.fqdn + " -> " + r.tunnel.str());
  for (auto& r : t.nginx) {
    for (auto& e : r.proxy) out.insert("nginx " + std::to_string(r.party) + " proxy " + e.str());
    for (auto& e : r.fateflow) out.insert("nginx " + std::to_string(r.party) + " fateflow " + e.str());
  }
  for (auto& r : t.rollsite) out.insert("rollsite " + std::to_string(r.party) + " " + r.address.str());
  return out;
}

std::string release_label(const std::string& name, int revision) {
  return "release " + name + " revision " + std::to_string(revision);
}

}  // namespace

RouteSource load_route_source(const std::string& file, const std::string& release, const ReloadOptions& o) {
  RouteSource s;
  if (file.empty() == release.empty()) throw invalid("give the exchange spec with -f FILE or the installed exchange with --release NAME (one of them)");
  if (!file.empty()) {
    s.file = s.label = file;
    s.text = yaml::read_file(file);
    return s;
  }
  auto c = connect(o);
  s.release = release;
  s.ns = release_namespace(*c, release, o.namespace_override);
  auto rec = release::Store(*c, s.ns).latest(release);
  if (!rec) throw failed("no release '" + release + "' in namespace '" + s.ns + "' (see `fatectl cluster list -A`)");
  if (rec->chart != "fate-exchange")
    throw invalid("release '" + release + "' is chart '" + rec->chart + "'; routes live in a fate-exchange release");
  if (rec->status != release::kDeployed)
    throw failed("release '" + release + "' revision " + std::to_string(rec->revision) + " is " + rec->status +
                 "; finish or roll back that change first (`fatectl cluster history " + release + "`)");
  s.revision = rec->revision;
  s.label = release_label(release, rec->revision);
  s.text = rec->spec;
  return s;
}

std::string release_drift(const RouteSource& src, const ReloadOptions& o) {
  if (src.from_release()) return "";
  try {
    spec::ClusterSpec sp = spec::parse(src.text, src.label);
    std::string ns = o.namespace_override.empty() ? sp.namespace_ : o.namespace_override;
    auto c = connect(o);
    auto rec = release::Store(*c, ns).latest(sp.name);
    if (!rec || rec->spec == src.text) return "";
    std::string label = release_label(sp.name, rec->revision);
    auto mine = route_lines(read_routes(yaml::parse(src.text, src.label), src.label));
    std::string lost;
    for (auto& l : route_lines(read_routes(yaml::parse(rec->spec, label), label)))
      if (!mine.count(l)) lost += (lost.empty() ? "" : "; ") + l;
    if (lost.empty()) return "";
    return "the installed " + label + " has routes " + src.file + " does not: " + lost +
           ". Applying the file replaces them (that revision stays in `fatectl cluster history " + sp.name + "`)";
  } catch (const Error& e) {
    log::debug("cannot compare with the installed release: {}", e.what());
    return "";
  }
}

std::string record_route_change(const RouteSource& src, const std::string& text, const ReloadOptions& o,
                                const std::string& description) {
  spec::ClusterSpec sp = spec::parse(text, src.label);
  auto c = connect(o);
  int expected = src.revision;
  if (src.from_release()) {
    sp.namespace_ = src.ns;
  } else {
    if (!o.namespace_override.empty()) sp.namespace_ = o.namespace_override;
    auto rec = release::Store(*c, sp.namespace_).latest(sp.name);
    if (!rec) return "";
    if (rec->status != release::kDeployed || rec->spec == text) return "";
    expected = rec->revision;
  }
  int rev = record_applied_change(*c, sp, text, expected, description);
  return "recorded as " + release_label(sp.name, rev) + " in namespace " + sp.namespace_;
}

}  // namespace fatectl::ops
