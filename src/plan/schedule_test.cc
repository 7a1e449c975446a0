// Placement as kube-scheduler's default profile filters and scores, with its messages.
#include <doctest/doctest.h>

#include "fatectl/core/yaml.h"
#include "fatectl/plan/rules.h"
#include "fatectl/plan/schedule.h"

using namespace fatectl;
using namespace fatectl::plan;

namespace {

NodeState node(const std::string& name, const std::string& cpu, const std::string& mem, int max_pods = 110) {
  NodeState n;
  n.name = name;
  n.labels = {{"kubernetes.io/hostname", name}};
  n.allocatable = {{"cpu", *parse_milli(cpu)}, {"memory", *parse_units(mem)}, {"pods", max_pods}};
  return n;
}

PodSet set(const std::string& component, int replicas, const std::string& pod_yaml = "{}") {
  PodSet s;
  s.component = component;
  s.name = component;
  s.kind = "Deployment";
  s.replicas = replicas;
  s.pod = YAML::Load(pod_yaml);
  s.labels = YAML::Load("{fateMoudle: " + component + "}");
  return s;
}

std::vector<PodRequest> pods_of(const PodSet& s, const std::string& cpu, const std::string& mem) {
  std::vector<PodRequest> out;
  for (int i = 0; i < s.replicas; ++i) {
    PodRequest r;
    r.set = &s;
    r.index = i;
    r.name = s.pod_name(i);
    r.requests = {{"cpu", *parse_milli(cpu)}, {"memory", *parse_units(mem)}};
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("pods go to the least allocated node and a workload spreads") {
  std::vector<NodeState> nodes = {node("a", "16", "64Gi"), node("b", "16", "64Gi")};
  nodes[0].requested = {{"cpu", 4000}, {"memory", 8LL << 30}};
  nodes[0].nonzero = nodes[0].requested;
  PodSet w = set("spark-worker", 2);
  auto p = place(nodes, pods_of(w, "8", "16Gi"));
  REQUIRE(p.size() == 2);
  CHECK(p[0].node == "b");  // a already has 4 CPU requested
  CHECK(p[1].node == "a");  // spread: b already runs one
  CHECK(nodes[1].party.at("cpu") == 8000);
  CHECK(nodes[0].party_pods == std::vector<std::string>{"spark-worker[2/2]"});
}

TEST_CASE("pods without requests spread too: scoring counts them as 100m CPU and 200Mi") {
  std::vector<NodeState> nodes = {node("a", "16", "64Gi"), node("b", "16", "64Gi")};
  PodSet x = set("mysql", 1), y = set("client", 1), z = set("fateboard", 1);
  std::vector<PodRequest> reqs;
  for (const PodSet* s : {&x, &y, &z}) {
    PodRequest r;
    r.set = s;
    r.name = s->name;
    reqs.push_back(r);
  }
  auto p = place(nodes, reqs);
  CHECK(p[0].node == "a");
  CHECK(p[1].node == "b");
  CHECK(p[2].node == "a");
  CHECK(nodes[0].party.empty());  // what they request is still nothing
  CHECK(nonzero_requests({{"cpu", 500}}) == ResourceList{{"cpu", 500}, {"memory", 200LL << 20}});
}

TEST_CASE("insufficient resources: the scheduler's message, counted per reason and sorted") {
  std::vector<NodeState> nodes = {node("a", "4", "64Gi"), node("b", "16", "8Gi"), node("c", "2", "4Gi")};
  PodSet w = set("python", 1);
  auto p = place(nodes, pods_of(w, "8", "16Gi"));
  REQUIRE(p.size() == 1);
  CHECK(p[0].node.empty());
  CHECK(p[0].reason == "0/3 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.");
}

TEST_CASE("the last pod that does not fit stays Pending; earlier ones keep their nodes") {
  std::vector<NodeState> nodes = {node("a", "10", "64Gi")};
  PodSet w = set("nodemanager", 3);
  auto p = place(nodes, pods_of(w, "4", "4Gi"));
  CHECK(p[0].node == "a");
  CHECK(p[1].node == "a");
  CHECK(p[2].reason == "0/1 nodes are available: 1 Insufficient cpu.");
}

TEST_CASE("too many pods") {
  std::vector<NodeState> nodes = {node("a", "16", "64Gi", 3)};
  nodes[0].pods = 3;
  PodSet w = set("mysql", 1);
  auto p = place(nodes, pods_of(w, "1", "1Gi"));
  CHECK(p[0].reason == "0/1 nodes are available: 1 Too many pods.");
}

TEST_CASE("taints and tolerations, cordoned and not-ready nodes") {
  std::vector<NodeState> nodes = {node("cp", "16", "64Gi"), node("gpu", "16", "64Gi"), node("off", "16", "64Gi"),
                                  node("down", "16", "64Gi")};
  nodes[0].taints = {{"node-role.kubernetes.io/control-plane", "", "NoSchedule"}};
  nodes[1].taints = {{"dedicated", "gpu", "NoSchedule"}, {"soft", "x", "PreferNoSchedule"}};
  nodes[2].unschedulable = true;
  nodes[3].ready = false;
  PodSet w = set("python", 1);
  auto p = place(nodes, pods_of(w, "1", "1Gi"));
  CHECK(p[0].reason ==
        "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "1 node(s) were unschedulable.");
  PodSet tol = set("python", 1, "{tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]}");
  auto q = place(nodes, pods_of(tol, "1", "1Gi"));
  CHECK(q[0].node == "gpu");
  PodSet all = set("python", 1, "{tolerations: [{operator: Exists}]}");
  CHECK(misfit(nodes[0], pods_of(all, "1", "1Gi")[0]).empty());
  CHECK(misfit(nodes[2], pods_of(all, "1", "1Gi")[0]).empty());  // tolerates unschedulable too
  PodSet wrong = set("python", 1, "{tolerations: [{key: dedicated, operator: Equal, value: cpu}]}");
  CHECK(misfit(nodes[1], pods_of(wrong, "1", "1Gi")[0]) ==
        std::vector<std::string>{"node(s) had untolerated taint {dedicated: gpu}"});
}

TEST_CASE("nodeSelector and required node affinity") {
  std::vector<NodeState> nodes = {node("a", "16", "64Gi"), node("b", "16", "64Gi")};
  nodes[1].labels["fate"] = "worker";
  nodes[1].labels["cores"] = "32";
  PodSet sel = set("spark-worker", 1, "{nodeSelector: {fate: worker}}");
  CHECK(place(nodes, pods_of(sel, "1", "1Gi"))[0].node == "b");
  PodSet none = set("spark-worker", 1, "{nodeSelector: {fate: gpu}}");
  CHECK(place(nodes, pods_of(none, "1", "1Gi"))[0].reason ==
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
  PodSet aff = set("x", 1,
                   "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
                   "[{matchExpressions: [{key: cores, operator: Gt, values: ['16']}]}]}}}}");
  CHECK(place(nodes, pods_of(aff, "1", "1Gi"))[0].node == "b");
  PodSet notin = set("x", 1,
                     "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
                     "[{matchExpressions: [{key: fate, operator: NotIn, values: [worker]}]}]}}}}");
  CHECK(place(nodes, pods_of(notin, "1", "1Gi"))[0].node == "a");
}

TEST_CASE("required pod anti-affinity keeps a workload's pods apart") {
  std::vector<NodeState> nodes = {node("a", "64", "256Gi")};
  PodSet w = set("spark-worker", 2,
                 "{affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: "
                 "kubernetes.io/hostname, labelSelector: {matchLabels: {fateMoudle: spark-worker}}}]}}}");
  CHECK(has_self_anti_affinity(w));
  CHECK(!has_self_anti_affinity(set("spark-worker", 2)));
  auto p = place(nodes, pods_of(w, "1", "1Gi"));
  CHECK(p[0].node == "a");
  CHECK(p[1].reason == "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.");
}

TEST_CASE("a pod with an unbound claim is not placed at all; no nodes at all") {
  std::vector<NodeState> nodes = {node("a", "16", "64Gi")};
  PodSet w = set("python", 1);
  auto reqs = pods_of(w, "1", "1Gi");
  reqs[0].blocked = "pod has unbound immediate PersistentVolumeClaims";
  CHECK(place(nodes, reqs)[0].reason == "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.");
  std::vector<NodeState> empty;
  CHECK(place(empty, pods_of(w, "1", "1Gi"))[0].reason == "no nodes available to schedule pods");
}

TEST_CASE("label selectors") {
  Labels l = {{"app", "x"}, {"tier", "db"}};
  CHECK(selector_matches(YAML::Load("{}"), l));
  CHECK(!selector_matches(YAML::Node(), l));
  CHECK(selector_matches(YAML::Load("{matchLabels: {app: x}}"), l));
  CHECK(!selector_matches(YAML::Load("{matchLabels: {app: y}}"), l));
  CHECK(selector_matches(YAML::Load("{matchExpressions: [{key: tier, operator: In, values: [db, web]}]}"), l));
  CHECK(!selector_matches(YAML::Load("{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}"), l));
  CHECK(selector_matches(YAML::Load("{matchExpressions: [{key: zone, operator: DoesNotExist}]}"), l));
  CHECK(!selector_matches(YAML::Load("{matchExpressions: [{key: zone, operator: Exists}]}"), l));
  CHECK(!selector_matches(YAML::Load("{matchExpressions: [{key: zone, operator: Bogus}]}"), l));
}
