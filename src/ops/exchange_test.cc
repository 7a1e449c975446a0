#include <doctest/doctest.h>

#include <map>

#include "fatectl/ops/exchange.h"
#include "fatectl/ops/routes.h"

using namespace fatectl;
using namespace fatectl::ops;

namespace {

const char* kSpec = R"(name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
registry: ""
modules:
  - trafficServer
trafficServer:
  type: NodePort
  nodePort: 30001
  route_table:
    sni:
    - fqdn: 9999.fate.org
      tunnelRoute: 192.168.9.1:30099
)";

/// A cluster with one traffic-server pod whose "kubelet" copies the applied sni.yaml into the
/// pod after `kubelet_delay` reads, and whose Traffic Server logs loads like ATS 9.2 does.
struct FakeCluster : ExchangeCluster {
  std::map<std::string, YAML::Node> cms;  // applied ConfigMaps by name
  std::vector<std::string> applied;
  std::string pod_sni = "sni: []\n";      // the file inside the pod
  std::string loaded_sni;                 // what Traffic Server loaded last
  std::vector<std::string> diags = {"[x] traffic_server NOTE: sni.yaml finished loading"};
  long reconfigure = 100;
  int kubelet_delay = 2, reads = 0;
  bool kubelet = true;
  int reload_exit = 0;
  bool refuse_exec = false;
  bool fail_apply = false;
  bool broken_load = false;
  std::vector<std::string> execs;

  void apply(const YAML::Node& obj) override {
    if (fail_apply) throw Error(ErrorKind::Failed, "configmaps \"traffic-server-sni\": conflict");
    applied.push_back(obj["metadata"]["name"].Scalar());
    cms[obj["metadata"]["name"].Scalar()] = obj["data"];
  }
  YAML::Node configmap_data(const std::string&, const std::string& name) override {
    return cms.count(name) ? cms[name] : YAML::Node();
  }
  std::vector<std::string> running_pods(const std::string&, const std::string& sel) override {
    if (sel.find("fateMoudle=traffic-server") != std::string::npos) return {"traffic-server-7d9f"};
    return {};
  }
  PodExecResult exec(const std::string&, const std::string& pod, const std::string& container,
                     const std::vector<std::string>& argv, std::chrono::milliseconds) override {
    if (refuse_exec) throw Error(ErrorKind::Unreachable, "pods \"" + pod + "\" is forbidden: cannot create pods/exec");
    std::string cmd;
    for (auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    execs.push_back(container + ": " + cmd);
    if (argv[0] == "cat") {
      if (kubelet && ++reads > kubelet_delay && cms.count("traffic-server-sni")) pod_sni = cms["traffic-server-sni"]["sni.yaml"].Scalar();
      return {0, pod_sni, ""};
    }
    if (argv[0].find("traffic_layout") != std::string::npos) return {0, "PREFIX: /opt/trafficserver\nLOGDIR: /var/log/ts\n", ""};
    if (argv[0] == "sh" && argv[2].find("wc -l") != std::string::npos) return {0, std::to_string(diags.size()) + "\n", ""};
    if (argv[0] == "sh" && argv[2].find("tail") != std::string::npos) {
      size_t from = std::stoul(argv[5]) - 1;
      std::string out;
      for (size_t i = from; i < diags.size(); ++i) out += diags[i] + "\n";
      return {0, out, ""};
    }
    if (argv[1] == "metric") return {0, "proxy.node.config.reconfigure_time " + std::to_string(reconfigure) + "\n", ""};
    if (argv[1] == "config" && argv[2] == "reload") {
      if (reload_exit) return {reload_exit, "", "Error establishing socket connection"};
      reconfigure += 5;
      if (pod_sni != loaded_sni) {
        diags.push_back("[y] traffic_server NOTE: /opt/trafficserver/etc/trafficserver/sni/sni.yaml loading ...");
        diags.push_back(broken_load ? "[y] traffic_server ERROR: sni.yaml failed to load: yaml-cpp: bad indentation"
                                    : "[y] traffic_server NOTE: /opt/trafficserver/etc/trafficserver/sni/sni.yaml finished loading");
        if (!broken_load) loaded_sni = pod_sni;
      }
      return {0, "", ""};
    }
    return {127, "", "unknown command " + cmd};
  }
  void delete_pod(const std::string&, const std::string&) override {}
};

ReloadOptions fast() {
  ReloadOptions o;
  o.poll = std::chrono::milliseconds(1);
  o.timeout = std::chrono::milliseconds(300);
  o.confirm_timeout = std::chrono::milliseconds(200);
  return o;
}

RouteEdit add10000() {
  RouteChange c;
  c.party = 10000;
  c.tunnel = parse_host_port("192.168.10.1:30109", "--tunnel");
  return add_route(kSpec, "ex.yaml", c);
}

}  // namespace

