#include "fatectl/plan/workload.h"

#include <algorithm>
#include <map>

#include "fatectl/core/error.h"
#include "fatectl/kube/api.h"
#include "fatectl/plan/locate.h"

namespace fatectl::plan {
namespace {

using kube::F;

/// A quantity from a rendered object; a bad one is reported at the spec key it came from.
int64_t quantity(const std::string& resource, const std::string& text, const spec::ClusterSpec& spec,
                 const std::string& spec_key, const std::string& what) {
  auto v = parse_resource(resource, text);
  if (!v)
    throw invalid_at(locate(spec, spec_key), spec_key,
                     what + " '" + text + "' is not a Kubernetes quantity (examples: 4, 500m, 8Gi, 1.5G)");
  return *v;
}

ResourceList resource_list(const YAML::Node& n, const spec::ClusterSpec& spec, const std::string& key,
                           const std::string& what) {
  ResourceList out;
  if (!n || !n.IsMap()) return out;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) continue;
    std::string r = kv.first.Scalar();
    out[r] = quantity(r, kv.second.Scalar(), spec, key + "." + r, what + " " + r);
  }
  return out;
}

Volume volume_of(const YAML::Node& pvc, const std::string& module, const std::string& component,
                 const std::string& spec_path, const spec::ClusterSpec& spec) {
  Volume v;
  v.module = module;
  v.component = component;
  v.spec_path = spec_path;
  v.size_text = F(pvc)["spec"]["resources"]["requests"]["storage"].str();
  v.size = v.size_text.empty() ? 0 : quantity("storage", v.size_text, spec, spec_path + ".size", "size");
  const YAML::Node& sc = F(pvc)["spec"]["storageClassName"];
  v.class_set = sc.IsDefined() && !sc.IsNull();
  v.storage_class = v.class_set && sc.IsScalar() ? sc.Scalar() : "";
  return v;
}

}  // namespace

std::string spec_path_of(const std::string& module, const std::string& component) {
  if (module == "spark" && component.rfind("spark-", 0) == 0) return "spark." + component.substr(6);
  if (module == "hdfs" && (component == "namenode" || component == "datanode")) return "hdfs." + component;
  return module;
}

namespace {
/// Requests or limits of one pod: the containers' sum, or the largest init container if larger.
ResourceList pod_sum(const std::vector<Container>& containers, bool limits) {
  ResourceList sum, init_max;
  for (const auto& c : containers)
    for (const auto& [r, v] : limits ? c.limits : c.requests) {
      if (c.init) init_max[r] = std::max(init_max[r], v);
      else sum[r] = add_sat(sum[r], v);
    }
  for (const auto& [r, v] : init_max) sum[r] = std::max(sum[r], v);
  return sum;
}
}  // namespace

ResourceList PodSet::pod_requests() const { return pod_sum(containers, false); }
ResourceList PodSet::pod_limits() const { return pod_sum(containers, true); }

bool PodSet::all_request(const std::string& resource) const {
  bool any = false;
  for (const auto& c : containers) {
    if (c.init) continue;
    any = true;
    if (!c.requests.count(resource)) return false;
  }
  return any;
}

std::string PodSet::pod_name(int i) const {
  if (kind == "StatefulSet") return name + "-" + std::to_string(i);
  if (replicas <= 1) return name;
  return name + "[" + std::to_string(i + 1) + "/" + std::to_string(replicas) + "]";
}

std::vector<std::string> PodSet::claims_of(int i) const {
  std::vector<std::string> out = claims;
  for (const auto& t : template_claims) out.push_back(t + "-" + name + "-" + std::to_string(i));
  return out;
}

