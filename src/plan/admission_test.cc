// What a namespace's LimitRange and ResourceQuota do to the party's pods, in kube-apiserver's words.
#include <doctest/doctest.h>

#include "fatectl/core/yaml.h"
#include "fatectl/plan/admission.h"

using namespace fatectl;
using namespace fatectl::plan;

namespace {

Workloads one(const std::string& component, int replicas, ResourceList req, ResourceList lim) {
  Workloads w;
  PodSet s;
  s.component = component;
  s.name = component;
  s.kind = "StatefulSet";
  s.replicas = replicas;
  s.pod = YAML::Load("{}");
  s.labels = YAML::Load("{fateMoudle: " + component + "}");
  Container c;
  c.name = component;
  c.requests = req;
  c.limits = lim;
  s.containers.push_back(c);
  w.sets.push_back(s);
  return w;
}

YAML::Node quota(const std::string& hard, const std::string& used) {
  return YAML::Load("{metadata: {name: compute}, spec: {hard: " + hard + "}, status: {hard: " + hard + ", used: " + used + "}}");
}

}  // namespace

TEST_CASE("quota: the pod that would pass the limit is refused with the quota's numbers") {
  Workloads w = one("nodemanager", 3, {{"cpu", 4000}, {"memory", 4LL << 30}}, {});
  std::set<std::string> refused;
  auto r = quota_refusals(w, {}, {quota("{requests.cpu: '10', pods: '10'}", "{requests.cpu: '1', pods: '1'}")}, QuotaContext{},
                          &refused);
  REQUIRE(r.size() == 1);
  CHECK(r[0].object == "pod nodemanager-2");
  CHECK(r[0].message ==
        "pods \"nodemanager-2\" is forbidden: exceeded quota: compute, requested: requests.cpu=4, used: requests.cpu=9, "
        "limited: requests.cpu=10");
  CHECK(refused == std::set<std::string>{"nodemanager-2"});
}

TEST_CASE("quota: the party's running pods are replaced, not added (re-install)") {
  Workloads w = one("python", 1, {{"cpu", 4000}}, {});
  QuotaContext ctx;
  ctx.own_usage = {{"requests.cpu", 4000}, {"pods", 1}};
  auto r = quota_refusals(w, {}, {quota("{requests.cpu: '4'}", "{requests.cpu: '4'}")}, ctx, nullptr);
  CHECK(r.empty());
}

TEST_CASE("quota on limits: containers without a limit are refused by name") {
  Workloads w = one("mysql", 1, {{"cpu", 1000}}, {});
  auto r = quota_refusals(w, {}, {quota("{limits.cpu: '8', limits.memory: 16Gi}", "{limits.cpu: '0', limits.memory: '0'}")},
                          QuotaContext{}, nullptr);
  REQUIRE(r.size() == 1);
  CHECK(r[0].message ==
        "pods \"mysql-0\" is forbidden: failed quota: compute: must specify limits.cpu for: mysql; limits.memory for: mysql");
}

TEST_CASE("quota without usage status is refused as unknown") {
  Workloads w = one("mysql", 1, {{"cpu", 1000}}, {});
  auto r = quota_refusals(w, {}, {YAML::Load("{metadata: {name: q}, spec: {hard: {pods: '5'}}}")}, QuotaContext{}, nullptr);
  REQUIRE(r.size() == 1);
  CHECK(r[0].message == "pods \"mysql-0\" is forbidden: status unknown for quota: q, resources: pods");
}

TEST_CASE("quota: PVCs of a StatefulSet count against storage and claims, per class") {
  Workloads w = one("datanode", 2, {{"cpu", 1000}}, {});
  Volume v;
  v.component = "datanode";
  v.template_name = "dfs";
  v.claim = "dfs-datanode-0";
  v.copies = 2;
  v.size = 100LL << 30;
  v.size_text = "100Gi";
  w.volumes.push_back(v);
  w.sets[0].volumes.push_back(0);
  QuotaContext ctx;
  ctx.default_class = "standard";
  ctx.existing["PersistentVolumeClaim"] = {"dfs-datanode-0"};  // already there: not charged again
  auto r = quota_refusals(w, {}, {quota("{standard.storageclass.storage.k8s.io/requests.storage: 150Gi}",
                                        "{standard.storageclass.storage.k8s.io/requests.storage: 100Gi}")},
                          ctx, nullptr);
  REQUIRE(r.size() == 1);
  CHECK(r[0].object == "PersistentVolumeClaim dfs-datanode-1");
  CHECK(r[0].message.find("exceeded quota: compute, requested: standard.storageclass.storage.k8s.io/requests.storage=100Gi") !=
        std::string::npos);
}

