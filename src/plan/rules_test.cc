// The reference architecture's rules, one by one: a spec that breaks each and one that keeps it.
#include <doctest/doctest.h>

#include <cstdlib>
#include <functional>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/plan/rules.h"
#include "fatectl/render/render.h"

using namespace fatectl;
using namespace fatectl::plan;

namespace {

std::string source_dir() {
  const char* s = std::getenv("FATECTL_SOURCE_DIR");
  return s ? s : ".";
}

/// A shipped example with `edit` applied, validated, rendered and checked against the shipped rules.
struct Case {
  spec::ClusterSpec spec;
  Workloads w;
  RuleResult result;
  std::vector<Finding> of(const std::string& rule) const {
    std::vector<Finding> out;
    for (const auto& f : result.findings)
      if (f.rule == rule) out.push_back(f);
    return out;
  }
  bool noted(const std::string& text) const {
    for (const auto& n : result.notes)
      if (n.find(text) != std::string::npos) return true;
    return false;
  }
};

std::set<std::string>& tested() {
  static std::set<std::string> ids;
  return ids;
}

Case run(const std::string& example, const std::function<void(YAML::Node)>& edit = {}, int64_t data_size = 0,
         const std::string& rule = "") {
  if (!rule.empty()) tested().insert(rule);
  YAML::Node n = yaml::load_file(source_dir() + "/examples/" + example);
  if (edit) edit(n);
  Case c{spec::parse(yaml::to_yaml(n), "party.yaml"), {}, {}};
  std::vector<kube::Manifest> objs;
  for (const auto& o : render::render(c.spec)) objs.push_back({o.module, o.node});
  c.w = read_workloads(objs, c.spec);
  c.result = check_rules(builtin_rules(), RuleInput{c.spec, c.w, data_size});
  return c;
}

const char* kSpark = "v1.11/party-9999-spark-pulsar.yaml";
const char* kEggroll = "v1.11/party-9999-eggroll.yaml";

}  // namespace

TEST_CASE("pod-cpu: every pod at least 4 vCPU, where the chart lets the spec set it") {
  auto c = run(kSpark, {}, 0, "pod-cpu");
  auto f = c.of("pod-cpu");
  bool python = false, mysql = false, worker = false;
  for (const auto& x : f) {
    if (x.diag.key_path == "python.resources.requests.cpu") {
      python = true;
      CHECK(x.level == Level::Advice);
      CHECK(x.diag.message.find("python sets no CPU request") == 0);
      CHECK(x.diag.message.find("set python.resources.requests.cpu: \"4\"") != std::string::npos);
      CHECK(x.diag.where.line > 1);
      CHECK(x.source.find("at least 4 vCPU") != std::string::npos);
    }
    if (x.diag.key_path == "mysql") {
      mysql = true;
      CHECK(x.level == Level::Note);  // the chart has no mysql.resources key
    }
    if (x.diag.key_path.rfind("spark.worker", 0) == 0) worker = true;
  }
  CHECK(python);
  CHECK(mysql);
  CHECK_FALSE(worker);  // the Spark worker has its own rule
  auto ok = run(kSpark, [](YAML::Node n) { n["python"]["resources"]["requests"]["cpu"] = "4"; });
  for (const auto& x : ok.of("pod-cpu")) CHECK(x.diag.key_path != "python.resources.requests.cpu");
}

TEST_CASE("spark-worker-cpu and spark-worker-memory: 8 vCPU and 16 GB") {
  auto c = run(kSpark, {}, 0, "spark-worker-cpu");
  run(kSpark, {}, 0, "spark-worker-memory");
  REQUIRE(c.of("spark-worker-cpu").size() == 1);
  CHECK(c.of("spark-worker-cpu")[0].diag.key_path == "spark.worker.resources.requests.cpu");
  CHECK(c.of("spark-worker-cpu")[0].diag.message.find("spark-worker (2 pods) requests 2 CPU per pod") == 0);
  REQUIRE(c.of("spark-worker-memory").size() == 1);
  CHECK(c.of("spark-worker-memory")[0].diag.message.find("requests 4Gi memory per pod") != std::string::npos);
  auto ok = run(kSpark, [](YAML::Node n) {
    n["spark"]["worker"]["resources"]["requests"]["cpu"] = "8";
    n["spark"]["worker"]["resources"]["requests"]["memory"] = "16Gi";
  });
  CHECK(ok.of("spark-worker-cpu").empty());
  CHECK(ok.of("spark-worker-memory").empty());
}

