#include "fatectl/ops/route_live.h"

#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/kubeconfig.h"
#include "pod_probe.h"

namespace fatectl::ops {
namespace {

using detail::PodProbe;
using detail::rstrip;

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : ""; }

// "host:http:grpc, ..." of a list of {host, http_port, grpc_port} or {ip, port}.
std::string endpoints(const YAML::Node& list, bool nginx) {
  std::string out;
  if (!list || !list.IsSequence()) return scalar(list);
  for (const auto& e : list) {
    std::string one = nginx ? scalar(e["host"]) + ":" + scalar(e["http_port"]) + ":" + scalar(e["grpc_port"])
                            : scalar(e["ip"]) + ":" + scalar(e["port"]);
    out += (out.empty() ? "" : ", ") + one;
  }
  return out;
}

std::string when(long epoch) {
  if (epoch <= 0) return "?";
  return kube::format_rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(epoch)));
}

struct Where {
  const char* component;
  const char* configmap;
  const char* key;
  const char* path;
};
const Where kFiles[] = {{"traffic-server", "traffic-server-sni", "sni.yaml", kSniMountPath},
                        {"nginx", "nginx-config", "route_table.yaml", kNginxRoutePath},
                        {"rollsite", "rollsite-config", "route_table.json", kRollsiteRoutePath}};

std::vector<std::string> compare_texts(const std::string& component, const std::string& recorded,
                                       const std::string& actual) {
  if (rstrip(recorded) == rstrip(actual)) return {};
  try {
    auto d = route_entry_differences(route_file_entries(component, recorded), route_file_entries(component, actual));
    if (d.empty()) d.push_back("same routes, written differently");
    return d;
  } catch (const Error& e) {
    return {std::string("cannot parse: ") + e.what()};
  }
}

void traffic_server_state(PodProbe& p, const RouteConfigMaps& rec, PodDrift& d) {
  long file_time = p.mtime(kSniMountPath);
  long loaded = p.loaded_at();
  if (loaded < 0) d.state.push_back("Traffic Server does not answer traffic_ctl (is it running?)");
  if (file_time > 0 && loaded > 0 && file_time > loaded)
    d.state.push_back("not reloaded since sni.yaml changed (file written " + when(file_time) + ", last load " +
                            when(loaded) + ")");
  std::string last = p.last_sni_load();
  if (detail::sni_load_failed(last)) d.state.push_back("last load of sni.yaml failed: " + last);
  std::string want = detail::records_connect_ports(rec.data("traffic-server-config", "records.config"));
  if (want.empty()) return;
  std::string mounted, err;
  if (p.read_file(kRecordsMountPath, mounted, err) &&
      rstrip(mounted) != rstrip(rec.data("traffic-server-config", "records.config")))
    d.state.push_back("records.config is not the recorded one (connect_ports '" +
                            detail::records_connect_ports(mounted) + "', recorded '" + want + "'): restart the pod");
  std::string running = p.connect_ports();
  if (!running.empty() && running != want)
    d.state.push_back("Traffic Server runs connect_ports '" + running + "' (recorded: '" + want + "')");
}

}  // namespace

std::map<std::string, std::string> route_file_entries(const std::string& component, const std::string& text) {
  std::map<std::string, std::string> out;
  YAML::Node doc = yaml::parse(text, component);
  if (component == "traffic-server") {
    YAML::Node sni = doc && doc.IsMap() ? doc["sni"] : YAML::Node();
    if (sni && sni.IsSequence())
      for (const auto& e : sni) out["sni " + scalar(e["fqdn"])] = scalar(e["tunnel_route"]);
  } else if (component == "nginx") {
    if (doc && doc.IsMap())
      for (auto it = doc.begin(); it != doc.end(); ++it)
        for (const char* k : {"proxy", "fateflow"})
          if (it->second.IsMap() && it->second[k]) out["nginx " + it->first.Scalar() + " " + k] = endpoints(it->second[k], true);
  } else if (component == "rollsite") {
    YAML::Node rt = doc && doc.IsMap() ? doc["route_table"] : YAML::Node();
    if (rt && rt.IsMap())
      for (auto it = rt.begin(); it != rt.end(); ++it)
        if (it->second.IsMap())
          for (auto e = it->second.begin(); e != it->second.end(); ++e)
            out["rollsite " + it->first.Scalar() + " " + e->first.Scalar()] = endpoints(e->second, false);
  } else {
    throw invalid("route_file_entries: unknown component " + component);
  }
  return out;
}

std::string route_entry_party(const std::string& key) {
  size_t a = key.find(' ');
  if (a == std::string::npos) return key;
  size_t b = key.find(' ', a + 1);
  return key.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
}