TEST_CASE("quota counts objects of the kinds it names") {
  Workloads w;
  std::vector<kube::Manifest> objs = {
      {"python", YAML::Load("{apiVersion: v1, kind: Service, metadata: {name: fateflow, namespace: ns}, spec: {type: NodePort, ports: [{port: 1}, {port: 2}]}}")},
      {"python", YAML::Load("{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: ns}}")},
      {"python", YAML::Load("{apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: ns}}")}};
  auto r = quota_refusals(w, objs, {quota("{services.nodeports: '1', count/configmaps: '1'}", "{services.nodeports: '0', count/configmaps: '0'}")},
                          QuotaContext{}, nullptr);
  REQUIRE(r.size() == 2);
  CHECK(r[0].message == "services \"fateflow\" is forbidden: exceeded quota: compute, requested: services.nodeports=2, used: "
                        "services.nodeports=0, limited: services.nodeports=1");
  CHECK(r[1].object == "ConfigMap b");
  CHECK(count_keys("apps/v1", "Deployment") == std::vector<std::string>{"count/deployments.apps"});
  CHECK(count_keys("v1", "Secret") == std::vector<std::string>{"count/secrets", "secrets"});
  CHECK(count_keys("networking.k8s.io/v1", "Ingress") == std::vector<std::string>{"count/ingresses.networking.k8s.io"});
}

TEST_CASE("LimitRange: defaults fill unset requests and limits, then min/max refuse") {
  Workloads w = one("python", 1, {}, {});
  std::vector<YAML::Node> lrs = {YAML::Load(
      "{metadata: {name: lr}, spec: {limits: [{type: Container, default: {cpu: '2', memory: 4Gi}, defaultRequest: {cpu: '1', "
      "memory: 2Gi}, max: {cpu: '2'}}]}}")};
  apply_limit_range_defaults(w, lrs);
  CHECK(w.sets[0].pod_requests().at("cpu") == 1000);
  CHECK(w.sets[0].pod_limits().at("memory") == 4LL << 30);
  CHECK(limit_range_refusals(w, lrs).empty());

  Workloads big = one("spark-worker", 2, {{"cpu", 8000}}, {{"cpu", 8000}});
  apply_limit_range_defaults(big, lrs);
  auto r = limit_range_refusals(big, lrs);
  REQUIRE(r.size() == 1);
  CHECK(r[0].message == "pods \"spark-worker-0\" is forbidden: maximum cpu usage per Container is 2, but limit is 8");

  std::vector<YAML::Node> both = {YAML::Load(
      "{metadata: {name: lr}, spec: {limits: [{type: Container, min: {memory: 1Gi}, maxLimitRequestRatio: {cpu: '2'}}]}}")};
  Workloads low = one("mysql", 1, {{"cpu", 1000}, {"memory", 512LL << 20}}, {{"cpu", 4000}});
  auto r2 = limit_range_refusals(low, both);
  REQUIRE(r2.size() == 1);
  CHECK(r2[0].message ==
        "pods \"mysql-0\" is forbidden: [minimum memory usage per Container is 1Gi, but request is 512Mi, cpu max limit to "
        "request ratio per Container is 2, but provided ratio is 4.000000]");
}

TEST_CASE("LimitRange on PersistentVolumeClaims") {
  Workloads w;
  Volume v;
  v.component = "datanode";
  v.claim = "datanode-data";
  v.size = 50LL << 30;
  v.size_text = "50Gi";
  w.volumes.push_back(v);
  auto r = limit_range_refusals(
      w, {YAML::Load("{metadata: {name: s}, spec: {limits: [{type: PersistentVolumeClaim, max: {storage: 10Gi}}]}}")});
  REQUIRE(r.size() == 1);
  CHECK(r[0].message == "persistentvolumeclaims \"datanode-data\" is forbidden: maximum storage usage per "
                        "PersistentVolumeClaim is 10Gi, but request is 50Gi");
}
