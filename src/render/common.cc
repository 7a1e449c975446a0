// Helpers shared by every module renderer: spec values, labels, pods, Services, volumes, images.
#include "common.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

Path operator+(Path p, const std::string& key) {
  p.push_back(key);
  return p;
}

namespace {

// "v1.11.2" -> "1.11.2-release": the image tag the chart's values.yaml carries.
std::string tag_of(const std::string& chart_version) {
  std::string v = chart_version;
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v = v.substr(1);
  return v + "-release";
}

// Parsed manifests, parsed once per process (render() is called often in benchmarks).
const std::vector<YAML::Node>& parsed(const std::string& file) {
  static std::mutex mu;
  static std::map<std::string, std::vector<YAML::Node>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(file);
  if (it != cache.end()) return it->second;
  auto& files = embedded_files();
  auto f = files.find(file);
  if (f == files.end()) throw Error(ErrorKind::Failed, fmt::format("internal: manifests/{} is not embedded", file));
  return cache.emplace(file, yaml::parse_all(f->second, "manifests/" + file)).first->second;
}

}  // namespace

Ctx::Ctx(const spec::ClusterSpec& s, const RenderOptions& o) : spec(s), opts(o) {
  using spec::Generation;
  chart = s.generation == Generation::Exchange ? "fate-exchange" : "fate";
  switch (s.generation) {
    case Generation::Exchange: manifests = "exchange"; break;
    case Generation::Fate16: manifests = "fate/v1.6"; break;
    case Generation::Fate20: manifests = "fate/v2.0"; break;
    default: manifests = "fate/v1.11"; break;
  }
  party_id = std::to_string(s.party_id);
  party_name = s.name;
  ns = s.namespace_;
  std::string reg = str({"registry"});
  if (!o.registry.empty()) reg = o.registry;
  third_party = !reg.empty();
  registry = reg.empty() ? "federatedai" : reg;
  while (registry.size() > 1 && registry.back() == '/') registry.pop_back();
  tag = s.generation == Generation::Fate16 ? str({"imageTag"}, tag_of(s.chart_version)) : tag_of(s.chart_version);
  v20 = s.generation == Generation::Fate20;
  v16 = s.generation == Generation::Fate16;
  prefix = !o.registry.empty() ? o.registry : str({"registry"});
  pull_policy = str({"pullPolicy"}, "IfNotPresent");
  persistence = flag({"persistence"}, false);
  psp = flag({"podSecurityPolicy", "enabled"}, false);
  istio = flag({"istio", "enabled"}, false);
  // engine layout as the spec layer resolved it (v1.6 `backend` included), chart defaults otherwise
  computing = !s.computing.empty() ? s.computing : str({"computing"}, "Eggroll");
  federation = !s.federation.empty() ? s.federation : str({"federation"}, "Eggroll");
  storage = !s.storage.empty() ? s.storage : str({"storage"}, "Eggroll");
  algorithm = !s.algorithm.empty() ? s.algorithm : str({"algorithm"}, "Basic");
  device = !s.device.empty() ? s.device : str({"device"}, "CPU");
}

YAML::Node Ctx::at(Path path) const {
  YAML::Node cur;
  cur.reset(spec.root);
  for (const auto& k : path) {
    if (!cur.IsMap()) return YAML::Node();
    const YAML::Node& cref = cur;
    YAML::Node next = cref[k];
    if (!next.IsDefined()) return YAML::Node();
    cur.reset(next);
  }
  return cur;
}

bool Ctx::empty(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return true;
  if (n.IsScalar()) return n.Scalar().empty();
  return n.size() == 0;
}

std::string Ctx::str(Path path, const std::string& def) const {
  YAML::Node n = at(path);
  if (empty(n) || !n.IsScalar()) return def;
  return n.Scalar();
}

long Ctx::num(Path path, long def) const {
  std::string s = str(path);
  if (s.empty()) return def;
  try {
    size_t used = 0;
    long v = std::stol(s, &used, 0);
    if (used == s.size()) return v;
  } catch (...) {
  }
  return def;
}

bool Ctx::flag(Path path, bool def) const {
  YAML::Node n = at(path);
  if (empty(n) || !n.IsScalar()) return def;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return def;
}

std::string Ctx::raw(Path path, const std::string& values_default) const {
  Path parent(path.begin(), path.end() - 1);
  YAML::Node p = at(parent);
  if (p.IsDefined() && p.IsMap()) return str(path);
  return values_default;
}

YAML::Node Ctx::base(const std::string& file, const std::string& kind, const std::string& name) const {
  for (const auto& d : parsed(file)) {
    if (d["kind"] && d["kind"].Scalar() == kind && d["metadata"]["name"] && d["metadata"]["name"].Scalar() == name)
      return yaml::clone(d);
  }
  throw Error(ErrorKind::Failed, fmt::format("internal: no {} {} in manifests/{}", kind, name, file));
}