Workloads read_workloads(const std::vector<kube::Manifest>& objects, const spec::ClusterSpec& spec) {
  Workloads w;
  std::map<std::string, std::pair<std::string, std::string>> claim_owner;  // PVC -> (component, spec path)
  std::vector<kube::Manifest> pvcs;
  for (const auto& m : objects) {
    std::string kind = F(m.node)["kind"].str();
    if (kind == "PersistentVolumeClaim") {
      pvcs.push_back(m);
      continue;
    }
    if (kind != "Deployment" && kind != "StatefulSet") continue;
    PodSet s;
    s.module = m.module;
    s.kind = kind;
    s.name = F(m.node)["metadata"]["name"].str();
    s.namespace_ = F(m.node)["metadata"]["namespace"].str();
    s.labels = F(m.node)["spec"]["template"]["metadata"]["labels"].node();
    s.component = F(s.labels)["fateMoudle"].str();
    if (s.component.empty()) s.component = s.name;
    s.spec_path = spec_path_of(s.module.empty() ? s.component : s.module, s.component);
    s.replicas = static_cast<int>(F(m.node)["spec"]["replicas"].num(1));
    if (s.replicas < 0) s.replicas = 0;
    s.pod = F(m.node)["spec"]["template"]["spec"].node();
    s.selector = F(m.node)["spec"]["selector"]["matchLabels"].node();
    std::string rkey = s.spec_path + ".resources";
    for (const char* list : {"initContainers", "containers"})
      for (const auto& c : F(s.pod)[list]) {
        Container ct;
        ct.name = F(c)["name"].str();
        ct.init = std::string(list) == "initContainers";
        std::string what = s.kind + " " + s.name + " container " + ct.name + ":";
        ct.limits = resource_list(F(c)["resources"]["limits"], spec, rkey + ".limits", what + " limit");
        ct.requests = resource_list(F(c)["resources"]["requests"], spec, rkey + ".requests", what + " request");
        for (const auto& [r, v] : ct.limits)  // the API server's defaulting: request = limit when unset
          if (!ct.requests.count(r)) ct.requests[r] = v;
        s.containers.push_back(ct);
      }
    for (const auto& v : F(s.pod)["volumes"]) {
      std::string claim = F(v)["persistentVolumeClaim"]["claimName"].str();
      if (claim.empty()) continue;
      s.claims.push_back(claim);
      claim_owner.emplace(claim, std::make_pair(s.component, s.spec_path));
    }
    for (const auto& t : F(m.node)["spec"]["volumeClaimTemplates"]) {
      Volume v = volume_of(t, s.module, s.component, s.spec_path, spec);
      v.template_name = F(t)["metadata"]["name"].str();
      v.claim = v.template_name + "-" + s.name + "-0";
      v.copies = s.replicas;
      s.volumes.push_back(w.volumes.size());
      w.volumes.push_back(v);
      s.template_claims.push_back(v.template_name);
    }
    w.sets.push_back(std::move(s));
  }
  for (const auto& m : pvcs) {
    std::string name = F(m.node)["metadata"]["name"].str();
    std::string component = F(m.node)["metadata"]["labels"]["fateMoudle"].str();
    std::string path = spec_path_of(m.module, component.empty() ? m.module : component);
    if (auto it = claim_owner.find(name); it != claim_owner.end()) std::tie(component, path) = it->second;
    Volume v = volume_of(m.node, m.module, component.empty() ? m.module : component, path, spec);
    v.claim = name;
    for (auto& s : w.sets)
      if (std::find(s.claims.begin(), s.claims.end(), name) != s.claims.end()) s.volumes.push_back(w.volumes.size());
    w.volumes.push_back(v);
  }
  for (auto& s : w.sets)  // claims nothing renders: existingClaim, made by the operator
    for (const auto& claim : s.claims) {
      bool known = std::any_of(w.volumes.begin(), w.volumes.end(),
                               [&](const Volume& v) { return v.template_name.empty() && v.claim == claim; });
      if (known) continue;
      Volume v;
      v.module = s.module;
      v.component = s.component;
      v.claim = claim;
      v.spec_path = s.spec_path;
      v.existing = true;
      s.volumes.push_back(w.volumes.size());
      w.volumes.push_back(v);
    }
  return w;
}

std::vector<Totals> totals(const Workloads& w) {
  std::vector<Totals> out;
  Totals all;
  auto slot = [&](const std::string& module) -> Totals& {
    for (auto& t : out)
      if (t.module == module) return t;
    out.push_back(Totals{});
    out.back().module = module;
    return out.back();
  };
  auto add_list = [](ResourceList& into, const ResourceList& one, int n) {
    for (const auto& [r, v] : one) into[r] = add_sat(into[r], mul_sat(v, n));
  };
  for (const auto& s : w.sets) {
    Totals& t = slot(s.module);
    for (Totals* x : {&t, &all}) {
      x->pods += s.replicas;
      add_list(x->requests, s.pod_requests(), s.replicas);
      add_list(x->limits, s.pod_limits(), s.replicas);
      if (!s.pod_requests().count("cpu")) x->pods_without_cpu_request += s.replicas;
      if (!s.pod_requests().count("memory")) x->pods_without_memory_request += s.replicas;
    }
  }
  for (const auto& v : w.volumes) {
    int64_t bytes = mul_sat(v.size, v.copies);
    Totals& t = slot(v.module);
    t.storage = add_sat(t.storage, bytes);
    all.storage = add_sat(all.storage, bytes);
  }
  out.push_back(all);
  return out;
}

}  // namespace fatectl::plan
