#pragma once
// Object verbs on top of the client: server-side apply, get, list, delete, pod logs.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "fatectl/kube/client.h"

namespace fatectl::kube {

/// Null-safe reading of nested fields of an API object: F(pod)["status"]["phase"].str() is ""
/// when any step is missing, instead of throwing as chained yaml-cpp const lookups do.
class F {
 public:
  F(const YAML::Node& n) : n_(n) {}  // NOLINT: implicit on purpose
  F operator[](const std::string& key) const {
    const YAML::Node& cn = n_;
    if (cn && cn.IsMap()) {
      YAML::Node c = cn[key];
      if (c) return F(c);
    }
    return F(YAML::Node());
  }
  F operator[](size_t i) const {
    const YAML::Node& cn = n_;
    if (cn && cn.IsSequence() && i < cn.size()) return F(cn[i]);
    return F(YAML::Node());
  }
  /// The scalar text, or "" (also for maps and sequences).
  std::string str() const { return n_ && n_.IsScalar() ? n_.Scalar() : ""; }
  /// The scalar as an integer, or `dflt`.
  long num(long dflt = 0) const;
  const YAML::Node& node() const { return n_; }
  operator YAML::Node() const { return n_; }  // NOLINT
  explicit operator bool() const { return n_ && !n_.IsNull(); }
  YAML::const_iterator begin() const { return static_cast<const YAML::Node&>(n_).begin(); }
  YAML::const_iterator end() const { return static_cast<const YAML::Node&>(n_).end(); }
  size_t size() const { return n_ && (n_.IsMap() || n_.IsSequence()) ? n_.size() : 0; }

 private:
  YAML::Node n_;
};

/// Names one object: what a release inventory records and what messages print.
struct ObjectRef {
  std::string api_version;
  std::string kind;
  std::string namespace_;  ///< "" for cluster-scoped objects
  std::string name;
  /// "Deployment/python" or "Deployment fate-9999/python".
  std::string str() const;
  /// The ref of an object's apiVersion, kind and metadata.
  static ObjectRef of(const YAML::Node& obj);
  bool operator<(const ObjectRef& o) const;
  bool operator==(const ObjectRef& o) const;
};

/// Server-side apply settings.
struct ApplyOptions {
  std::string field_manager = "fatectl";
  bool force = true;     ///< take ownership of conflicting fields (we own these objects)
  bool dry_run = false;  ///< dryRun=All: the server validates and answers, persists nothing
};

/// REST path of an object or collection ("" name = the collection; "" ns = all namespaces).
std::string object_path(const ResourceInfo& ri, const std::string& ns, const std::string& name = "");

/// Server-side apply (PATCH application/apply-patch+yaml, JSON body); returns the object the
/// server holds afterwards. Throws naming the object on failure.
YAML::Node apply(Client& c, const YAML::Node& obj, const ApplyOptions& o = {});
/// The live object, or nullopt when it does not exist.
std::optional<YAML::Node> get(Client& c, const ObjectRef& ref);
/// Items per page of a list request (`limit`); pages too large are asked again with fewer.
inline constexpr long kListPageSize = 100;
/// The most pages one list reads before it is taken for an endless list.
inline constexpr int kMaxListPages = 1000;

/// Calls `fn` with each item of a kind in a namespace ("" = all namespaces), optionally by
/// label selector, one page at a time: memory holds one page. Ends with Unreachable (exit 3)
/// when the server repeats a continue token or sends more than kMaxListPages pages, and with
/// ResponseTooLarge when one item alone is over the page limits.
void list_each(Client& c, const std::string& api_version, const std::string& kind, const std::string& ns,
               const std::string& label_selector, const std::function<void(const YAML::Node&)>& fn);
/// Items of a kind in a namespace ("" = all namespaces), optionally by label selector. Like
/// list_each, and all pages together must stay within kMaxListPageBytes and kMaxJsonValues.
std::vector<YAML::Node> list(Client& c, const std::string& api_version, const std::string& kind,
                             const std::string& ns, const std::string& label_selector = "");
/// Creates an object (POST); returns false when it already exists.
bool create(Client& c, const YAML::Node& obj);
/// Deletes with propagationPolicy (Background by default); false when it was already gone.
bool remove(Client& c, const ObjectRef& ref, const std::string& propagation = "Background");
/// The last `tail` lines of a container's log (previous = the crashed instance); "" on error.
std::string pod_logs(Client& c, const std::string& ns, const std::string& pod, const std::string& container,
                     int tail = 20, bool previous = false);

/// Registers one secret value (a password from a spec or a Secret) for redaction: its base64 form
/// always, and the value itself when it is 8 bytes or longer -- a shorter one (the charts' default
/// password "fate") would mangle every name it occurs in; where such a value is printed on purpose
/// (spec, Secret data) it is masked by its key instead.
void register_secret_value(const std::string& clear);

/// Registers the values of a Secret object (data as sent and decoded, stringData) through
/// register_secret_value.
void register_secret_values(const YAML::Node& obj);

}  // namespace fatectl::kube