TEST_CASE("pod-memory: every pod at least 8 GB (8Gi passes, 7G does not)") {
  auto c = run(kEggroll, [](YAML::Node n) { n["python"]["resources"]["requests"]["memory"] = "7G"; }, 0, "pod-memory");
  bool python = false;
  for (const auto& x : c.of("pod-memory"))
    if (x.diag.key_path == "python.resources.requests.memory") python = x.diag.message.find("requests 7G memory") != std::string::npos;
  CHECK(python);
  auto ok = run(kEggroll, [](YAML::Node n) { n["python"]["resources"]["requests"]["memory"] = "8Gi"; });
  for (const auto& x : ok.of("pod-memory")) CHECK(x.diag.key_path != "python.resources.requests.memory");
}

TEST_CASE("nn-python-cpu and nn-python-memory: more than the baseline for neural networks") {
  auto big = [](YAML::Node n) {
    n["python"]["resources"]["requests"]["cpu"] = "4";
    n["python"]["resources"]["requests"]["memory"] = "8G";
  };
  auto basic = run(kEggroll, big, 0, "nn-python-cpu");
  run(kEggroll, big, 0, "nn-python-memory");
  CHECK(basic.of("nn-python-cpu").empty());  // algorithm Basic: the rule does not apply
  auto nn = run(kEggroll, [&](YAML::Node n) {
    big(n);
    n["algorithm"] = "NN";
  });
  REQUIRE(nn.of("nn-python-cpu").size() == 1);
  CHECK(nn.of("nn-python-cpu")[0].diag.message.find("more than 4 vCPU") != std::string::npos);
  CHECK(nn.of("nn-python-memory").size() == 1);
  auto more = run(kEggroll, [&](YAML::Node n) {
    n["python"]["resources"]["requests"]["cpu"] = "8";
    n["python"]["resources"]["requests"]["memory"] = "16Gi";
    n["algorithm"] = "ALL";
  });
  CHECK(more.of("nn-python-cpu").empty());
  CHECK(more.of("nn-python-memory").empty());
}

TEST_CASE("spark-worker-per-node: several workers need anti-affinity to keep one per node") {
  auto c = run(kSpark, {}, 0, "spark-worker-per-node");
  REQUIRE(c.of("spark-worker-per-node").size() == 1);
  CHECK(c.of("spark-worker-per-node")[0].diag.key_path == "spark.worker.affinity");
  auto ok = run(kSpark, [](YAML::Node n) {
    n["spark"]["worker"]["affinity"] = YAML::Load(
        "{podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{topologyKey: kubernetes.io/hostname, "
        "labelSelector: {matchLabels: {fateMoudle: spark-worker}}}]}}");
  });
  CHECK(ok.of("spark-worker-per-node").empty());
  auto one = run(kSpark, [](YAML::Node n) { n["spark"]["worker"]["replicas"] = 1; });
  CHECK(one.of("spark-worker-per-node").empty());
}

TEST_CASE("volume-size: every persistent volume at least 5 GB") {
  auto c = run(kSpark, [](YAML::Node n) { n["persistence"] = true; }, 0, "volume-size");
  std::set<std::string> keys;
  for (const auto& x : c.of("volume-size")) keys.insert(x.diag.key_path);
  CHECK(keys.count("hdfs.datanode.size"));  // 4Gi
  CHECK(keys.count("hdfs.namenode.size"));  // 2Gi
  CHECK(keys.count("python.size"));         // the chart's 1Gi
  auto ok = run(kSpark, [](YAML::Node n) {
    n["persistence"] = true;
    n["hdfs"]["datanode"]["size"] = "5Gi";
  });
  for (const auto& x : ok.of("volume-size")) CHECK(x.diag.key_path != "hdfs.datanode.size");
  auto off = run(kSpark);  // no persistent volumes at all: nothing to size (the persistence rule speaks)
  CHECK(off.of("volume-size").empty());
}