void Ctx::probes(YAML::Node ctr, const std::string& shape, int port) const {
  const YAML::Node& all = parsed("common/probes.yaml").at(0);
  const YAML::Node& s = all[shape];
  for (auto [key, name] : {std::pair<const char*, const char*>{"livenessProbe", "liveness"},
                           {"readinessProbe", "readiness"}, {"startupProbe", "startup"}}) {
    YAML::Node p = yaml::clone(s[name]);
    if (p["tcpSocket"]) p["tcpSocket"]["port"] = port;
    if (p["httpGet"]) p["httpGet"]["port"] = port;
    ctr[key] = p;
  }
}

std::string Ctx::text(const std::string& file) const {
  auto& files = embedded_files();
  auto f = files.find(file);
  if (f == files.end()) throw Error(ErrorKind::Failed, fmt::format("internal: manifests/{} is not embedded", file));
  return std::string(f->second);
}

YAML::Node Ctx::labels(const std::string& fm) const {
  YAML::Node l(YAML::NodeType::Map);
  l["fateMoudle"] = yaml::str(fm);
  l["name"] = yaml::str(party_name);
  l["partyId"] = yaml::str(party_id);
  l["owner"] = "kubefate";
  l["cluster"] = chart;
  l["heritage"] = "Helm";
  l["release"] = yaml::str(party_name);
  l["chart"] = chart;
  l["app.kubernetes.io/managed-by"] = "fatectl";
  l["app.kubernetes.io/instance"] = yaml::str(party_name);
  return l;
}

YAML::Node Ctx::match_labels(const std::string& fm) const {
  YAML::Node l(YAML::NodeType::Map);
  l["fateMoudle"] = yaml::str(fm);
  l["name"] = yaml::str(party_name);
  l["partyId"] = yaml::str(party_id);
  return l;
}

void Ctx::add(const std::string& module, YAML::Node obj, const std::string& fm) {
  YAML::Node meta = obj["metadata"];
  if (obj["kind"].Scalar() != "Namespace" && obj["kind"].Scalar() != "PodSecurityPolicy") meta["namespace"] = ns;
  YAML::Node l = labels(fm);
  if (meta["labels"] && meta["labels"].IsMap())
    for (auto kv : meta["labels"]) l[kv.first.Scalar()] = kv.second;
  meta["labels"] = l;
  out.push_back(Object{module, obj});
}

void Ctx::workload(YAML::Node obj, const std::string& fm, Path mp, bool service_account) {
  YAML::Node spec_ = obj["spec"];
  YAML::Node sel(YAML::NodeType::Map);
  sel["matchLabels"] = match_labels(fm);
  // selector first, as kubectl shows it
  YAML::Node ordered(YAML::NodeType::Map);
  for (auto kv : spec_) {
    if (kv.first.Scalar() == "template") ordered["selector"] = sel;
    ordered[kv.first.Scalar()] = kv.second;
  }
  obj["spec"] = ordered;
  YAML::Node tmpl = obj["spec"]["template"];
  YAML::Node tmeta(YAML::NodeType::Map);
  if (tmpl["metadata"] && tmpl["metadata"]["annotations"]) tmeta["annotations"] = tmpl["metadata"]["annotations"];
  tmeta["labels"] = labels(fm);
  YAML::Node newt(YAML::NodeType::Map);
  newt["metadata"] = tmeta;
  newt["spec"] = tmpl["spec"];
  obj["spec"]["template"] = newt;
  YAML::Node pod = obj["spec"]["template"]["spec"];
  for (const char* k : {"initContainers", "containers"})
    if (pod[k])
      for (auto ctr : pod[k]) ctr["imagePullPolicy"] = pull_policy;
  for (const char* k : {"nodeSelector", "tolerations", "affinity"}) {
    YAML::Node v = at(mp + k);
    if (!empty(v)) pod[k] = yaml::clone(v);
  }
  YAML::Node secrets = at({"imagePullSecrets"});
  if (!empty(secrets)) pod["imagePullSecrets"] = yaml::clone(secrets);
  if (service_account) pod["serviceAccountName"] = psp ? party_name : std::string("default");
}

