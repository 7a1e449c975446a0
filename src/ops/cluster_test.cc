// Unit tests for the pure parts of ops/cluster: unified diff, version order, comparable objects,
// the pending-revision check of upgrade/rollback.
#include <doctest/doctest.h>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/cluster.h"

using namespace fatectl;

TEST_CASE("unified_diff: equal texts give nothing; changes come in hunks with context") {
  CHECK(ops::unified_diff("a\nb\n", "a\nb\n", "x", "y") == "");
  std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
  std::string b = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n11\n";
  std::string d = ops::unified_diff(a, b, "live/x", "fatectl/x");
  // changes 5 lines apart share one hunk
  CHECK(d ==
        "--- live/x\n+++ fatectl/x\n"
        "@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n+11\n");
  // changes far apart get their own hunks
  std::string c, e;
  for (int i = 1; i <= 20; ++i) {
    c += std::to_string(i) + "\n";
    e += (i == 2 ? std::string("two") : i == 18 ? std::string("eighteen") : std::to_string(i)) + "\n";
  }
  CHECK(ops::unified_diff(c, e, "a", "b") ==
        "--- a\n+++ b\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
        "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+eighteen\n 19\n 20\n");
  std::string created = ops::unified_diff("", "kind: X\n", "a", "b");
  CHECK(created == "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+kind: X\n");
}

TEST_CASE("compare_versions orders chart versions numerically") {
  CHECK(ops::compare_versions("v1.10.0", "v1.9.3") == 1);
  CHECK(ops::compare_versions("v1.11.2", "v1.11.2") == 0);
  CHECK(ops::compare_versions("1.6.1", "v1.11.0") == -1);
  CHECK(ops::compare_versions("v2.0.0-beta", "v2.0.0") == 0);
}

TEST_CASE("comparable drops server-set fields and masks Secret values") {
  YAML::Node live = yaml::parse(R"({apiVersion: v1, kind: Secret, metadata: {name: s, namespace: n, uid: u1,
    resourceVersion: "9", creationTimestamp: t, generation: 2, managedFields: [{manager: x}],
    annotations: {deployment.kubernetes.io/revision: "3"}, labels: {a: b}},
    data: {password: c2VjcmV0}, status: {x: 1}})",
                                "t");
  YAML::Node c = ops::comparable(live);
  std::string y = yaml::to_yaml(c);
  CHECK(y.find("uid") == std::string::npos);
  CHECK(y.find("resourceVersion") == std::string::npos);
  CHECK(y.find("managedFields") == std::string::npos);
  CHECK(y.find("status") == std::string::npos);
  CHECK(y.find("annotations") == std::string::npos);
  CHECK(y.find("c2VjcmV0") == std::string::npos);
  CHECK(y.find("labels") != std::string::npos);
  // the original is untouched
  CHECK(live["metadata"]["uid"].Scalar() == "u1");
  // a changed value still shows as a change
  YAML::Node other = yaml::clone(live);
  other["data"]["password"] = yaml::str("b3RoZXI=");
  CHECK(yaml::to_yaml(ops::comparable(other)) != y);
}

TEST_CASE("check_not_pending: a pending newest revision refuses a change unless taken over") {
  auto rec = [](int rev, const char* status, const char* desc) {
    release::Record r;
    r.name = "fate-exchange";
    r.revision = rev;
    r.status = status;
    r.description = desc;
    r.updated = "2026-12-06T05:00:00Z";
    return r;
  };
  std::vector<release::Record> h = {rec(1, release::kSuperseded, "install complete"),
                                    rec(2, release::kDeployed, "upgrade complete")};
  CHECK_NOTHROW(ops::check_not_pending(h, false));
  CHECK_NOTHROW(ops::check_not_pending({}, false));
  h.push_back(rec(3, release::kFailed, "upgrade failed: x"));
  CHECK_NOTHROW(ops::check_not_pending(h, false));  // a failed revision is done: an upgrade may follow
  h.push_back(rec(4, release::kPendingUpgrade, "upgrade in progress"));
  CHECK_THROWS_WITH_AS(ops::check_not_pending(h, false),
                       "release 'fate-exchange' revision 4 is pending-upgrade (upgrade in progress) since "
                       "2026-12-06T05:00:00Z: another command is changing it; nothing was changed -- wait until it "
                       "is done (`fatectl cluster history fate-exchange`), or, if that command was stopped, return to "
                       "the deployed revision with `fatectl cluster rollback fate-exchange --force`",
                       ops::ReleaseBusy);
  CHECK_NOTHROW(ops::check_not_pending(h, true));
  h.back().status = release::kPendingRollback;
  CHECK_THROWS_AS(ops::check_not_pending(h, false), ops::ReleaseBusy);
  std::vector<release::Record> installing = {rec(1, release::kPendingInstall, "")};
  CHECK_THROWS_WITH_AS(ops::check_not_pending(installing, false),
                       doctest::Contains("run the same `fatectl cluster install` again to finish it"), ops::ReleaseBusy);
}
