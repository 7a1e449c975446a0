#include "fatectl/ops/mounted_secrets.h"

#include <map>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/kube/api.h"

namespace fatectl::ops {
namespace {

using kube::F;

bool optional_ref(const F& n) { return n["optional"].str() == "true"; }

}  // namespace

std::vector<SecretUse> secrets_needed(const std::vector<kube::Manifest>& objects) {
  std::vector<SecretUse> out;
  std::set<std::pair<std::string, std::string>> seen;
  auto add = [&](const std::string& ns, const std::string& name, const std::string& user) {
    if (name.empty() || !seen.insert({ns, name}).second) return;
    out.push_back({ns, name, user});
  };
  for (const auto& m : objects) {
    F obj(m.node);
    std::string kind = obj["kind"].str();
    F pod = kind == "Pod" ? obj["spec"] : kind == "CronJob" ? obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
                                                               : obj["spec"]["template"]["spec"];
    if (!pod) continue;
    std::string ns = obj["metadata"]["namespace"].str();
    std::string who = kind + "/" + obj["metadata"]["name"].str();
    for (const auto& v : pod["volumes"]) {
      F vol(v);
      if (vol["secret"] && !optional_ref(vol["secret"]))
        add(ns, vol["secret"]["secretName"].str(), who + " (volume " + vol["name"].str() + ")");
      for (const auto& src : vol["projected"]["sources"])
        if (F(src)["secret"] && !optional_ref(F(src)["secret"]))
          add(ns, F(src)["secret"]["name"].str(), who + " (volume " + vol["name"].str() + ")");
    }
    for (const char* list : {"containers", "initContainers"})
      for (const auto& c : pod[list]) {
        F ctr(c);
        for (const auto& e : ctr["env"]) {
          F ref = F(e)["valueFrom"]["secretKeyRef"];
          if (ref && !optional_ref(ref)) add(ns, ref["name"].str(), who + " (env " + F(e)["name"].str() + ")");
        }
        for (const auto& e : ctr["envFrom"]) {
          F ref = F(e)["secretRef"];
          if (ref && !optional_ref(ref)) add(ns, ref["name"].str(), who + " (envFrom)");
        }
      }
  }
  return out;
}

void check_mounted_secrets(kube::Client& c, const std::vector<kube::Manifest>& objects) {
  std::set<std::pair<std::string, std::string>> rendered;
  for (const auto& m : objects)
    if (F(m.node)["kind"].str() == "Secret") rendered.insert({F(m.node)["metadata"]["namespace"].str(), F(m.node)["metadata"]["name"].str()});
  std::vector<std::string> missing;
  std::map<std::string, bool> ns_exists;
  for (const auto& s : secrets_needed(objects)) {
    if (rendered.count({s.ns, s.name})) continue;
    if (!ns_exists.count(s.ns)) ns_exists[s.ns] = kube::get(c, kube::ObjectRef{"v1", "Namespace", "", s.ns}).has_value();
    if (ns_exists[s.ns] && kube::get(c, kube::ObjectRef{"v1", "Secret", s.ns, s.name})) continue;
    missing.push_back("Secret " + s.ns + "/" + s.name + " (needed by " + s.user + ")");
  }
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : "; ") + m;
  throw failed("the pods would not start: " + list + (missing.size() == 1 ? " does not" : " do not") +
               " exist. Create it first (certificates for the Exchange path: `fatectl certs exchange "
               "--apply --create-namespace`), or pass --skip-secret-check if something else creates it. Nothing "
               "was applied");
}

}  // namespace fatectl::ops
