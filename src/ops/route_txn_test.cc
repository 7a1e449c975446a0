// The route transaction against a fake cluster: record protocol, restore, plan.
#include <doctest/doctest.h>

#include "fake_exchange_cluster.h"

using namespace fatectl;
using namespace fatectl::ops;
using namespace fatectl::ops::testing;

TEST_CASE("transaction: success records; failure restores and leaves the record as it was") {
  FakeCluster cl = installed();
  FakeRecorder rec;
  std::string before = cl.pods_["traffic-server-1"].loaded_sni;
  SUBCASE("success") {
    RouteTxnReport r = run_route_txn(cl, &rec, plan_route_txn(record(), add10000()), fast());
    CHECK(r.outcome == "applied");
    CHECK(r.recorded_revision == 4);
    CHECK(rec.calls == std::vector<std::string>{"begin", "commit"});
  }
  SUBCASE("reload fails once: the previous routes are back in the pod and loaded") {
    cl.reload_failures = 1;
    try {
      run_route_txn(cl, &rec, plan_route_txn(record(), add10000()), fast());
      FAIL("no error");
    } catch (const RouteTxnFailure& f) {
      CHECK(f.report.outcome == "restored");
      CHECK(std::string(f.what()).find("were restored and verified in traffic-server-1") != std::string::npos);
      CHECK(std::string(f.what()).find("the release record is unchanged (release fate-exchange revision 3)") != std::string::npos);
    }
    CHECK(rec.calls == std::vector<std::string>{"begin", "abandon"});
    CHECK(cl.cm_sni().find("10000") == std::string::npos);
    CHECK(cl.pods_["traffic-server-1"].sni == before);
    CHECK(cl.pods_["traffic-server-1"].loaded_sni == before);
  }
  SUBCASE("the second ConfigMap write fails: the first is put back") {
    RouteTxnPlan plan = plan_route_txn(record(), add10000(8443));  // changes traffic-server-config and -sni
    cl.fail_apply_of = 1;
    CHECK_THROWS_AS(run_route_txn(cl, &rec, plan, fast()), RouteTxnFailure);
    CHECK(cl.cm_records().find("8443") == std::string::npos);
    CHECK(cl.cm_sni().find("10000") == std::string::npos);
  }
  SUBCASE("the restore fails too: which pod runs what is said, nothing is recorded") {
    cl.reload_exit = 2;
    try {
      run_route_txn(cl, &rec, plan_route_txn(record(), add10000()), fast());
      FAIL("no error");
    } catch (const RouteTxnFailure& f) {
      CHECK(f.report.outcome == "inconsistent");
      REQUIRE(!f.report.pod_states.empty());
      CHECK(f.report.pod_states[0].find("pod traffic-server-1 (traffic-server): has the previous routes mounted, but not reloaded") == 0);
    }
    CHECK(rec.calls == std::vector<std::string>{"begin", "abandon"});
  }
  SUBCASE("the release moved on: nothing is applied") {
    rec.refuse = true;
    CHECK_THROWS_WITH(run_route_txn(cl, &rec, plan_route_txn(record(), add10000()), fast()),
                      doctest::Contains("changed while this command ran"));
    CHECK(cl.applied.empty());
  }
}

TEST_CASE("plan: a new spec keeps or drops the routes only the record has") {
  ExchangeRecord cur = record();
  cur.spec_text = plan_route_txn(record(), add10000()).new_text;  // the record routes 9999 and 10000
  RouteTxnChange up;
  up.spec_text = kSpec;  // the file lacks 10000
  up.spec_label = "fate-exchange.yaml";
  up.recorded = RecordedRoutes::Keep;
  RouteTxnPlan keep = plan_route_txn(cur, up);
  REQUIRE(keep.kept.size() == 1);
  CHECK(keep.kept[0] == "party 10000: sni 10000.fate.org -> 192.168.10.1:30109");
  CHECK(keep.diff.empty());
  CHECK(keep.new_text.find("10000.fate.org") != std::string::npos);
  up.recorded = RecordedRoutes::Replace;
  RouteTxnPlan drop = plan_route_txn(cur, up);
  CHECK(drop.dropped == std::vector<std::string>{"party 10000: sni 10000.fate.org -> 192.168.10.1:30109"});
  REQUIRE(drop.diff.size() == 1);
  CHECK(drop.diff[0].op == '-');
  CHECK(drop.diff[0].text == "sni 10000.fate.org -> 192.168.10.1:30109");
  // route edits apply after the spec, in order
  RouteTxnChange both = add10000(30110);
  both.ops.push_back(RouteOp::removing(9999));
  RouteTxnPlan p = plan_route_txn(cur, both);
  CHECK(p.diff.size() == 2);
  CHECK(p.after.sni.size() == 1);
  CHECK(p.changes.size() == 2);
}