void Ctx::resources(YAML::Node c, Path mp, const YAML::Node& defaults) const {
  YAML::Node r = defaults.IsDefined() && !defaults.IsNull() ? yaml::clone(defaults) : YAML::Node(YAML::NodeType::Map);
  YAML::Node s = at(mp + "resources");
  if (!empty(s) && s.IsMap()) {
    for (auto kv : s) {
      const std::string k = kv.first.Scalar();
      if (kv.second.IsMap() && r[k] && r[k].IsMap()) {
        for (auto inner : kv.second) r[k][inner.first.Scalar()] = yaml::clone(inner.second);
      } else {
        r[k] = yaml::clone(kv.second);
      }
    }
  }
  // quantities are strings in the API ("4", "8Gi")
  for (auto kv : r)
    if (kv.second.IsMap())
      for (auto q : kv.second)
        if (q.second.IsScalar()) r[kv.first.Scalar()][q.first.Scalar()] = yaml::str(q.second.Scalar());
  if (r.size() > 0) c["resources"] = r;
}

void Ctx::service(YAML::Node svc, const std::string& type,
                  const std::vector<std::pair<std::string, std::string>>& node_ports, Path mp,
                  const std::string& lb_key) const {
  svc["spec"]["type"] = type;
  if (type == "NodePort" || type == "LoadBalancer") {
    for (const auto& [port_name, key] : node_ports) {
      long np = num(mp + key, 0);
      if (np <= 0) continue;
      for (auto p : svc["spec"]["ports"])
        if (p["name"] && p["name"].Scalar() == port_name) p["nodePort"] = np;
    }
  }
  std::string lb = str(mp + lb_key);
  if (!lb.empty() && type == "LoadBalancer") svc["spec"]["loadBalancerIP"] = yaml::str(lb);
}

void Ctx::data_volume(YAML::Node sts, const std::string& vol, const std::string& fm, Path mp,
                      const std::string& sc_default, const std::string& existing_default) {
  YAML::Node pod = sts["spec"]["template"]["spec"];
  std::string existing = str(mp + "existingClaim");
  if (!persistence || !existing.empty()) {
    YAML::Node v(YAML::NodeType::Map);
    v["name"] = vol;
    if (!persistence) {
      v["emptyDir"] = YAML::Node(YAML::NodeType::Map);
    } else {
      v["persistentVolumeClaim"]["claimName"] = existing.empty() ? existing_default : existing;
    }
    pod["volumes"].push_back(v);
    return;
  }
  YAML::Node t(YAML::NodeType::Map);
  t["metadata"]["name"] = vol;
  t["metadata"]["labels"] = labels(fm);
  YAML::Node modes(YAML::NodeType::Sequence);
  modes.push_back(str(mp + "accessMode", "ReadWriteOnce"));
  t["spec"]["accessModes"] = modes;
  std::string sc = str(mp + "storageClass", sc_default);
  if (sc == "-") t["spec"]["storageClassName"] = yaml::str("");
  else if (!sc.empty()) t["spec"]["storageClassName"] = yaml::str(sc);
  t["spec"]["resources"]["requests"]["storage"] = yaml::str(str(mp + "size", "1Gi"));
  sts["spec"]["volumeClaimTemplates"].push_back(t);
}

void Ctx::set_data(YAML::Node cm, const std::string& key, const std::string& value) {
  if (!cm["data"] || !cm["data"].IsMap()) cm["data"] = YAML::Node(YAML::NodeType::Map);
  cm["data"][key] = yaml::str(value);
}

std::string Ctx::image(const std::string& name, const std::string& t) const {
  return registry + "/" + name + ":" + (t.empty() ? tag : t);
}

std::string Ctx::image_for(Path module_path, const std::string& v1_image, const std::string& v2_name,
                           const std::string& v2_suffix, const std::string& v2_tag) const {
  if (!v20) return v1_image;
  std::string name = str(module_path + "image", v2_name);
  std::string t = str(module_path + "imageTag", v2_tag.empty() ? tag : v2_tag);
  return prefix + name + v2_suffix + ":" + t;
}

std::string Ctx::third_party_image(const std::string& name_tag) const {
  return third_party ? registry + "/" + name_tag : name_tag;
}

std::string Ctx::suffix(bool spark) const {
  std::string s;
  if (spark && (computing == "Spark" || computing == "Spark_local")) s += "-spark";
  if (algorithm == "NN") s += "-nn";
  if (algorithm == "ALL") s += "-all";
  if (device == "IPCL") s += "-ipcl";
  if (device == "GPU") s += "-gpu";
  return s;
}

void set_env(YAML::Node ctr, const std::string& name, const std::string& value) {
  for (auto e : ctr["env"])
    if (e["name"].Scalar() == name) {
      e["value"] = yaml::str(value);
      return;
    }
  YAML::Node e(YAML::NodeType::Map);
  e["name"] = name;
  e["value"] = yaml::str(value);
  ctr["env"].push_back(e);
}

