// The plan as a document (-o yaml|json) and as text (the default table output).
#include <algorithm>

#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/plan/plan.h"

namespace fatectl::plan {
namespace {

YAML::Node list_node(const ResourceList& l) {
  YAML::Node n(YAML::NodeType::Map);
  for (const auto& [r, v] : l) n[r] = yaml::str(format_resource(r, v));
  return n;
}

std::string cell(const ResourceList& l, const std::string& r) {
  return l.count(r) ? format_resource(r, l.at(r)) : "-";
}

YAML::Node finding_node(const Finding& f) {
  YAML::Node n(YAML::NodeType::Map);
  n["rule"] = yaml::str(f.rule);
  n["level"] = f.level == Level::Advice ? "advice" : "note";
  n["file"] = yaml::str(f.diag.where.file);
  n["line"] = f.diag.where.line;
  n["column"] = f.diag.where.column;
  n["key"] = yaml::str(f.diag.key_path);
  n["message"] = yaml::str(f.diag.message);
  n["source"] = yaml::str(f.source);
  return n;
}

YAML::Node totals_node(const Totals& t) {
  YAML::Node n(YAML::NodeType::Map);
  if (!t.module.empty()) n["module"] = yaml::str(t.module);
  n["pods"] = t.pods;
  n["requests"] = list_node(t.requests);
  n["limits"] = list_node(t.limits);
  n["storage"] = yaml::str(format_bytes(t.storage));
  n["podsWithoutCpuRequest"] = t.pods_without_cpu_request;
  n["podsWithoutMemoryRequest"] = t.pods_without_memory_request;
  return n;
}

std::string usage(const NodeState& n, const std::string& r) {
  return format_resource(r, amount(n.requested, r)) + "+" + format_resource(r, amount(n.party, r)) + "/" +
         format_resource(r, amount(n.allocatable, r));
}

}  // namespace

YAML::Node to_node(const Plan& p) {
  YAML::Node n(YAML::NodeType::Map);
  n["file"] = yaml::str(p.file);
  n["name"] = yaml::str(p.name);
  n["namespace"] = yaml::str(p.namespace_);
  n["chart"] = yaml::str(p.chart);
  n["mode"] = p.offline ? "offline" : "cluster";
  if (!p.data_size.empty()) n["dataSize"] = yaml::str(p.data_size);
  n["workloads"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& s : p.workloads.sets) {
    YAML::Node w(YAML::NodeType::Map);
    w["module"] = yaml::str(s.module);
    w["component"] = yaml::str(s.component);
    w["kind"] = s.kind;
    w["name"] = yaml::str(s.name);
    w["replicas"] = s.replicas;
    w["specKey"] = yaml::str(s.spec_path);
    w["podRequests"] = list_node(s.pod_requests());
    w["podLimits"] = list_node(s.pod_limits());
    for (size_t vi : s.volumes) {
      const Volume& v = p.workloads.volumes[vi];
      YAML::Node vn(YAML::NodeType::Map);
      vn["claim"] = yaml::str(v.template_name.empty() ? v.claim : v.template_name + "-" + s.name + "-<ordinal>");
      vn["size"] = yaml::str(v.size_text);
      if (v.class_set) vn["storageClass"] = yaml::str(v.storage_class);
      w["volumes"].push_back(vn);
    }
    n["workloads"].push_back(w);
  }
  n["modules"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& t : p.totals)
    if (!t.module.empty()) n["modules"].push_back(totals_node(t));
  n["total"] = totals_node(p.totals.back());
  n["findings"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& f : p.findings) n["findings"].push_back(finding_node(f));
  n["notes"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& x : p.notes) n["notes"].push_back(yaml::str(x));
  if (!p.offline) {
    YAML::Node c(YAML::NodeType::Map);
    c["checked"] = p.cluster.checked;
    c["problems"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& x : p.cluster.problems) c["problems"].push_back(yaml::str(x));
    c["storageClasses"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& x : p.cluster.classes) c["storageClasses"].push_back(yaml::str(x));
    c["nodes"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& nd : p.cluster.nodes) {
      YAML::Node x(YAML::NodeType::Map);
      x["name"] = yaml::str(nd.name);
      x["allocatable"] = list_node(nd.allocatable);
      x["requestedBefore"] = list_node(nd.requested);
      x["podsBefore"] = nd.pods;
      x["party"] = list_node(nd.party);
      ResourceList free;
      for (const auto& [r, v] : nd.allocatable) free[r] = std::max<int64_t>(0, v - amount(nd.requested, r) - amount(nd.party, r));
      free["pods"] = std::max<int64_t>(0, amount(nd.allocatable, "pods") - nd.pods - static_cast<int64_t>(nd.party_pods.size()));
      x["freeAfter"] = list_node(free);
      x["partyPods"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& pod : nd.party_pods) x["partyPods"].push_back(yaml::str(pod));
      c["nodes"].push_back(x);
    }
    c["pods"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& pl : p.cluster.placements) {
      YAML::Node x(YAML::NodeType::Map);
      x["pod"] = yaml::str(pl.pod);
      x["component"] = yaml::str(pl.set ? pl.set->component : "");
      if (pl.node.empty()) {
        x["pending"] = true;
        x["reason"] = yaml::str(pl.reason);
      } else {
        x["node"] = yaml::str(pl.node);
      }
      c["pods"].push_back(x);
    }
    c["storage"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& s : p.cluster.storage) {
      YAML::Node x(YAML::NodeType::Map);
      x["claim"] = yaml::str(s.claim);
      x["component"] = yaml::str(s.component);
      x["message"] = yaml::str(s.message);
      c["storage"].push_back(x);
    }
    c["refused"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& r : p.cluster.refusals) {
      YAML::Node x(YAML::NodeType::Map);
      x["object"] = yaml::str(r.object);
      x["message"] = yaml::str(r.message);
      c["refused"].push_back(x);
    }
    n["cluster"] = c;
    n["fits"] = p.fits();
  }
  return n;
}

std::string to_text(const Plan& p) {
  std::string out = "plan for " + p.name + " (namespace " + p.namespace_ + ", chart " + p.chart + ")" +
                    (p.offline ? ", offline" : "") + (p.data_size.empty() ? "" : ", data set " + p.data_size) + "\n\n";
  output::Table t;
  t.headers = {"module", "pods", "cpu req", "cpu lim", "memory req", "memory lim", "storage"};
  for (const auto& x : p.totals)
    t.rows.push_back({x.module.empty() ? "TOTAL" : x.module, std::to_string(x.pods), cell(x.requests, "cpu"),
                      cell(x.limits, "cpu"), cell(x.requests, "memory"), cell(x.limits, "memory"),
                      x.storage ? format_bytes(x.storage) : "-"});
  out += t.render();
  const Totals& all = p.totals.back();
  if (all.pods_without_cpu_request || all.pods_without_memory_request)
    out += std::to_string(all.pods_without_cpu_request) + " of " + std::to_string(all.pods) + " pods request no CPU and " +
           std::to_string(all.pods_without_memory_request) +
           " no memory: the scheduler reserves nothing for them (QoS BestEffort unless a limit is set)\n";
  std::vector<const Finding*> advice, notes;
  for (const auto& f : p.findings) (f.level == Level::Advice ? advice : notes).push_back(&f);
  if (!advice.empty()) {
    out += "\nadvice (the reference architecture's sizing and failure rules; --strict fails on these):\n";
    for (const auto* f : advice) out += f->str() + "\n";
  }
  if (!notes.empty() || !p.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto* f : notes) out += f->str() + "\n";
    for (const auto& x : p.notes) out += "- " + x + "\n";
  }
  if (p.offline) return out;
  const ClusterPlan& c = p.cluster;
  out += "\ncluster: " + std::to_string(c.nodes.size()) + " node(s); StorageClasses: ";
  std::string classes;
  for (const auto& x : c.classes) classes += (classes.empty() ? "" : ", ") + x;
  out += (classes.empty() ? "none" : classes) + "\n";
  for (const auto& pr : c.problems) out += "not checked: " + pr + "\n";
  if (c.checked) {
    output::Table nt;
    nt.headers = {"node", "cpu others+party/allocatable", "memory others+party/allocatable", "pods", "party pods"};
    for (const auto& n : c.nodes) {
      std::string pods = std::to_string(n.pods) + "+" + std::to_string(n.party_pods.size()) + "/" +
                         std::to_string(amount(n.allocatable, "pods"));
      std::string names;
      for (const auto& x : n.party_pods) names += (names.empty() ? "" : ", ") + x;
      std::string state = n.unschedulable ? " (cordoned)" : !n.ready ? " (not ready)" : "";
      nt.rows.push_back({n.name + state, usage(n, "cpu"), usage(n, "memory"), pods, names.empty() ? "-" : names});
    }
    out += "\n" + nt.render();
  }
  auto pending = c.pending();
  if (!pending.empty()) {
    out += "\npending (" + std::to_string(pending.size()) + " pod(s) cannot be placed):\n";
    for (const auto* pl : pending) out += "  " + pl->pod + ": " + pl->reason + "\n";
  }
  if (!c.storage.empty()) {
    out += "\nstorage:\n";
    for (const auto& s : c.storage) out += "  " + s.message + "\n";
  }
  if (!c.refusals.empty()) {
    out += "\nrefused by the namespace's admission:\n";
    for (const auto& r : c.refusals) out += "  " + r.message + "\n";
  }
  if (p.fits())
    out += std::string("\nresult: ") +
           (c.checked ? "the party fits: all " + std::to_string(c.placements.size()) + " pods can be placed\n"
                      : "placement not checked (see above)\n");
  else
    out += "\nresult: the party does not fit; `cluster install` stops before applying anything (--skip-plan to go ahead)\n";
  return out;
}

}  // namespace fatectl::plan