TEST_CASE("data-volume: the datanode and python volumes hold twice the data set") {
  auto persist = [](const char* size) {
    return [size](YAML::Node n) {
      n["persistence"] = true;
      n["hdfs"]["datanode"]["size"] = size;
      n["python"]["size"] = size;
    };
  };
  auto none = run(kSpark, persist("300Gi"), 0, "data-volume");
  CHECK(none.of("data-volume").empty());
  CHECK(none.noted("rule data-volume not checked: pass --data-size"));
  auto small = run(kSpark, persist("300Gi"), 200LL << 30);
  REQUIRE(small.of("data-volume").size() == 2);
  CHECK(small.of("data-volume")[0].diag.message.find("2 x 200Gi = 400Gi") != std::string::npos);
  auto ok = run(kSpark, persist("400Gi"), 200LL << 30);
  CHECK(ok.of("data-volume").empty());
  auto empty_dir = run(kSpark, {}, 200LL << 30);
  CHECK(empty_dir.of("data-volume").size() == 2);  // python and datanode without volumes
}

TEST_CASE("persistence: the stateful modules keep their data on persistent volumes") {
  auto c = run(kSpark, {}, 0, "persistence");
  REQUIRE(c.of("persistence").size() == 1);
  const Finding f = c.of("persistence")[0];
  CHECK(f.diag.key_path == "persistence");
  CHECK(f.diag.message.find("python, mysql, namenode, datanode and pulsar keep their data in emptyDir") != std::string::npos);
  CHECK(run(kSpark, [](YAML::Node n) { n["persistence"] = true; }).of("persistence").empty());
  auto claim = run(kEggroll, [](YAML::Node n) {
    n["persistence"] = true;
    n["mysql"]["existingClaim"] = "my-mysql-data";
  });
  CHECK(claim.of("persistence").empty());
}

TEST_CASE("external-ha: said once, with the keys to set, only when Spark/HDFS/Pulsar run inside") {
  auto c = run(kSpark, {}, 0, "external-ha");
  REQUIRE(c.of("external-ha").size() == 1);
  CHECK(c.of("external-ha")[0].level == Level::Note);
  CHECK(c.of("external-ha")[0].diag.key_path == "modules");
  CHECK(c.of("external-ha")[0].diag.message.find("python.spark.master") != std::string::npos);
  CHECK(run(kEggroll).of("external-ha").empty());
}

TEST_CASE("image-disk and network: notes of what the API cannot show") {
  auto c = run(kEggroll, {}, 0, "image-disk");
  tested().insert("network");
  CHECK(c.noted("container-image disk of 32 GB"));
  CHECK(c.noted("10 GbE"));
}

TEST_CASE("exchange-replicas: the Exchange's stateless components run replicated; party rules stay out") {
  auto c = run("exchange/fate-exchange.yaml", {}, 0, "exchange-replicas");
  std::set<std::string> keys;
  for (const auto& x : c.of("exchange-replicas")) keys.insert(x.diag.key_path);
  CHECK(keys == std::set<std::string>{"trafficServer.replicas", "nginx.replicas"});
  CHECK(c.of("pod-cpu").empty());
  auto ok = run("exchange/fate-exchange.yaml", [](YAML::Node n) {
    n["trafficServer"]["replicas"] = 2;
    n["nginx"]["replicas"] = 3;
  });
  CHECK(ok.of("exchange-replicas").empty());
}

