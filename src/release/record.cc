#include "fatectl/release/record.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::release {
namespace {

using kube::F;

// The record a release Secret holds; nullopt for a damaged one (skipped rather than blocking
// every command).
std::optional<Record> decode(const YAML::Node& s) {
  std::string data = F(s)["data"]["release"].str();
  if (data.empty()) return std::nullopt;
  try {
    YAML::Node n = kube::parse_json(kube::base64_decode(data), "release record " + F(s)["metadata"]["name"].str());
    return Record::from_node(n);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::vector<Record> decode_all(const std::vector<YAML::Node>& secrets) {
  std::vector<Record> out;
  for (const auto& s : secrets)
    if (auto r = decode(s)) out.push_back(*r);
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) {
    return a.namespace_ != b.namespace_ ? a.namespace_ < b.namespace_
           : a.name != b.name          ? a.name < b.name
                                       : a.revision < b.revision;
  });
  return out;
}

}  // namespace

std::string secret_name(const std::string& name, int revision) {
  return "fatectl.release.v1." + name + ".v" + std::to_string(revision);
}

YAML::Node Record::to_node(bool with_spec) const {
  YAML::Node n(YAML::NodeType::Map);
  n["name"] = yaml::str(name);
  n["namespace"] = yaml::str(namespace_);
  n["revision"] = revision;
  n["status"] = yaml::str(status);
  n["chart"] = yaml::str(chart);
  n["chartVersion"] = yaml::str(chart_version);
  n["fatectlVersion"] = yaml::str(fatectl_version);
  n["updated"] = yaml::str(updated);
  n["description"] = yaml::str(description);
  n["specFile"] = yaml::str(spec_file);
  if (with_spec) n["spec"] = yaml::str(spec);
  YAML::Node inv(YAML::NodeType::Sequence);
  for (const auto& i : inventory) {
    YAML::Node e(YAML::NodeType::Map);
    e["apiVersion"] = yaml::str(i.ref.api_version);
    e["kind"] = yaml::str(i.ref.kind);
    if (!i.ref.namespace_.empty()) e["namespace"] = yaml::str(i.ref.namespace_);
    e["name"] = yaml::str(i.ref.name);
    e["module"] = yaml::str(i.module);
    inv.push_back(e);
  }
  n["inventory"] = inv;
  if (!holder.empty()) {
    YAML::Node h(YAML::NodeType::Map);
    h["host"] = yaml::str(holder.host);
    h["pid"] = holder.pid;
    h["pidStart"] = yaml::str(holder.pid_start);
    h["bootId"] = yaml::str(holder.boot_id);
    h["heartbeat"] = yaml::str(holder.heartbeat);
    n["operation"] = h;
  }
  return n;
}

Record Record::from_node(const YAML::Node& n) {
  Record r;
  F f(n);
  r.name = f["name"].str();
  r.namespace_ = f["namespace"].str();
  r.revision = static_cast<int>(f["revision"].num());
  r.status = f["status"].str();
  r.chart = f["chart"].str();
  r.chart_version = f["chartVersion"].str();
  r.fatectl_version = f["fatectlVersion"].str();
  r.updated = f["updated"].str();
  r.description = f["description"].str();
  r.spec_file = f["specFile"].str();
  r.spec = f["spec"].str();
  for (const auto& e : f["inventory"]) {
    InventoryItem i;
    i.ref.api_version = F(e)["apiVersion"].str();
    i.ref.kind = F(e)["kind"].str();
    i.ref.namespace_ = F(e)["namespace"].str();
    i.ref.name = F(e)["name"].str();
    i.module = F(e)["module"].str();
    r.inventory.push_back(i);
  }
  F h = f["operation"];
  r.holder.host = h["host"].str();
  r.holder.pid = static_cast<long>(h["pid"].num());
  r.holder.pid_start = h["pidStart"].str();
  r.holder.boot_id = h["bootId"].str();
  r.holder.heartbeat = h["heartbeat"].str();
  return r;
}

std::vector<Record> Store::history(const std::string& name) {
  return decode_all(kube::list(c_, "v1", "Secret", ns_, "owner=fatectl,name=" + name));
}

std::optional<Record> Store::latest(const std::string& name) {
  auto h = history(name);
  if (h.empty()) return std::nullopt;
  return h.back();
}