void remove_named(YAML::Node seq, const std::string& key, const std::string& value) {
  YAML::Node keep(YAML::NodeType::Sequence);
  for (auto e : seq)
    if (!(e[key] && e[key].Scalar() == value)) keep.push_back(e);
  seq = keep;
}

YAML::Node container(YAML::Node w, const std::string& name) {
  for (const char* k : {"containers", "initContainers"})
    for (auto c : w["spec"]["template"]["spec"][k])
      if (c["name"].Scalar() == name) return c;
  throw Error(ErrorKind::Failed, fmt::format("internal: no container {}", name));
}

std::string set_property(std::string text, const std::string& key, const std::string& value,
                         const std::string& after) {
  std::string line = key + "=" + value;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (text.compare(pos, key.size() + 1, key + "=") == 0) {
      text.replace(pos, end - pos, line);
      return text;
    }
    pos = end + 1;
  }
  if (!after.empty()) {
    size_t at = text.find("\n" + after + "\n");
    if (at != std::string::npos) {
      size_t ins = at + after.size() + 2;
      text.insert(ins, line + "\n");
      return text;
    }
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text + line + "\n";
}

void render_ingress(Ctx& c, const std::string& ui, const std::string& module, const std::string& service,
                    int port) {
  if (c.istio) return;
  YAML::Node ing = c.base("common/ingress.yaml", "Ingress", "ui");
  ing["metadata"]["name"] = ui;
  YAML::Node ann = c.at({"ingress", ui, "annotations"});
  if (!Ctx::empty(ann)) {
    YAML::Node a(YAML::NodeType::Map);
    for (auto kv : ann) a[kv.first.Scalar()] = yaml::str(kv.second.IsScalar() ? kv.second.Scalar() : yaml::to_json(kv.second, false));
    ing["metadata"]["annotations"] = a;
  }
  ing["spec"]["ingressClassName"] = c.str({"ingressClassName"}, "nginx");
  YAML::Node hosts = c.at({"ingress", ui, "hosts"});
  YAML::Node rules(YAML::NodeType::Sequence);
  if (Ctx::empty(hosts)) {
    // the chart's values.yaml default: <ui>.example.com (v1.6: <ui>.kubefate.net), notebook.* for the client
    YAML::Node h(YAML::NodeType::Map);
    h["name"] = (ui == "client" ? std::string("notebook") : ui) + (c.v16 ? ".kubefate.net" : ".example.com");
    hosts.reset(YAML::Node(YAML::NodeType::Sequence));
    hosts.push_back(h);
  }
  for (const auto& h : hosts) {
    YAML::Node r(YAML::NodeType::Map);
    if (h["name"] && !h["name"].IsNull()) r["host"] = yaml::str(h["name"].Scalar());
    YAML::Node p(YAML::NodeType::Map);
    p["path"] = (h["path"] && !h["path"].IsNull() && !h["path"].Scalar().empty()) ? h["path"].Scalar() : std::string("/");
    p["pathType"] = "Prefix";
    p["backend"]["service"]["name"] = service;
    p["backend"]["service"]["port"]["number"] = port;
    r["http"]["paths"].push_back(p);
    rules.push_back(r);
  }
  ing["spec"]["rules"] = rules;
  YAML::Node tls = c.at({"ingress", ui, "tls"});
  if (!Ctx::empty(tls)) ing["spec"]["tls"] = yaml::clone(tls);
  c.add(module, ing, ui == "spark" ? "spark" : ui);
}

void mount_eggroll_tls(YAML::Node dep, YAML::Node ctr, const std::string& anchor) {
  std::string cmd = ctr["command"][2].Scalar();
  size_t p = cmd.find(anchor);
  if (p != std::string::npos)
    cmd.insert(p + anchor.size(),
               "cat /data/projects/fate/eggroll/conf/cert_configs >> /data/projects/fate/eggroll/conf/eggroll.properties\n");
  ctr["command"][2] = cmd;
  YAML::Node m1(YAML::NodeType::Map);
  m1["mountPath"] = "/data/projects/fate/eggroll/conf/cert_configs";
  m1["name"] = "eggroll-confs";
  m1["subPath"] = "cert_configs";
  ctr["volumeMounts"].push_back(m1);
  YAML::Node m2(YAML::NodeType::Map);
  m2["mountPath"] = "/data/projects/fate/eggroll/conf/cert/";
  m2["name"] = "eggroll-certs";
  ctr["volumeMounts"].push_back(m2);
  YAML::Node v(YAML::NodeType::Map);
  v["name"] = "eggroll-certs";
  v["secret"]["secretName"] = "eggroll-certs";
  dep["spec"]["template"]["spec"]["volumes"].push_back(v);
}

}  // namespace fatectl::render::detail
