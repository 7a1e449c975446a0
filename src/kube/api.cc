#include "fatectl/kube/api.h"

#include <functional>
#include <set>
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
    if (!r.what.empty()) return c.send(r);
    Request named = r;
    named.what = what;
    return c.send(named);
  } catch (const BadAnswer& e) {
    throw BadAnswer("cannot " + verb + " " + what + ": " + e.what());
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

void register_secret_value(const std::string& clear) {
  if (clear.size() >= 8) log::add_secret(clear);
  log::add_secret(base64_encode(clear));
}

void register_secret_values(const YAML::Node& obj) {
  if (s(obj["kind"]) != "Secret") return;
  if (YAML::Node d = obj["data"]; d && d.IsMap())
    for (const auto& kv : d) {
      log::add_secret(s(kv.second));  // as sent (it may differ from a fresh encoding in its padding)
      try {
        register_secret_value(base64_decode(s(kv.second)));
      } catch (const Error&) {
      }
    }
  if (YAML::Node d = obj["stringData"]; d && d.IsMap())
    for (const auto& kv : d) register_secret_value(s(kv.second));
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

namespace {

/// Reads a list page by page: `on_page(items, values, bytes)` gets each page's items (with
/// apiVersion/kind put back) and what the page cost. Bounded: kMaxListPages pages, a repeated or
/// oversized continue token, each page within kMaxListPageBytes and kMaxJsonValues (a page over
/// either is asked again with a smaller limit, down to one item).
void list_pages(Client& c, const std::string& api_version, const std::string& kind, const std::string& ns,
                const std::string& label_selector,
                const std::function<void(const YAML::Node& items, uint64_t values, uint64_t bytes)>& on_page) {
  ResourceInfo ri = c.resource_for(api_version, kind);
  const std::string what = describe(ri, ns, "");
  const std::string one = "one list of " + ri.resource;
  long limit = kListPageSize;
  std::string cont;
  std::set<size_t> seen;  // hashes of the continue tokens so far
  for (int page = 1;; ++page) {
    if (page > kMaxListPages)
      throw BadAnswer("cannot list " + what + ": the API server kept sending more pages (stopped after " +
                        std::to_string(kMaxListPages) + " pages of up to " + std::to_string(limit) + " items)");
    std::string path = object_path(ri, ns) + "?limit=" + std::to_string(limit);
    if (!label_selector.empty()) path += "&labelSelector=" + url_escape(label_selector);
    if (!cont.empty()) path += "&continue=" + url_escape(cont);
    Request req = Request::get(path);
    req.max_bytes = kMaxListPageBytes;
    req.what = one;
    YAML::Node n;
    uint64_t bytes = 0, values = 0;
    try {
      Response resp = c.send(req);
      if (!resp.ok()) throw api_error(c, resp, "list", what);
      bytes = resp.body.size();
      values = json_values(resp.body, kMaxJsonValues);
      n = resp.json();
    } catch (const ResponseTooLarge& e) {
      if (limit > 1) {  // the same page again, in smaller pieces
        limit = std::max(1L, limit / 10);
        log::debug("list {}: {}; asking again with limit={}", what, e.what(), limit);
        --page;
        continue;
      }
      throw ResponseTooLarge("cannot list " + what + ": " + e.what() + " (even with limit=1)");
    } catch (const BadAnswer& e) {
      throw BadAnswer("cannot list " + what + ": " + e.what());
    } catch (const Error& e) {
      if (std::string(e.what()).rfind("cannot list", 0) == 0) throw;
      throw Error(e.kind(), "cannot list " + what + ": " + e.what());
    }
    YAML::Node items(YAML::NodeType::Sequence);
    for (const auto& item : n["items"]) {
      YAML::Node it = item;
      // Lists omit apiVersion/kind per item; put them back so callers can make refs.
      if (!it["apiVersion"]) it["apiVersion"] = api_version;
      if (!it["kind"]) it["kind"] = kind;
      items.push_back(it);
    }
    on_page(items, values, bytes);
    cont = s(F(n)["metadata"]["continue"]);
    if (cont.empty()) return;
    if (cont.size() > 64 * 1024)
      throw BadAnswer("cannot list " + what + ": the API server sent a continue token of " + std::to_string(cont.size()) +
                        " bytes");
    if (!seen.insert(std::hash<std::string>{}(cont)).second)
      throw BadAnswer("cannot list " + what + ": the API server sent the same continue token again after page " +
                        std::to_string(page) + " (a broken server or proxy; the list would never end)");
  }
}

}  // namespace

void list_each(Client& c, const std::string& api_version, const std::string& kind, const std::string& ns,
               const std::string& label_selector, const std::function<void(const YAML::Node&)>& fn) {
  list_pages(c, api_version, kind, ns, label_selector, [&](const YAML::Node& items, uint64_t, uint64_t) {
    for (const auto& it : items) fn(it);
  });
}

std::vector<YAML::Node> list(Client& c, const std::string& api_version, const std::string& kind,
                             const std::string& ns, const std::string& label_selector) {
  std::vector<YAML::Node> out;
  uint64_t values = 0, bytes = 0;
  int pages = 0;
  list_pages(c, api_version, kind, ns, label_selector, [&](const YAML::Node& items, uint64_t v, uint64_t b) {
    values += v;
    bytes += b;
    ++pages;
    if (values > kMaxJsonValues || bytes > kMaxListPageBytes)
      throw ResponseTooLarge("cannot list " + kind + " objects" + (ns.empty() ? "" : " in namespace '" + ns + "'") +
                             ": the list is larger than fatectl keeps in memory (more than " +
                             std::to_string(kMaxJsonValues) + " JSON values or " +
                             std::to_string(kMaxListPageBytes / kMiB) + " MiB over " + std::to_string(pages) + " pages)");
    for (const auto& it : items) out.push_back(it);
  });
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
  path += "&limitBytes=" + std::to_string(kMaxLogBytes);
  Request r = Request::get(path);
  r.accept = "*/*";
  r.timeout_s = 15;
  r.max_bytes = kMaxLogBytes + 64 * 1024;  // a server that ignores limitBytes
  r.what = "the log of pod '" + pod + "'";
  try {
    Response resp = c.send(r);
    if (!resp.ok()) return "";
    return resp.body;
  } catch (const Error&) {
    return "";
  }
}

}  // namespace fatectl::kube
