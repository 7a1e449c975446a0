#include "fatectl/plan/admission.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "fatectl/kube/api.h"

namespace fatectl::plan {
namespace {

using kube::F;

/// A LimitRange item's map (max, min, default, ...) parsed per resource.
ResourceList quantities(const YAML::Node& m) {
  ResourceList out;
  for (const auto& kv : F(m))
    if (kv.first.IsScalar() && kv.second.IsScalar())
      if (auto v = parse_resource(kv.first.Scalar(), kv.second.Scalar())) out[kv.first.Scalar()] = *v;
  return out;
}

std::string fmt(const std::string& r, int64_t v) { return format_resource(r, v); }

/// kube-apiserver's minConstraint / maxConstraint / limitRequestRatioConstraint messages.
void check_item(const std::string& type, const YAML::Node& item, const ResourceList& req, const ResourceList& lim,
                std::vector<std::string>& errs) {
  for (const auto& [r, q] : quantities(F(item)["min"])) {
    bool has_req = req.count(r), has_lim = lim.count(r);
    std::string head = "minimum " + r + " usage per " + type + " is " + fmt(r, q);
    if (!has_req) errs.push_back(head + ".  No request is specified");
    else if (amount(req, r) < q) errs.push_back(head + ", but request is " + fmt(r, amount(req, r)));
    else if (has_lim && amount(lim, r) < q) errs.push_back(head + ", but limit is " + fmt(r, amount(lim, r)));
  }
  for (const auto& [r, q] : quantities(F(item)["max"])) {
    bool has_req = req.count(r), has_lim = lim.count(r);
    std::string head = "maximum " + r + " usage per " + type + " is " + fmt(r, q);
    if (!has_lim) errs.push_back(head + ".  No limit is specified");
    else if (amount(lim, r) > q) errs.push_back(head + ", but limit is " + fmt(r, amount(lim, r)));
    else if (has_req && amount(req, r) > q) errs.push_back(head + ", but request is " + fmt(r, amount(req, r)));
  }
  for (const auto& kv : F(F(item)["maxLimitRequestRatio"])) {
    std::string r = kv.first.Scalar();
    auto ratio = parse_milli(kv.second.IsScalar() ? kv.second.Scalar() : "");
    if (!ratio) continue;
    std::string head = r + " max limit to request ratio per " + type + " is " + kv.second.Scalar();
    if (amount(req, r) == 0) errs.push_back(head + ", but no request is specified or request is 0");
    else if (amount(lim, r) == 0) errs.push_back(head + ", but no limit is specified or limit is 0");
    else {
      double observed = static_cast<double>(amount(lim, r)) / static_cast<double>(amount(req, r));
      if (observed * 1000 > static_cast<double>(*ratio)) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%f", observed);
        errs.push_back(head + ", but provided ratio is " + buf);
      }
    }
  }
}

std::string forbidden(const std::string& plural, const std::string& name, const std::vector<std::string>& errs) {
  std::string m;
  if (errs.size() == 1) m = errs[0];
  else {
    m = "[";
    for (size_t i = 0; i < errs.size(); ++i) m += (i ? ", " : "") + errs[i];
    m += "]";
  }
  return plural + " \"" + name + "\" is forbidden: " + m;
}

std::string plural_of(const std::string& kind) {
  std::string k;
  for (char c : kind) k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!k.empty() && k.back() == 'y') return k.substr(0, k.size() - 1) + "ies";
  if (!k.empty() && k.back() == 's') return k + "es";
  return k + "s";
}

/// One quota as admission sees it.
struct Quota {
  std::string name;
  ResourceList hard, used;
  std::set<std::string> unknown;  ///< hard keys without a used value
};

std::string pretty(const ResourceList& l) {
  std::string s;
  for (const auto& [k, v] : l) s += (s.empty() ? "" : ",") + k + "=" + fmt(k, v);
  return s;
}

/// What the ResourceQuota plugin says about one object (empty = admitted, and charged).
struct Charger {
  std::vector<Quota> quotas;

