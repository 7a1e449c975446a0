#include "fatectl/kube/api.h"

#include <tuple>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"

namespace fatectl::kube {
namespace {

std::string s(const F& n) { return n.str(); }

std::string describe(const ResourceInfo& ri, const std::string& ns, const std::string& name) {
  std::string w = ri.resource;
  if (!ri.group.empty()) w += "." + ri.group;
  if (!name.empty()) w += " '" + name + "'";
  if (!ns.empty()) w += " in namespace '" + ns + "'";
  return w;
}

/// Sends, and when the connection itself fails, says which object the request was for.
Response send_for(Client& c, const Request& r, const std::string& verb, const std::string& what) {
  try {
    return c.send(r);
  } catch (const Error& e) {
    throw Error(e.kind(), "cannot " + verb + " " + what + ": " + e.what());
  }
}

}  // namespace

long F::num(long dflt) const {
  if (!n_ || !n_.IsScalar()) return dflt;
  try {
    return std::stol(n_.Scalar());
  } catch (...) {
    return dflt;
  }
}

std::string ObjectRef::str() const {
  return kind + " " + (namespace_.empty() ? "" : namespace_ + "/") + name;
}

ObjectRef ObjectRef::of(const YAML::Node& obj) {
  ObjectRef r;
  r.api_version = s(obj["apiVersion"]);
  r.kind = s(obj["kind"]);
  r.name = s(F(obj)["metadata"]["name"]);
  r.namespace_ = s(F(obj)["metadata"]["namespace"]);
  return r;
}

bool ObjectRef::operator<(const ObjectRef& o) const {
  return std::tie(kind, namespace_, name, api_version) < std::tie(o.kind, o.namespace_, o.name, o.api_version);
}
bool ObjectRef::operator==(const ObjectRef& o) const {
  return kind == o.kind && namespace_ == o.namespace_ && name == o.name && api_version == o.api_version;
}

std::string object_path(const ResourceInfo& ri, const std::string& ns, const std::string& name) {
  std::string p = ri.group.empty() ? "/api/" + ri.version : "/apis/" + ri.group + "/" + ri.version;
  if (ri.namespaced && !ns.empty()) p += "/namespaces/" + url_escape(ns);
  p += "/" + ri.resource;
  if (!name.empty()) p += "/" + url_escape(name);
  return p;
}

void register_secret_values(const YAML::Node& obj) {
  if (s(obj["kind"]) != "Secret") return;
  if (YAML::Node d = obj["data"]; d && d.IsMap())
    for (const auto& kv : d) {
      log::add_secret(s(kv.second));
      try {
        log::add_secret(base64_decode(s(kv.second)));
      } catch (const Error&) {
      }
    }
  if (YAML::Node d = obj["stringData"]; d && d.IsMap())
    for (const auto& kv : d) log::add_secret(s(kv.second));
}

YAML::Node apply(Client& c, const YAML::Node& obj, const ApplyOptions& o) {
  ObjectRef ref = ObjectRef::of(obj);
  if (ref.api_version.empty() || ref.kind.empty() || ref.name.empty())
    throw invalid("cannot apply an object without apiVersion, kind and metadata.name");
  register_secret_values(obj);
  ResourceInfo ri = c.resource_for(ref.api_version, ref.kind);
  if (ri.namespaced && ref.namespace_.empty())
    throw invalid("cannot apply " + ref.str() + ": a namespaced object needs metadata.namespace");
  std::string path = object_path(ri, ri.namespaced ? ref.namespace_ : "", ref.name) +
                     "?fieldManager=" + url_escape(o.field_manager) + (o.force ? "&force=true" : "") +
                     (o.dry_run ? "&dryRun=All" : "");
  Request r;
  r.method = "PATCH";
  r.path = path;
  r.body = yaml::to_json(obj, false);
  r.content_type = "application/apply-patch+yaml";
  Response resp = send_for(c, r, "apply", describe(ri, ref.namespace_, ref.name));
  if (!resp.ok()) throw api_error(c, resp, "apply", describe(ri, ref.namespace_, ref.name));
  return resp.json();
}

std::optional<YAML::Node> get(Client& c, const ObjectRef& ref) {
  ResourceInfo ri = c.resource_for(ref.api_version, ref.kind);
  Response resp = send_for(c, Request::get(object_path(ri, ref.namespace_, ref.name)), "get",
                           describe(ri, ref.namespace_, ref.name));
  if (resp.status == 404) return std::nullopt;
  if (!resp.ok()) throw api_error(c, resp, "get", describe(ri, ref.namespace_, ref.name));
  return resp.json();
}

std::vector<YAML::Node> list(Client& c, const std::string& api_version, const std::string& kind,
                             const std::string& ns, const std::string& label_selector) {
  ResourceInfo ri = c.resource_for(api_version, kind);
  std::vector<YAML::Node> out;
  std::string cont;
  do {
    std::string path = object_path(ri, ns) + "?limit=500";
    if (!label_selector.empty()) path += "&labelSelector=" + url_escape(label_selector);
    if (!cont.empty()) path += "&continue=" + url_escape(cont);
    Response resp = send_for(c, Request::get(path), "list", describe(ri, ns, ""));
    if (!resp.ok()) throw api_error(c, resp, "list", describe(ri, ns, ""));
    YAML::Node n = resp.json();
    for (const auto& item : n["items"]) {
      YAML::Node it = item;
      // Lists omit apiVersion/kind per item; put them back so callers can make refs.
      if (!it["apiVersion"]) it["apiVersion"] = api_version;
      if (!it["kind"]) it["kind"] = kind;
      out.push_back(it);
    }
    cont = s(F(n)["metadata"]["continue"]);
  } while (!cont.empty());
  return out;
}

bool create(Client& c, const YAML::Node& obj) {
  ObjectRef ref = ObjectRef::of(obj);
  register_secret_values(obj);
  ResourceInfo ri = c.resource_for(ref.api_version, ref.kind);
  Request r;
  r.method = "POST";
  r.path = object_path(ri, ref.namespace_) + "?fieldManager=fatectl";
  r.body = yaml::to_json(obj, false);
  Response resp = send_for(c, r, "create", describe(ri, ref.namespace_, ref.name));
  if (resp.status == 409) return false;
  if (!resp.ok()) throw api_error(c, resp, "create", describe(ri, ref.namespace_, ref.name));
  return true;
}

bool remove(Client& c, const ObjectRef& ref, const std::string& propagation) {
  ResourceInfo ri = c.resource_for(ref.api_version, ref.kind);
  Request r;
  r.method = "DELETE";
  r.path = object_path(ri, ref.namespace_, ref.name);
  r.body = "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"" + propagation + "\"}";
  Response resp = send_for(c, r, "delete", describe(ri, ref.namespace_, ref.name));
  if (resp.status == 404) return false;
  if (!resp.ok()) throw api_error(c, resp, "delete", describe(ri, ref.namespace_, ref.name));
  return true;
}

std::string pod_logs(Client& c, const std::string& ns, const std::string& pod, const std::string& container,
                     int tail, bool previous) {
  std::string path = "/api/v1/namespaces/" + url_escape(ns) + "/pods/" + url_escape(pod) +
                     "/log?tailLines=" + std::to_string(tail);
  if (!container.empty()) path += "&container=" + url_escape(container);
  if (previous) path += "&previous=true";
  Request r = Request::get(path);
  r.accept = "*/*";
  r.timeout_s = 15;
  try {
    Response resp = c.send(r);
    if (!resp.ok()) return "";
    return resp.body;
  } catch (const Error&) {
    return "";
  }
}

}  // namespace fatectl::kube
