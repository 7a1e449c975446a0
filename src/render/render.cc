// render(): the Namespace, RBAC / Pod Security, every module of the spec, sorted in apply order.
#include "fatectl/render/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common.h"
#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render {

using detail::Ctx;

namespace {

// Apply order: things others refer to first.
int rank(const std::string& kind) {
  static const char* order[] = {"Namespace", "ServiceAccount", "PodSecurityPolicy", "Role", "RoleBinding", "Secret",
                                "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "StatefulSet", "Ingress"};
  for (size_t i = 0; i < std::size(order); ++i)
    if (kind == order[i]) return static_cast<int>(i);
  return static_cast<int>(std::size(order));
}

// "1.24", "v1.31.2" -> {1, 24}; empty means "current" (treated as new).
std::pair<int, int> kube_version(const std::string& v) {
  if (v.empty()) return {1, 99};
  std::string s = v[0] == 'v' || v[0] == 'V' ? v.substr(1) : v;
  int major = 0, minor = 0;
  if (std::sscanf(s.c_str(), "%d.%d", &major, &minor) < 1 || major <= 0)
    throw Error(ErrorKind::Invalid, fmt::format("--kube-version {}: expected MAJOR.MINOR, e.g. 1.29", v));
  return {major, minor};
}

// The pod template spec of a workload, or an invalid node for other kinds.
YAML::Node pod_spec(const YAML::Node& obj) {
  const YAML::Node& spec = obj["spec"];
  if (!spec.IsDefined() || !spec.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& tmpl = spec["template"];
  if (!tmpl.IsDefined() || !tmpl.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  return tmpl["spec"];
}

// Capabilities the Pod Security "baseline" level lets a container add.
bool baseline_capability(const std::string& cap) {
  static const std::set<std::string> ok = {"AUDIT_WRITE", "CHOWN",   "DAC_OVERRIDE", "FOWNER", "FSETID",
                                           "KILL",        "MKNOD",   "NET_BIND_SERVICE", "SETFCAP", "SETGID",
                                           "SETPCAP",     "SETUID",  "SYS_CHROOT"};
  return ok.count(cap) > 0;
}

// The strictest Pod Security level every rendered pod satisfies: "baseline" unless a container
// is privileged or adds a capability outside the baseline set (mysql's SYS_NICE, nodemanager's
// SYS_PTRACE), then "privileged".
std::string pod_security_level(const std::vector<Object>& objs) {
  for (const auto& o : objs) {
    const YAML::Node pod = pod_spec(o.node);
    if (!pod.IsDefined() || !pod.IsMap()) continue;
    if (pod["hostNetwork"] && pod["hostNetwork"].as<bool>(false)) return "privileged";
    for (const char* k : {"containers", "initContainers"}) {
      if (!pod[k]) continue;
      for (const auto& c : pod[k]) {
        YAML::Node sc = c["securityContext"];
        if (!sc) continue;
        if (sc["privileged"] && sc["privileged"].as<bool>(false)) return "privileged";
        if (sc["capabilities"] && sc["capabilities"]["add"])
          for (const auto& cap : sc["capabilities"]["add"])
            if (!baseline_capability(cap.Scalar())) return "privileged";
      }
    }
  }
  return "baseline";
}

void render_rbac(Ctx& c, bool psp_api) {
  const std::string f = "common/rbac.yaml";
  YAML::Node sa = c.base(f, "ServiceAccount", "sa");
  sa["metadata"]["name"] = c.party_name;
  c.add("", sa, "serviceAccount");
  if (!psp_api) return;
  YAML::Node psp = c.base(f, "PodSecurityPolicy", "psp");
  psp["metadata"]["name"] = c.party_name;
  c.add("", psp, "psp");
  YAML::Node role = c.base(f, "Role", "role");
  role["metadata"]["name"] = c.party_name;
  role["rules"][0]["resourceNames"].push_back(c.party_name);
  c.add("", role, "role");
  YAML::Node rb = c.base(f, "RoleBinding", "rolebinding");
  rb["metadata"]["name"] = c.party_name;
  rb["roleRef"]["name"] = c.party_name;
  rb["subjects"][0]["name"] = c.party_name;
  rb["subjects"][0]["namespace"] = c.ns;
  c.add("", rb, "serviceAccount");
}

void render_fate(Ctx& c) {
  if (c.has_module("python")) detail::render_python(c);
  if (c.has_module("mysql")) detail::render_mysql(c);
  if (c.has_module("fateboard")) detail::render_fateboard(c);
  if (c.has_module("client")) detail::render_client(c);
  if (c.has_module("osx")) detail::render_osx(c);
  if (c.has_module("rollsite") || c.has_module("clustermanager") || c.has_module("nodemanager"))
    detail::render_eggroll(c);
  if (c.has_module("lbrollsite")) detail::render_lbrollsite(c);
  if (c.has_module("spark")) detail::render_spark(c);
  if (c.has_module("hdfs")) detail::render_hdfs(c);
  if (c.has_module("nginx")) detail::render_nginx(c);
  if (c.has_module("rabbitmq")) detail::render_rabbitmq(c);
  if (c.has_module("pulsar")) detail::render_pulsar(c);
}

}  // namespace

std::vector<Object> render(const spec::ClusterSpec& spec, const RenderOptions& opts) {
  auto kv = kube_version(opts.kube_version);
  bool psp_api = kv.first == 1 && kv.second < 25;
  if (spec.generation == spec::Generation::Fate20 && spec.has_module("rollsite"))
    throw Error(ErrorKind::Invalid,
                fmt::format("{}: modules: rollsite: chart fate {} has no rollsite module; list osx instead",
                            spec.file, spec.chart_version));
  Ctx c(spec, opts);
  if (c.psp) render_rbac(c, psp_api);
  if (spec.generation == spec::Generation::Exchange)
    detail::render_exchange(c);
  else if (spec.generation == spec::Generation::Fate16)
    detail::render_fate16(c);
  else
    render_fate(c);
  if (c.istio && spec.generation != spec::Generation::Exchange) detail::render_istio(c);
  detail::move_credentials_to_secrets(c);

  YAML::Node ns(YAML::NodeType::Map);
  ns["apiVersion"] = "v1";
  ns["kind"] = "Namespace";
  ns["metadata"]["name"] = c.ns;
  ns["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "fatectl";
  ns["metadata"]["labels"]["app.kubernetes.io/instance"] = yaml::str(c.party_name);
  if (c.psp && !psp_api) {
    std::string level = pod_security_level(c.out);
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = level;
    ns["metadata"]["labels"]["pod-security.kubernetes.io/audit"] = "baseline";
    ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"] = "baseline";
  }
  // Sort indices and copy-construct: moving or assigning yaml-cpp nodes inside the vector
  // (insert at the front, std::stable_sort) makes them alias each other's data.
  std::vector<const Object*> all;
  Object ns_obj{"", ns};
  all.push_back(&ns_obj);
  for (const auto& o : c.out) all.push_back(&o);
  std::stable_sort(all.begin(), all.end(),
                   [](const Object* a, const Object* b) { return rank(a->kind()) < rank(b->kind()); });
  std::vector<Object> sorted;
  sorted.reserve(all.size());
  for (const Object* o : all) sorted.push_back(*o);
  return sorted;
}

std::vector<ImageUse> image_uses(const spec::ClusterSpec& spec, const RenderOptions& opts) {
  std::vector<ImageUse> out;
  for (const auto& o : render(spec, opts)) {
    const YAML::Node pod = pod_spec(o.node);
    if (!pod.IsDefined() || !pod.IsMap()) continue;
    for (const char* k : {"initContainers", "containers"})
      if (pod[k])
        for (const auto& ctr : pod[k])
          if (ctr["image"])
            out.push_back({ctr["image"].Scalar(), o.module, o.kind() + "/" + o.name(),
                           ctr["name"] ? ctr["name"].Scalar() : std::string()});
  }
  return out;
}

std::vector<std::string> images(const spec::ClusterSpec& spec, const RenderOptions& opts) {
  std::set<std::string> all;
  for (const auto& u : image_uses(spec, opts)) all.insert(u.image);
  return {all.begin(), all.end()};
}

std::string image_tag(const std::string& image) {
  size_t at = image.find('@');
  if (at != std::string::npos) return image.substr(at);
  size_t slash = image.rfind('/');
  size_t colon = image.find(':', slash == std::string::npos ? 0 : slash);
  return colon == std::string::npos ? "" : image.substr(colon + 1);
}

bool floating_tag(const std::string& image) {
  std::string t = image_tag(image);
  return t.empty() || t == "latest";
}

std::vector<spec::Diagnostic> floating_image_warnings(const spec::ClusterSpec& spec, const RenderOptions& opts) {
  std::vector<spec::Diagnostic> out;
  std::set<std::string> seen;
  for (const auto& u : image_uses(spec, opts)) {
    if (!floating_tag(u.image) || !seen.insert(u.image).second) continue;
    spec::Diagnostic d;
    d.where.file = spec.file;
    // the key that sets (or would pin) the tag: <module>.imageTag, else the global imageTag
    YAML::Node m = spec.root && spec.root.IsMap() && !u.module.empty() ? spec.root[u.module] : YAML::Node();
    if (m && m.IsMap() && m["imageTag"]) {
      d.where = yaml::where(m["imageTag"], spec.file);
      d.key_path = u.module + ".imageTag";
    } else if (spec.root && spec.root.IsMap() && spec.root["imageTag"]) {
      d.where = yaml::where(spec.root["imageTag"], spec.file);
      d.key_path = "imageTag";
    } else {
      d.key_path = u.module.empty() ? "" : u.module;
    }
    std::string tag = image_tag(u.image);
    d.message = "image " + u.image + " (" + u.workload + ", container " + u.container + ") has " +
                (tag.empty() ? std::string("no tag (it means latest)") : "the floating tag 'latest'") +
                ": the image can change under the same name and differ between nodes; pin a version" +
                (d.key_path.empty() ? "" : " (" + (d.key_path.find("imageTag") == std::string::npos ? d.key_path + ".imageTag" : d.key_path) + ")");
    out.push_back(d);
  }
  return out;
}

}  // namespace fatectl::render