  std::string charge(const ResourceList& usage, const PodSet* pod) {
    for (const auto& q : quotas) {
      std::vector<std::string> matched;
      for (const auto& [k, v] : q.hard)
        if (usage.count(k) || (pod && (k == "cpu" || k == "memory" || k.rfind("requests.", 0) == 0 || k.rfind("limits.", 0) == 0)))
          matched.push_back(k);
      if (matched.empty()) continue;
      if (pod) {  // containers must state what the quota tracks of cpu and memory
        std::map<std::string, std::set<std::string>> missing;
        for (const auto& c : pod->containers)
          for (const auto& k : matched) {
            bool need = k == "cpu" || k == "memory" || k == "requests.cpu" || k == "requests.memory" ||
                        k == "limits.cpu" || k == "limits.memory";
            if (!need) continue;
            std::string res = k.substr(k.find('.') == std::string::npos ? 0 : k.find('.') + 1);
            bool has = k.rfind("limits.", 0) == 0 ? c.limits.count(res) > 0 : c.requests.count(res) > 0;
            if (!has) missing[k].insert(c.name);
          }
        if (!missing.empty()) {
          std::string m;
          for (const auto& [k, names] : missing) {
            std::string list;
            for (const auto& n : names) list += (list.empty() ? "" : ",") + n;
            m += (m.empty() ? "" : "; ") + k + " for: " + list;
          }
          return "failed quota: " + q.name + ": must specify " + m;
        }
      }
      std::string unknown;
      for (const auto& k : matched)
        if (q.unknown.count(k)) unknown += (unknown.empty() ? "" : ",") + k;
      if (!unknown.empty()) return "status unknown for quota: " + q.name + ", resources: " + unknown;
    }
    for (const auto& q : quotas) {
      ResourceList req, used, hard;
      for (const auto& [k, v] : usage) {
        if (!q.hard.count(k) || v == 0) continue;
        if (add_sat(amount(q.used, k), v) > q.hard.at(k)) {
          req[k] = v;
          used[k] = amount(q.used, k);
          hard[k] = q.hard.at(k);
        }
      }
      if (!req.empty())
        return "exceeded quota: " + q.name + ", requested: " + pretty(req) + ", used: " + pretty(used) +
               ", limited: " + pretty(hard);
    }
    for (auto& q : quotas)
      for (const auto& [k, v] : usage)
        if (q.hard.count(k)) q.used[k] = add_sat(q.used[k], v);
    return "";
  }
};

ResourceList count_usage(const std::string& api_version, const std::string& kind) {
  ResourceList u;
  for (const auto& k : count_keys(api_version, kind)) u[k] = 1;
  return u;
}

ResourceList volume_usage(const Volume& v, const std::string& default_class) {
  ResourceList u = count_usage("v1", "PersistentVolumeClaim");
  u["requests.storage"] = v.size;
  std::string sc = v.class_set ? v.storage_class : default_class;
  if (!sc.empty()) {
    u[sc + ".storageclass.storage.k8s.io/requests.storage"] = v.size;
    u[sc + ".storageclass.storage.k8s.io/persistentvolumeclaims"] = 1;
  }
  return u;
}

ResourceList service_usage(const YAML::Node& svc) {
  ResourceList u = count_usage("v1", "Service");
  std::string type = F(svc)["spec"]["type"].str();
  if (type == "NodePort" || type == "LoadBalancer") u["services.nodeports"] = static_cast<int64_t>(F(svc)["spec"]["ports"].size());
  if (type == "LoadBalancer") u["services.loadbalancers"] = 1;
  return u;
}

}  // namespace

std::vector<std::string> count_keys(const std::string& api_version, const std::string& kind) {
  std::string group = api_version.find('/') == std::string::npos ? "" : api_version.substr(0, api_version.find('/'));
  std::string plural = plural_of(kind);
  std::vector<std::string> keys = {"count/" + plural + (group.empty() ? "" : "." + group)};
  if (group.empty() && (kind == "Service" || kind == "ConfigMap" || kind == "Secret" || kind == "Pod" ||
                        kind == "PersistentVolumeClaim" || kind == "ReplicationController" || kind == "ResourceQuota"))
    keys.push_back(plural);
  return keys;
}

