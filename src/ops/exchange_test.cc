// The route transaction against a fake cluster: converge's steps (propagate, reload, confirm,
// verify, restarts), the transaction's restore and record protocol, and the live view.
#include <doctest/doctest.h>

#include <map>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/exchange.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/ops/route_txn.h"
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

/// One traffic-server pod of the fake: its mounted files and its Traffic Server.
struct FakePod {
  std::string sni;           // mounted sni.yaml
  std::string records;       // mounted records.config (subPath: fixed at start)
  long sni_mtime = 100;
  std::string loaded_sni;    // what Traffic Server loaded
  long loaded_mtime = 100;   // the file's mtime when it did (ATS re-reads a file whose mtime changed)
  std::string connect_ports;
  long start_time = 100, reconfigure = 100;
  std::vector<std::string> diags;
};

/// A cluster whose "kubelet" copies an applied sni.yaml into each pod after `kubelet_delay`
/// reads, and whose Traffic Server logs loads as ATS 9.2 does.
struct FakeCluster : ExchangeCluster {
  std::map<std::string, YAML::Node> cms;  // live ConfigMaps by name
  std::vector<std::string> applied, deleted;
  std::map<std::string, FakePod> pods_;
  long clock = 200;
  int kubelet_delay = 2, reads = 0;
  bool kubelet = true;
  int reload_exit = 0;
  int reload_failures = 0;  ///< this many reloads fail (exit 2), then they work
  bool refuse_exec = false;
  int fail_apply_of = -1;   ///< the n-th apply (0-based) is refused
  bool broken_load = false;
  int next_pod = 2;
  std::vector<std::string> execs;

  std::string cm_sni() { return cms.count("traffic-server-sni") ? cms["traffic-server-sni"]["data"]["sni.yaml"].Scalar() : ""; }
  std::string cm_records() {
    return cms.count("traffic-server-config") ? cms["traffic-server-config"]["data"]["records.config"].Scalar() : "";
  }
  /// A pod that starts now, from the ConfigMaps as they are.
  void start_pod(const std::string& name) {
    FakePod p;
    p.sni = p.loaded_sni = cm_sni();
    p.records = cm_records();
    const std::string key = "CONFIG proxy.config.http.connect_ports STRING ";
    size_t at = p.records.find(key);
    p.connect_ports = at == std::string::npos ? "" : p.records.substr(at + key.size(), p.records.find('\n', at) - at - key.size());
    p.start_time = p.reconfigure = p.sni_mtime = p.loaded_mtime = ++clock;
    pods_[name] = p;
  }
  void apply(const YAML::Node& obj) override {
    if (fail_apply_of-- == 0) throw Error(ErrorKind::Failed, "configmaps \"" + obj["metadata"]["name"].Scalar() + "\": conflict");
    applied.push_back(obj["metadata"]["name"].Scalar());
    cms[obj["metadata"]["name"].Scalar()] = yaml::clone(obj);
  }
  YAML::Node configmap(const std::string&, const std::string& name) override {
    return cms.count(name) ? cms[name] : YAML::Node();
  }
  std::vector<PodInfo> pods(const std::string&, const std::string& sel) override {
    std::vector<PodInfo> out;
    if (sel.find("fateMoudle=traffic-server") == std::string::npos) return out;
    for (auto& [n, p] : pods_) {
      PodInfo i;
      i.name = n;
      i.running = i.ready = true;
      out.push_back(i);
    }
    return out;
  }
  PodExecResult exec(const std::string&, const std::string& pod, const std::string& container,
                     const std::vector<std::string>& argv, std::chrono::milliseconds) override {
    if (refuse_exec) throw Error(ErrorKind::Unreachable, "pods \"" + pod + "\" is forbidden: cannot create pods/exec");
    if (!pods_.count(pod)) throw Error(ErrorKind::Failed, "pods \"" + pod + "\" not found");
    FakePod& p = pods_[pod];
    std::string cmd;
    for (auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    execs.push_back(container + ": " + cmd);
    if (argv[0] == "sh" && argv[2].find("head -c") == 0) {  // read a mounted file
      const std::string& path = argv[4];
      if (path == kRecordsMountPath) return {0, p.records, ""};
      if (kubelet && ++reads > kubelet_delay && p.sni != cm_sni()) {
        p.sni = cm_sni();
        p.sni_mtime = ++clock;
      }
      return {0, p.sni, ""};
    }
    if (argv[0] == "stat") return {0, std::to_string(p.sni_mtime) + "\n", ""};
    if (argv[0].find("traffic_layout") != std::string::npos) return {0, "PREFIX: /opt/trafficserver\nLOGDIR: /var/log/ts\n", ""};
    if (argv[0] == "sh" && argv[2].find("wc -l") != std::string::npos) return {0, std::to_string(p.diags.size()) + "\n", ""};
    if (argv[0] == "sh" && argv[2].find("tail -n +") == 0) {
      size_t from = std::stoul(argv[5]) - 1;
      std::string out;
      for (size_t i = from; i < p.diags.size(); ++i) out += p.diags[i] + "\n";
      return {0, out, ""};
    }
    if (argv[0] == "sh" && argv[2].find("grep") == 0) {
      std::string last;
      for (auto& l : p.diags)
        if (l.find("sni.yaml f") != std::string::npos || l.find("ERROR") != std::string::npos) last = l;
      return {0, last, ""};
    }
    if (argv[1] == "metric") {
      long v = argv[3] == "proxy.node.config.reconfigure_time" ? p.reconfigure : p.start_time;
      return {0, argv[3] + " " + std::to_string(v) + "\n", ""};
    }
    if (argv[1] == "config" && argv[2] == "get") return {0, "proxy.config.http.connect_ports: " + p.connect_ports + "\n", ""};
    if (argv[1] == "config" && argv[2] == "reload") {
      if (reload_exit) return {reload_exit, "", "Error establishing socket connection"};
      if (reload_failures > 0) {
        --reload_failures;
        return {2, "", "Error establishing socket connection"};
      }
      p.reconfigure = ++clock;
      if (p.sni_mtime != p.loaded_mtime) {
        p.diags.push_back("[y] traffic_server NOTE: /opt/trafficserver/etc/trafficserver/sni/sni.yaml loading ...");
        p.diags.push_back(broken_load ? "[y] traffic_server ERROR: sni.yaml failed to load: yaml-cpp: bad indentation"
                                      : "[y] traffic_server NOTE: /opt/trafficserver/etc/trafficserver/sni/sni.yaml finished loading");
        if (!broken_load) {
          p.loaded_sni = p.sni;
          p.loaded_mtime = p.sni_mtime;
        }
      }
      return {0, "", ""};
    }
    return {127, "", "unknown command " + cmd};
  }
  void delete_pod(const std::string&, const std::string& pod) override {
    deleted.push_back(pod);
    pods_.erase(pod);
    start_pod("traffic-server-" + std::to_string(next_pod++));
  }
};

ReloadOptions fast() {
  ReloadOptions o;
  o.poll = std::chrono::milliseconds(1);
  o.timeout = std::chrono::milliseconds(300);
  o.confirm_timeout = std::chrono::milliseconds(200);
  return o;
}

/// A fake with the spec installed and one running traffic-server pod.
FakeCluster installed() {
  FakeCluster cl;
  for (auto& [name, obj] : render_route_configmaps(kSpec, "ex.yaml").objects) cl.cms[name] = obj;
  cl.start_pod("traffic-server-1");
  return cl;
}

ExchangeRecord record() {
  ExchangeRecord r;
  r.release = "fate-exchange";
  r.ns = "fate-exchange";
  r.revision = 3;
  r.spec_text = kSpec;
  r.label = "release fate-exchange revision 3";
  return r;
}

RouteTxnChange add10000(int port = 30109) {
  RouteChange c;
  c.party = 10000;
  c.tunnel = parse_host_port("192.168.10.1:" + std::to_string(port), "--tunnel");
  RouteTxnChange ch;
  ch.ops = {RouteOp::adding(c)};
  ch.description = "route add: party 10000";
  return ch;
}

/// Counts what the transaction asked of the record.
struct FakeRecorder : RouteRecorder {
  std::vector<std::string> calls;
  bool refuse = false;
  int begin(const RouteTxnPlan&) override {
    if (refuse) throw Error(ErrorKind::Failed, "release 'fate-exchange' changed while this command ran");
    calls.push_back("begin");
    return 4;
  }
  void commit() override { calls.push_back("commit"); }
  void abandon() override { calls.push_back("abandon"); }
};

}  // namespace

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