TEST_CASE("apply and reload: propagate, reload, confirm") {
  FakeCluster cl;
  RouteEdit e = add10000();
  ReloadReport r = apply_and_reload(cl, "ex.yaml", e.text, e, fast());
  CHECK(r.failed_step.empty());
  CHECK(r.namespace_ == "fate-exchange");
  REQUIRE(r.pods.size() == 1);
  CHECK(r.pods[0].ok);
  CHECK(r.pods[0].reload == "ok");
  CHECK(r.pods[0].confirmed.find("sni.yaml loaded") == 0);
  CHECK(cl.applied == std::vector<std::string>{"traffic-server-sni", "traffic-server-config"});
  CHECK(cl.pod_sni.find("10000.fate.org") != std::string::npos);
  CHECK(cl.loaded_sni == cl.pod_sni);
  // the reload ran with the configured traffic_ctl, in the traffic-server container
  bool reloaded = false;
  for (auto& x : cl.execs) reloaded |= x == "traffic-server: /opt/trafficserver/bin/traffic_ctl config reload";
  CHECK(reloaded);
}

TEST_CASE("apply and reload: each failing step is named") {
  RouteEdit e = add10000();
  SUBCASE("apply refused") {
    FakeCluster cl;
    cl.fail_apply = true;
    try {
      apply_and_reload(cl, "ex.yaml", e.text, e, fast());
      FAIL("no error");
    } catch (const ReloadFailure& f) {
      CHECK(f.report.failed_step == "apply");
      CHECK(std::string(f.what()).find("pods reloaded: none") != std::string::npos);
    }
  }
  SUBCASE("exec refused") {
    FakeCluster cl;
    cl.refuse_exec = true;
    try {
      apply_and_reload(cl, "ex.yaml", e.text, e, fast());
      FAIL("no error");
    } catch (const ReloadFailure& f) {
      CHECK(f.kind() == ErrorKind::Unreachable);
      CHECK(f.report.failed_step == "propagate");
      CHECK(std::string(f.what()).find("not reloaded: traffic-server-7d9f") != std::string::npos);
    }
  }
  SUBCASE("never propagates") {
    FakeCluster cl;
    cl.kubelet = false;
    try {
      apply_and_reload(cl, "ex.yaml", e.text, e, fast());
      FAIL("no error");
    } catch (const ReloadFailure& f) {
      CHECK(f.kind() == ErrorKind::Timeout);
      CHECK(f.report.failed_step == "propagate");
    }
  }
  SUBCASE("traffic_ctl exits non-zero") {
    FakeCluster cl;
    cl.reload_exit = 2;
    try {
      apply_and_reload(cl, "ex.yaml", e.text, e, fast());
      FAIL("no error");
    } catch (const ReloadFailure& f) {
      CHECK(f.report.failed_step == "reload");
      CHECK(std::string(f.what()).find("exited 2: Error establishing socket connection") != std::string::npos);
    }
  }
  SUBCASE("Traffic Server rejects the file although traffic_ctl said 0") {
    FakeCluster cl;
    cl.broken_load = true;
    try {
      apply_and_reload(cl, "ex.yaml", e.text, e, fast());
      FAIL("no error");
    } catch (const ReloadFailure& f) {
      CHECK(f.report.failed_step == "confirm");
      CHECK(std::string(f.what()).find("failed to load") != std::string::npos);
    }
  }
}