ResourceList pod_usage(const PodSet& s) {
  ResourceList u = {{"pods", 1}, {"count/pods", 1}};
  ResourceList req = s.pod_requests(), lim = s.pod_limits();
  for (const auto& [r, v] : req) {
    if (r == "cpu" || r == "memory" || r == "ephemeral-storage") u[r] = v;
    u["requests." + r] = v;
  }
  for (const auto& [r, v] : lim)
    if (r == "cpu" || r == "memory" || r == "ephemeral-storage") u["limits." + r] = v;
  return u;
}

void apply_limit_range_defaults(Workloads& w, const std::vector<YAML::Node>& lrs) {
  for (const auto& lr : lrs)
    for (const auto& item : F(lr)["spec"]["limits"]) {
      if (F(item)["type"].str() != "Container") continue;
      ResourceList def = quantities(F(item)["default"]), def_req = quantities(F(item)["defaultRequest"]);
      for (auto& s : w.sets)
        for (auto& c : s.containers) {
          for (const auto& [r, v] : def)
            if (!c.limits.count(r)) c.limits[r] = v;
          for (const auto& [r, v] : def_req)
            if (!c.requests.count(r)) c.requests[r] = v;
        }
    }
}

std::vector<Refusal> limit_range_refusals(const Workloads& w, const std::vector<YAML::Node>& lrs) {
  std::vector<Refusal> out;
  for (const auto& s : w.sets) {
    if (s.replicas <= 0) continue;
    std::vector<std::string> errs;
    for (const auto& lr : lrs)
      for (const auto& item : F(lr)["spec"]["limits"]) {
        std::string type = F(item)["type"].str();
        if (type == "Container") {
          for (const auto& c : s.containers) check_item("Container", item, c.requests, c.limits, errs);
        } else if (type == "Pod") {
          ResourceList req, lim;  // a resource counts only when every container sets it
          std::set<std::string> keys;
          for (const auto& c : s.containers)
            if (!c.init) {
              for (const auto& [r, v] : c.requests) keys.insert(r);
              for (const auto& [r, v] : c.limits) keys.insert(r);
            }
          for (const auto& r : keys) {
            bool all_req = true, all_lim = true;
            for (const auto& c : s.containers) {
              if (c.init) continue;
              all_req = all_req && c.requests.count(r);
              all_lim = all_lim && c.limits.count(r);
            }
            for (const auto& c : s.containers) {
              if (c.init) continue;
              if (all_req) req[r] = add_sat(req[r], amount(c.requests, r));
              if (all_lim) lim[r] = add_sat(lim[r], amount(c.limits, r));
            }
          }
          check_item("Pod", item, req, lim, errs);
        }
      }
    if (!errs.empty()) out.push_back({"pod " + s.pod_name(0), s.component, forbidden("pods", s.pod_name(0), errs)});
  }
  for (const auto& v : w.volumes)
    for (const auto& lr : lrs)
      for (const auto& item : F(lr)["spec"]["limits"]) {
        if (F(item)["type"].str() != "PersistentVolumeClaim") continue;
        std::vector<std::string> errs;
        ResourceList req = {{"storage", v.size}};
        for (const auto& [r, q] : quantities(F(item)["min"]))
          if (r == "storage" && v.size < q)
            errs.push_back("minimum storage usage per PersistentVolumeClaim is " + fmt(r, q) + ", but request is " + v.size_text);
        for (const auto& [r, q] : quantities(F(item)["max"]))
          if (r == "storage" && v.size > q)
            errs.push_back("maximum storage usage per PersistentVolumeClaim is " + fmt(r, q) + ", but request is " + v.size_text);
        if (!errs.empty())
          out.push_back({"PersistentVolumeClaim " + v.claim, v.component, forbidden("persistentvolumeclaims", v.claim, errs)});
      }
  return out;
}

