#include "fatectl/ops/events.h"

#include <algorithm>
#include <map>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::ops {
namespace {

using kube::F;

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

/// Module of an Event's object: the inventory item itself, or the workload whose pods,
/// ReplicaSets or claim volumes carry its name.
std::string module_of(const std::string& kind, const std::string& name, const release::Record& rec) {
  for (const auto& it : rec.inventory)
    if (it.ref.kind == kind && it.ref.name == name) return it.module.empty() ? "shared" : it.module;
  size_t best = 0;
  std::string mod;
  for (const auto& it : rec.inventory) {
    const std::string& w = it.ref.kind;
    if (w != "Deployment" && w != "StatefulSet" && w != "DaemonSet" && w != "Job") continue;
    const std::string& wn = it.ref.name;
    bool match = false;
    if ((kind == "Pod" || kind == "ReplicaSet") && name.size() > wn.size() + 1 && name.compare(0, wn.size() + 1, wn + "-") == 0) {
      std::string rest = name.substr(wn.size() + 1);
      // StatefulSet pods: NAME-0; Deployment pods: NAME-HASH-XXXXX; ReplicaSets: NAME-HASH
      size_t dashes = static_cast<size_t>(std::count(rest.begin(), rest.end(), '-'));
      match = w == "StatefulSet" ? all_digits(rest) : dashes <= 1;
    } else if (kind == "PersistentVolumeClaim" && w == "StatefulSet") {
      size_t p = name.rfind("-" + wn + "-");
      match = p != std::string::npos && all_digits(name.substr(p + wn.size() + 2));
    }
    if (match && wn.size() > best) {
      best = wn.size();
      mod = it.module.empty() ? "shared" : it.module;
    }
  }
  return mod;
}

std::string one_line(std::string s) {
  for (auto& ch : s)
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

std::string age_of(const std::string& t) {
  if (t.empty()) return "?";
  std::chrono::system_clock::time_point tp;
  try {
    tp = kube::parse_rfc3339(t);
  } catch (const Error&) {
    return "?";
  }
  long s = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - tp).count());
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::vector<ModuleEvent> recent_events(kube::Client& c, const release::Record& rec, size_t per_module) {
  std::vector<ModuleEvent> all;
  std::vector<YAML::Node> events;
  try {
    events = kube::list(c, "v1", "Event", rec.namespace_);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Unreachable) throw;
    log::warn("cannot read the Events of namespace {}: {}", rec.namespace_, e.what());
    return all;
  }
  for (const auto& ev : events) {
    F e(ev);
    std::string kind = e["involvedObject"]["kind"].str(), name = e["involvedObject"]["name"].str();
    std::string mod = module_of(kind, name, rec);
    if (mod.empty()) continue;
    ModuleEvent m;
    m.module = mod;
    m.type = e["type"].str();
    m.reason = e["reason"].str();
    m.object = kind + "/" + name;
    m.message = one_line(e["message"].str());
    m.last = e["lastTimestamp"].str();
    if (m.last.empty()) m.last = e["eventTime"].str();
    if (m.last.empty()) m.last = e["metadata"]["creationTimestamp"].str();
    m.count = e["count"].num(1);
    if (m.count < 1) m.count = 1;
    all.push_back(std::move(m));
  }
  // module order as in the inventory, newest first within a module
  std::map<std::string, size_t> order;
  for (const auto& it : rec.inventory) order.emplace(it.module.empty() ? "shared" : it.module, order.size());
  std::stable_sort(all.begin(), all.end(), [&](const ModuleEvent& a, const ModuleEvent& b) {
    size_t oa = order.count(a.module) ? order[a.module] : order.size();
    size_t ob = order.count(b.module) ? order[b.module] : order.size();
    if (oa != ob) return oa < ob;
    if ((a.type == "Warning") != (b.type == "Warning")) return a.type == "Warning";  // what is wrong first
    return a.last > b.last;  // RFC 3339 in UTC sorts as text
  });
  std::vector<ModuleEvent> out;
  std::map<std::string, size_t> taken;
  for (auto& m : all)
    if (taken[m.module]++ < per_module) out.push_back(std::move(m));
  return out;
}

}  // namespace fatectl::ops
