// Chart fate v1.6, Eggroll: ConfigMap eggroll-config (rendered for every spec), rollsite
// (Deployment, Service, ConfigMap rollsite-config), clustermanager (Deployment, headless Service)
// and one Deployment, headless Service, ConfigMap and PVC per node manager `nodemanager-<i>`,
// each with a fluentd sidecar.
#include <fmt/format.h>

#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

std::vector<NodeManager16> nodemanagers16(const Ctx& c) {
  std::vector<NodeManager16> out;
  long count = c.num({"nodemanager", "count"}, 0);
  // without a count the chart's values.yaml list applies: two node managers, 2 processors each
  bool defaults = count <= 0;
  if (defaults) count = 2;
  for (long i = 0; i < count; ++i) {
    NodeManager16 nm;
    nm.name = fmt::format("nodemanager-{}", i);
    nm.processors = defaults ? "2" : c.str({"nodemanager", "sessionProcessorsPerNode"});
    nm.storage.claim = nm.name + "-data";
    nm.storage.storage_class = defaults ? nm.name : c.str({"nodemanager", "storageClass"});
    if (!defaults) {
      nm.storage.access_mode = c.str({"nodemanager", "accessMode"}, "ReadWriteOnce");
      nm.storage.size = c.str({"nodemanager", "size"}, "1Gi");
    }
    out.push_back(nm);
  }
  return out;
}

namespace {

void rollsite16(Ctx& c, const std::string& f) {
  YAML::Node cm = c.base(f, "ConfigMap", "rollsite-config");
  Ctx::set_data(cm, "route_table.json", rollsite_route_table_json(c, false));
  c.add("rollsite", cm, "rollsite");

  YAML::Node svc = c.base(f, "Service", "rollsite");
  c.service(svc, c.str({"rollsite", "type"}, "ClusterIP"), {{"tcp-rollsite", "nodePort"}}, {"rollsite"});
  svc["spec"]["selector"] = c.match_labels("rollsite");
  c.add("rollsite", svc, "rollsite");

  YAML::Node dep = c.base(f, "Deployment", "rollsite");
  c.workload(dep, "rollsite", {"rollsite"});
  container(dep, "rollsite")["image"] = c.image("eggroll");
  c.add("rollsite", dep, "rollsite");
}

void clustermanager16(Ctx& c, const std::string& f) {
  YAML::Node svc = c.base(f, "Service", "clustermanager");
  svc["spec"]["selector"] = c.match_labels("clustermanager");
  c.add("clustermanager", svc, "clustermanager");
  YAML::Node dep = c.base(f, "Deployment", "clustermanager");
  c.workload(dep, "clustermanager", {"clustermanager"});
  container(dep, "clustermanager")["image"] = c.image("eggroll");
  c.add("clustermanager", dep, "clustermanager");
}

// nodemanager-<i>: ConfigMap, headless Service, Deployment (fluentd sidecar + node manager), PVC
void nodemanager16(Ctx& c, const std::string& f, const NodeManager16& nm) {
  YAML::Node cm = c.base(f, "ConfigMap", "nodemanager-config");
  cm["metadata"]["name"] = nm.name + "-config";
  Ctx::set_data(cm, "eggroll.properties", eggroll_properties_v16(c, nm.processors, false));
  Ctx::set_data(cm, "fluent.conf", c.text(c.manifests + "/nodemanager-fluent.conf"));
  c.add("nodemanager", cm, nm.name);

  YAML::Node svc = c.base(f, "Service", "nodemanager");
  svc["metadata"]["name"] = nm.name;
  svc["spec"]["selector"] = c.match_labels(nm.name);
  c.add("nodemanager", svc, nm.name);

  YAML::Node dep = c.base(f, "Deployment", "nodemanager");
  dep["metadata"]["name"] = nm.name;
  dep["metadata"]["labels"]["app"] = "nodemanager";
  c.workload(dep, nm.name, {"nodemanager"});
  dep["spec"]["template"]["metadata"]["labels"]["app"] = "nodemanager";
  YAML::Node log = container(dep, "nodemanager-eggrollpair");
  // the chart's registry form for this sidecar is <registry>/fluentd:v1.12
  log["image"] = c.third_party ? c.registry + "/fluentd:v1.12" : std::string("fluent/fluentd:v1.12");
  log["name"] = nm.name + "-eggrollpair";
  YAML::Node ctr = container(dep, "nodemanager");
  ctr["image"] = c.image("eggroll");
  ctr["name"] = nm.name;
  for (auto m : ctr["volumeMounts"])
    if (m["name"].Scalar() == "data-dir") m["subPath"] = yaml::str(nm.name);
  for (auto v : dep["spec"]["template"]["spec"]["volumes"])
    if (v["configMap"] && v["configMap"]["name"].Scalar() == "nodemanager-config") v["configMap"]["name"] = nm.name + "-config";
  claim_volume16(c, dep, "data-dir", "nodemanager", nm.name, nm.storage);
  c.add("nodemanager", dep, nm.name);
}

}  // namespace

void render_eggroll16(Ctx& c) {
  const std::string f = c.manifests + "/eggroll.yaml";
  YAML::Node cm = c.base(f, "ConfigMap", "eggroll-config");
  // the chart fixes 4 processors here; node managers take sessionProcessorsPerNode
  Ctx::set_data(cm, "eggroll.properties", eggroll_properties_v16(c, "4", true));
  c.add(c.has_module("clustermanager") ? "clustermanager" : "python", cm, "eggroll");
  if (c.has_module("rollsite")) rollsite16(c, f);
  if (c.has_module("clustermanager")) clustermanager16(c, f);
  if (c.has_module("nodemanager"))
    for (const auto& nm : nodemanagers16(c)) nodemanager16(c, f, nm);
}

}  // namespace fatectl::render::detail