std::vector<Refusal> quota_refusals(const Workloads& w, const std::vector<kube::Manifest>& objects,
                                    const std::vector<YAML::Node>& quotas, const QuotaContext& ctx,
                                    std::set<std::string>* refused_pods) {
  std::vector<Refusal> out;
  if (quotas.empty()) return out;
  Charger ch;
  for (const auto& qn : quotas) {
    Quota q;
    q.name = F(qn)["metadata"]["name"].str();
    F hard = F(qn)["status"]["hard"].size() > 0 ? F(qn)["status"]["hard"] : F(qn)["spec"]["hard"];
    for (const auto& kv : hard)
      if (auto v = parse_resource(kv.first.Scalar(), kv.second.IsScalar() ? kv.second.Scalar() : ""))
        q.hard[kv.first.Scalar()] = *v;
    for (const auto& [k, v] : q.hard) {
      F used = F(qn)["status"]["used"][k];
      auto u = parse_resource(k, used.str());
      if (!u) {
        q.unknown.insert(k);
        continue;
      }
      q.used[k] = std::max<int64_t>(0, *u - amount(ctx.own_usage, k));  // the party's running pods are replaced
    }
    ch.quotas.push_back(q);
  }
  auto exists = [&](const std::string& kind, const std::string& name) {
    auto it = ctx.existing.find(kind);
    return it != ctx.existing.end() && it->second.count(name);
  };
  auto charge_volume = [&](const Volume& v, const std::string& claim) {
    if (exists("PersistentVolumeClaim", claim)) return;
    std::string m = ch.charge(volume_usage(v, ctx.default_class), nullptr);
    if (!m.empty())
      out.push_back({"PersistentVolumeClaim " + claim, v.component,
                     "persistentvolumeclaims \"" + claim + "\" is forbidden: " + m});
  };
  for (const auto& m : objects) {
    kube::ObjectRef r = m.ref();
    if (r.kind == "Deployment" || r.kind == "StatefulSet" || r.namespace_.empty() || exists(r.kind, r.name)) continue;
    if (r.kind == "PersistentVolumeClaim") {
      for (const auto& v : w.volumes)
        if (v.template_name.empty() && v.claim == r.name) charge_volume(v, v.claim);
      continue;
    }
    ResourceList u = r.kind == "Service" ? service_usage(m.node) : count_usage(r.api_version, r.kind);
    std::string msg = ch.charge(u, nullptr);
    if (!msg.empty()) out.push_back({r.kind + " " + r.name, m.module, plural_of(r.kind) + " \"" + r.name + "\" is forbidden: " + msg});
  }
  for (const auto& s : w.sets) {
    if (!exists(s.kind, s.name)) {
      std::string msg = ch.charge(count_usage("apps/v1", s.kind), nullptr);
      if (!msg.empty()) {
        out.push_back({s.kind + " " + s.name, s.component, plural_of(s.kind) + ".apps \"" + s.name + "\" is forbidden: " + msg});
        for (int i = 0; i < s.replicas; ++i)
          if (refused_pods) refused_pods->insert(s.pod_name(i));
        continue;
      }
    }
    ResourceList usage = pod_usage(s);
    for (int i = 0; i < s.replicas; ++i) {
      if (refused_pods && refused_pods->count(s.pod_name(i))) continue;  // refused already: never created
      for (size_t vi : s.volumes) {
        const Volume& v = w.volumes[vi];
        if (!v.template_name.empty()) charge_volume(v, v.template_name + "-" + s.name + "-" + std::to_string(i));
      }
      std::string msg = ch.charge(usage, &s);
      if (msg.empty()) continue;
      out.push_back({"pod " + s.pod_name(i), s.component, "pods \"" + s.pod_name(i) + "\" is forbidden: " + msg});
      if (refused_pods) refused_pods->insert(s.pod_name(i));
    }
  }
  return out;
}

}  // namespace fatectl::plan