TEST_CASE("live view: mounted routes and what Traffic Server loaded, against the record") {
  FakeCluster cl = installed();
  RouteConfigMaps rec = read_route_configmaps(cl, "fate-exchange", "fate-exchange");
  CHECK(read_live_routes(cl, rec, fast()).in_sync());
  // someone changes the mounted file: missing, extra, and not reloaded since
  FakePod& p = cl.pods_["traffic-server-1"];
  p.sni = "sni:\n  - fqdn: 10001.fate.org\n    tunnel_route: 1.2.3.4:30101\n";
  p.sni_mtime = ++cl.clock;
  cl.kubelet = false;
  LiveReport live = read_live_routes(cl, rec, fast());
  REQUIRE(live.pods.size() == 1);
  CHECK(!live.in_sync());
  CHECK(live.pods[0].differences ==
        std::vector<std::string>{"missing sni 9999.fate.org -> 192.168.9.1:30099", "extra sni 10001.fate.org -> 1.2.3.4:30101"});
  REQUIRE(live.pods[0].state.size() == 1);
  CHECK(live.pods[0].state[0].find("not reloaded since sni.yaml changed") == 0);
}

TEST_CASE("route file entries: sni.yaml, nginx route_table.yaml, rollsite route_table.json") {
  auto sni = route_file_entries("traffic-server", "sni:\n  - fqdn: 9999.fate.org\n    tunnel_route: 1.2.3.4:30099\n");
  CHECK(sni == std::map<std::string, std::string>{{"sni 9999.fate.org", "1.2.3.4:30099"}});
  auto ngx = route_file_entries("nginx", "9999:\n  proxy:\n    - host: a\n      http_port: 1\n      grpc_port: 2\n");
  CHECK(ngx == std::map<std::string, std::string>{{"nginx 9999 proxy", "a:1:2"}});
  auto rs = route_file_entries("rollsite", R"({"route_table": {"9999": {"default": [{"ip": "a", "port": 9370}]}}})");
  CHECK(rs == std::map<std::string, std::string>{{"rollsite 9999 default", "a:9370"}});
  CHECK(route_entry_party("nginx 9999 proxy") == "9999");
  CHECK(route_entry_differences({{"k", "a"}, {"m", "b"}}, {{"k", "c"}, {"n", "d"}}) ==
        std::vector<std::string>{"k -> c (recorded: a)", "missing m -> b", "extra n -> d"});
  CHECK_THROWS_AS(route_file_entries("nginx", "a: [b"), Error);
}
