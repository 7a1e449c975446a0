// converge (exchange.cc) against a fake cluster: propagate, reload, confirm, verify, restarts.
#include <doctest/doctest.h>

#include "fake_exchange_cluster.h"

using namespace fatectl;
using namespace fatectl::ops;
using namespace fatectl::ops::testing;

TEST_CASE("converge: propagate, reload, confirm, verify") {
  FakeCluster cl = installed();
  RouteTxnPlan plan = plan_route_txn(record(), add10000());
  RouteConfigMaps target = render_route_configmaps(plan.new_text, "ex.yaml");
  RouteConfigMaps before = read_route_configmaps(cl, "fate-exchange", "fate-exchange");
  ReloadReport r = converge(cl, target, before, fast());
  CHECK(r.failed_step.empty());
  REQUIRE(r.pods.size() == 1);
  CHECK(r.pods[0].ok);
  CHECK(r.pods[0].reload == "ok");
  CHECK(r.pods[0].confirmed.find("sni.yaml loaded") == 0);
  CHECK(cl.applied == std::vector<std::string>{"traffic-server-sni"});  // records.config did not change
  CHECK(cl.pods_["traffic-server-1"].loaded_sni.find("10000.fate.org") != std::string::npos);
  bool reloaded = false;
  for (auto& x : cl.execs) reloaded |= x == "traffic-server: /opt/trafficserver/bin/traffic_ctl config reload";
  CHECK(reloaded);
  // converging again changes nothing and needs no new load: the pod loaded the file already
  ReloadReport again = converge(cl, target, target, fast());
  CHECK(again.applied.empty());
  CHECK(again.pods[0].confirmed == "sni.yaml already loaded");
}

TEST_CASE("converge: each failing step is named") {
  RouteTxnPlan plan = plan_route_txn(record(), add10000());
  RouteConfigMaps target = render_route_configmaps(plan.new_text, "ex.yaml");
  auto fails_at = [&](FakeCluster& cl, const char* step) {
    try {
      converge(cl, target, target, fast());
      FAIL("no error");
    } catch (const ReloadFailure& f) {
      CHECK(f.report.failed_step == step);
      return std::string(f.what());
    }
    return std::string();
  };
  SUBCASE("apply refused") {
    FakeCluster cl = installed();
    cl.fail_apply_of = 0;
    CHECK(fails_at(cl, "apply").find("pods reloaded: none") != std::string::npos);
  }
  SUBCASE("exec refused") {
    FakeCluster cl = installed();
    cl.refuse_exec = true;
    CHECK(fails_at(cl, "propagate").find("exec in pod traffic-server-1") != std::string::npos);
  }
  SUBCASE("never propagates") {
    FakeCluster cl = installed();
    cl.kubelet = false;
    CHECK(fails_at(cl, "propagate").find("still differs from the applied ConfigMap") != std::string::npos);
  }
  SUBCASE("traffic_ctl exits non-zero") {
    FakeCluster cl = installed();
    cl.reload_exit = 2;
    CHECK(fails_at(cl, "reload").find("exited 2: Error establishing socket connection") != std::string::npos);
  }
  SUBCASE("Traffic Server rejects the file although traffic_ctl said 0") {
    FakeCluster cl = installed();
    cl.broken_load = true;
    CHECK(fails_at(cl, "confirm").find("failed to load") != std::string::npos);
  }
}

TEST_CASE("converge: a tunnel port outside connect_ports restarts the pods (records.config is mounted with subPath)") {
  FakeCluster cl = installed();
  RouteTxnPlan plan = plan_route_txn(record(), add10000(8443));
  RouteConfigMaps target = render_route_configmaps(plan.new_text, "ex.yaml");
  ReloadOptions o = fast();
  SUBCASE("restarted") {
    ReloadReport r = converge(cl, target, read_route_configmaps(cl, "fate-exchange", "fate-exchange"), o);
    CHECK(cl.deleted == std::vector<std::string>{"traffic-server-1"});
    CHECK(cl.pods_.count("traffic-server-2") == 1);
    CHECK(cl.pods_["traffic-server-2"].records.find("8443") != std::string::npos);
    bool verified = false;
    for (auto& p : r.pods) verified |= p.pod == "traffic-server-2" && p.ok;
    CHECK(verified);
  }
  SUBCASE("restart refused: fails before any pod is touched") {
    o.restart_traffic_server = false;
    CHECK_THROWS_WITH_AS(converge(cl, target, target, o), doctest::Contains("--no-restart-traffic-server"), ReloadFailure);
    CHECK(cl.deleted.empty());
  }
}
