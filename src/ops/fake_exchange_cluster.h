#pragma once
// Test fixture for the route transaction (exchange_test.cc, route_txn_test.cc, route_live_test.cc):
// a fake cluster with traffic-server pods whose "kubelet" and Traffic Server behave like the real
// ones as far as fatectl can see them through exec.
#include <doctest/doctest.h>

#include <map>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/exchange.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/ops/route_txn.h"
#include "fatectl/ops/routes.h"

namespace fatectl::ops::testing {

inline const char* kSpec = R"(name: fate-exchange
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

inline ReloadOptions fast() {
  ReloadOptions o;
  o.poll = std::chrono::milliseconds(1);
  o.timeout = std::chrono::milliseconds(300);
  o.confirm_timeout = std::chrono::milliseconds(200);
  return o;
}

/// A fake with the spec installed and one running traffic-server pod.
inline FakeCluster installed() {
  FakeCluster cl;
  for (auto& [name, obj] : render_route_configmaps(kSpec, "ex.yaml").objects) cl.cms[name] = obj;
  cl.start_pod("traffic-server-1");
  return cl;
}

inline ExchangeRecord record() {
  ExchangeRecord r;
  r.release = "fate-exchange";
  r.ns = "fate-exchange";
  r.revision = 3;
  r.spec_text = kSpec;
  r.label = "release fate-exchange revision 3";
  return r;
}

inline RouteTxnChange add10000(int port = 30109) {
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


}  // namespace fatectl::ops::testing