std::vector<std::string> route_entry_differences(const std::map<std::string, std::string>& recorded,
                                                 const std::map<std::string, std::string>& actual) {
  std::vector<std::string> out;
  for (auto& [k, v] : recorded) {
    auto it = actual.find(k);
    if (it == actual.end()) out.push_back("missing " + k + " -> " + v);
    else if (it->second != v) out.push_back(k + " -> " + it->second + " (recorded: " + v + ")");
  }
  for (auto& [k, v] : actual)
    if (!recorded.count(k)) out.push_back("extra " + k + " -> " + v);
  return out;
}

bool LiveReport::in_sync() const {
  if (!configmaps.empty()) return false;
  for (auto& p : pods)
    if (!p.in_sync()) return false;
  return true;
}

LiveReport read_live_routes(ExchangeCluster& cluster, const RouteConfigMaps& recorded, const ReloadOptions& o) {
  LiveReport r;
  r.name = recorded.name;
  r.ns = recorded.ns;
  RouteConfigMaps live = read_route_configmaps(cluster, recorded.name, recorded.ns);
  for (auto& w : kFiles) {
    if (!recorded.has(w.configmap)) continue;
    if (!live.has(w.configmap)) {
      r.configmaps.push_back("ConfigMap " + std::string(w.configmap) + " does not exist");
      continue;
    }
    for (auto& d : compare_texts(w.component, recorded.data(w.configmap, w.key), live.data(w.configmap, w.key)))
      r.configmaps.push_back("ConfigMap " + std::string(w.configmap) + ": " + d);
  }
  if (recorded.has("traffic-server-config") &&
      rstrip(recorded.data("traffic-server-config", "records.config")) != rstrip(live.data("traffic-server-config", "records.config")))
    r.configmaps.push_back("ConfigMap traffic-server-config: records.config is not the recorded one");
  for (auto& w : kFiles) {
    if (!recorded.has(w.configmap)) continue;
    for (auto& info : cluster.pods(recorded.ns, "fateMoudle=" + std::string(w.component) + ",name=" + recorded.name)) {
      if (!info.running) continue;
      PodDrift d;
      d.pod = info.name;
      d.component = w.component;
      d.ready = info.ready;
      PodProbe p(cluster, recorded.ns, info.name, w.component, o);
      try {
        std::string text, err;
        if (!p.read_file(w.path, text, err)) {
          d.differences.push_back("cannot read " + std::string(w.path) + ": " + err);
        } else {
          for (auto& x : compare_texts(w.component, recorded.data(w.configmap, w.key), text)) d.differences.push_back(x);
          if (std::string(w.component) == "traffic-server") traffic_server_state(p, recorded, d);
        }
      } catch (const Error& e) {
        d.state.push_back(std::string("cannot look inside: ") + e.what());
      }
      if (!info.ready) d.state.push_back("not ready");
      r.pods.push_back(d);
    }
  }
  return r;
}

YAML::Node live_report_yaml(const LiveReport& r) {
  YAML::Node n(YAML::NodeType::Map);
  n["inSync"] = r.in_sync();
  n["configMaps"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& c : r.configmaps) n["configMaps"].push_back(yaml::str(c));
  n["pods"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& p : r.pods) {
    YAML::Node e(YAML::NodeType::Map);
    e["pod"] = yaml::str(p.pod);
    e["component"] = yaml::str(p.component);
    e["ready"] = p.ready;
    e["inSync"] = p.in_sync();
    e["differences"] = YAML::Node(YAML::NodeType::Sequence);
    for (auto& d : p.differences) e["differences"].push_back(yaml::str(d));
    e["state"] = YAML::Node(YAML::NodeType::Sequence);
    for (auto& d : p.state) e["state"].push_back(yaml::str(d));
    n["pods"].push_back(e);
  }
  return n;
}

std::vector<std::string> live_report_lines(const LiveReport& r) {
  std::vector<std::string> out;
  for (auto& c : r.configmaps) out.push_back(c);
  for (auto& p : r.pods) {
    std::string l = p.pod + " (" + p.component + "): ";
    if (p.in_sync()) {
      l += "in sync with the record";
    } else {
      std::string d;
      for (auto& x : p.differences) d += (d.empty() ? "" : "; ") + x;
      for (auto& x : p.state) d += (d.empty() ? "" : "; ") + x;
      l += d;
    }
    out.push_back(l);
  }
  if (r.pods.empty()) out.push_back("no running exchange pods");
  return out;
}

}  // namespace fatectl::ops