TEST_CASE("findings read FILE:LINE:COL: key.path: advice (rule ID), sorted by position") {
  auto c = run(kSpark);
  REQUIRE(!c.result.findings.empty());
  for (size_t i = 1; i < c.result.findings.size(); ++i)
    CHECK(c.result.findings[i - 1].diag.where.line <= c.result.findings[i].diag.where.line);
  std::string s = c.result.findings[0].str();
  CHECK(s.rfind("party.yaml:", 0) == 0);
  CHECK(s.find(" (rule ") != std::string::npos);
}

TEST_CASE("every shipped rule is tested above and quotes its source") {
  for (const auto& r : builtin_rules()) {
    CHECK_MESSAGE(tested().count(r.id), "no test for rule " << r.id);
    CHECK(!r.source.empty());
  }
}

TEST_CASE("the rules table refuses what it cannot apply") {
  auto bad = [](const std::string& line) {
    try {
      parse_rules("rules:\n  - " + line + "\n", "rules.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(bad("{id: a, check: bogus, match: ['*'], level: advice, source: s}").find("unknown check 'bogus'") != std::string::npos);
  CHECK(bad("{id: a, check: pod-cpu, match: ['*'], min: '4', level: advice}").find("quotes the reference") != std::string::npos);
  CHECK(bad("{id: a, check: pod-cpu, match: ['*'], min: lots, level: advice, source: s}").find("not a quantity") != std::string::npos);
  CHECK(bad("{id: a, check: pod-cpu, match: ['*'], level: advice, source: s}").find("exactly one of min and above") != std::string::npos);
  CHECK(bad("{id: a, check: volume-data, match: ['*'], level: advice, source: s}").find("factor") != std::string::npos);
  CHECK(bad("{id: a, check: note, match: ['*'], level: sometimes, source: s, advice: x}").find("advice or note") != std::string::npos);
  CHECK(bad("{id: a, check: note, match: ['*'], level: note, source: s, advice: x}").empty());
  // shapes: a map where a list belongs (yaml-cpp threw InvalidNode, found by tests/fuzz/rules.cc)
  CHECK(bad("{id: a, check: note, match: {x: y}, level: note, source: s, advice: x}").find("a.match") != std::string::npos);
  CHECK(bad("{id: a, check: note, match: ['*'], when: [x], level: note, source: s, advice: x}").find("a.when") != std::string::npos);
  CHECK(bad("{id: a, check: note, match: ['*'], when: {algorithm: {x: y}}, level: note, source: s, advice: x}")
            .find("a.when.algorithm: a list of values") != std::string::npos);
  for (const char* doc : {"rules: {a: b}\n", "rules: text\n", "- x\n", "rules:\n a\n b\n"}) {
    try {
      parse_rules(doc, "rules.yaml");
      FAIL("accepted: " << doc);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Invalid);
      CHECK(std::string(e.what()).rfind("rules.yaml:", 0) == 0);
    }
  }
  CHECK_THROWS(parse_rules("rules:\n  - {id: a, check: note, match: ['*'], level: note, source: s, advice: x}\n"
                           "  - {id: a, check: note, match: ['*'], level: note, source: s, advice: x}\n",
                           "rules.yaml"));
  auto r = parse_rules("rules:\n  - {id: a, check: pod-cpu, match: ['*', '!spark-worker', 'node*'], min: '4', level: advice, source: s}\n",
                       "rules.yaml");
  CHECK(r[0].matches("python"));
  CHECK_FALSE(r[0].matches("spark-worker"));
  CHECK(r[0].min_value == 4000);
}

TEST_CASE("a spec value that is not a quantity is an error at its place in the spec") {
  try {
    run(kEggroll, [](YAML::Node n) { n["python"]["resources"]["requests"]["cpu"] = "lots"; });
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.exit_code() == 2);
    std::string m = e.what();
    CHECK(m.find("party.yaml:") == 0);
    CHECK(m.find("python.resources.requests.cpu: ") != std::string::npos);
    // spec validation (resource maps) names it before the sizing rules see it
    CHECK(m.find("lots") != std::string::npos);
    CHECK(m.find("is not a Kubernetes quantity") != std::string::npos);
  }
}