namespace {

YAML::Node record_secret(const Record& r, const std::string& ns) {
  YAML::Node s(YAML::NodeType::Map);
  s["apiVersion"] = "v1";
  s["kind"] = "Secret";
  s["type"] = "fatectl.io/release.v1";
  s["metadata"]["name"] = secret_name(r.name, r.revision);
  s["metadata"]["namespace"] = yaml::str(ns);
  s["metadata"]["labels"]["owner"] = "fatectl";
  s["metadata"]["labels"]["name"] = yaml::str(r.name);
  s["metadata"]["labels"]["version"] = yaml::str(std::to_string(r.revision));
  s["metadata"]["labels"]["status"] = yaml::str(r.status);
  s["data"]["release"] = yaml::str(kube::base64_encode(yaml::to_json(r.to_node(), false)));
  return s;
}

}  // namespace

void Store::save(const Record& r) {
  YAML::Node body = record_secret(r, ns_);
  // Not through kube::apply: a release Secret's values are not secrets to redact from output.
  kube::ResourceInfo ri = c_.resource_for("v1", "Secret");
  kube::Request req;
  req.method = "PATCH";
  req.path = kube::object_path(ri, ns_, secret_name(r.name, r.revision)) + "?fieldManager=fatectl&force=true";
  req.content_type = "application/apply-patch+yaml";
  req.body = yaml::to_json(body, false);
  kube::Response resp = c_.send(req);
  if (!resp.ok())
    throw kube::api_error(c_, resp, "store the release record",
                          "secrets '" + secret_name(r.name, r.revision) + "' in namespace '" + ns_ + "'");
}

bool Store::create(const Record& r) {
  // Not through kube::create: a release Secret's values are not secrets to redact from output.
  kube::ResourceInfo ri = c_.resource_for("v1", "Secret");
  kube::Request req;
  req.method = "POST";
  req.path = kube::object_path(ri, ns_) + "?fieldManager=fatectl";
  req.content_type = "application/json";
  req.body = yaml::to_json(record_secret(r, ns_), false);
  kube::Response resp = c_.send(req);
  if (resp.status == 409) return false;
  if (!resp.ok())
    throw kube::api_error(c_, resp, "store the release record",
                          "secrets '" + secret_name(r.name, r.revision) + "' in namespace '" + ns_ + "'");
  return true;
}

void Store::remove(const std::string& name, int revision) {
  kube::remove(c_, kube::ObjectRef{"v1", "Secret", ns_, secret_name(name, revision)});
}

int Store::remove_all(const std::string& name) {
  auto secrets = kube::list(c_, "v1", "Secret", ns_, "owner=fatectl,name=" + name);
  for (const auto& s : secrets) kube::remove(c_, kube::ObjectRef{"v1", "Secret", ns_, F(s)["metadata"]["name"].str()});
  return static_cast<int>(secrets.size());
}

void Store::prune(const std::string& name, int keep) {
  auto h = history(name);
  for (size_t i = 0; i + keep < h.size(); ++i)
    kube::remove(c_, kube::ObjectRef{"v1", "Secret", ns_, secret_name(name, h[i].revision)});
}

std::vector<Record> Store::list_latest(kube::Client& c, const std::string& ns) {
  // Page by page, keeping only the newest revision of each release (not its spec text).
  std::map<std::pair<std::string, std::string>, Record> newest;
  kube::list_each(c, "v1", "Secret", ns, "owner=fatectl", [&](const YAML::Node& s) {
    auto r = decode(s);
    if (!r) return;
    r->spec.clear();
    auto it = newest.find({r->namespace_, r->name});
    if (it == newest.end()) newest.emplace(std::make_pair(r->namespace_, r->name), std::move(*r));
    else if (r->revision > it->second.revision) it->second = std::move(*r);
  });
  std::vector<Record> out;
  for (auto& [k, r] : newest) out.push_back(r);
  return out;
}

std::vector<std::string> Store::find_namespaces(kube::Client& c, const std::string& name) {
  std::set<std::string> ns;
  kube::list_each(c, "v1", "Secret", "", "owner=fatectl,name=" + name,
                  [&](const YAML::Node& s) { ns.insert(F(s)["metadata"]["namespace"].str()); });
  return {ns.begin(), ns.end()};
}

}  // namespace fatectl::release
