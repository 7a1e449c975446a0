#include "fatectl/spec/cluster_spec.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "fatectl/spec/validate.h"

using namespace fatectl;
using namespace fatectl::spec;

namespace {

const char* kEggroll = R"(name: fate-9999
namespace: fate-9999
chartName: fate
chartVersion: v1.11.2
partyId: 9999
pullPolicy:
imagePullSecrets:
  - name: myregistrykey
modules: [rollsite, clustermanager, nodemanager, mysql, python, fateboard, client]
computing: Eggroll
federation: Eggroll
storage: Eggroll
rollsite:
  type: NodePort
  nodePort: 30091
  nodeSelector:
  partyList:
    - partyId: 10000
      partyIp: 192.168.10.1
      partyPort: 30101
mysql:
  password: fate_dev
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

std::string all(const Report& r) {
  std::string s;
  for (const auto& d : r.errors) s += d.str() + "\n";
  return s;
}

std::string source_dir() {
  const char* d = std::getenv("FATECTL_SOURCE_DIR");
  return d ? std::string(d) : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();
}

}  // namespace

TEST_CASE("a valid spec loads, nulls mean 'chart default'") {
  Report r = check(kEggroll, "c.yaml");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.spec.generation == Generation::Fate19);
  CHECK(r.spec.name == "fate-9999");
  CHECK(r.spec.party_id == 9999);
  CHECK(r.spec.modules.size() == 7);
  CHECK(r.spec.computing == "Eggroll");
  CHECK(r.spec.has_module("rollsite"));
  ClusterSpec s = parse(kEggroll, "c.yaml");
  CHECK(s.root["rollsite"]["nodePort"].as<int>() == 30091);
}

TEST_CASE("parse throws an Invalid error naming file, line and key") {
  std::string bad = replace(kEggroll, "  nodePort: 30091", "  nodeport: 30091");
  try {
    parse(bad, "c.yaml");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Invalid);
    CHECK(std::string(e.what()) ==
          "c.yaml:15:3: rollsite.nodeport: unknown key 'nodeport' (did you mean 'nodePort'?); --lenient or "
          "skippedKeys allows it");
  }
}

TEST_CASE("--lenient turns unknown keys into warnings, not other errors") {
  std::string bad = replace(kEggroll, "  nodePort: 30091", "  nodeport: 30091\n  color: blue");
  LoadOptions lo;
  lo.lenient = true;
  Report r = check(bad, "c.yaml", lo);
  INFO(all(r));
  CHECK(r.ok());
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0].key_path == "rollsite.nodeport");
  CHECK(r.spec.warnings.size() == 2);
  std::string worse = replace(bad, "partyPort: 30101", "partyPort: 99999");
  CHECK(!check(worse, "c.yaml", lo).ok());
}

TEST_CASE("skippedKeys allow unknown keys by name, route tables stay checked") {
  std::string s = replace(kEggroll, "storage: Eggroll", "storage: Eggroll\nskippedKeys: [myTeamNote, route_table]\nmyTeamNote: hi");
  Report r = check(s, "c.yaml");
  INFO(all(r));
  CHECK(r.ok());
  CHECK(r.spec.skipped_keys.size() == 2);
}

TEST_CASE("secrets are never echoed in messages") {
  std::string s = replace(kEggroll, "password: fate_dev", "password: [s3cr3t-value]");
  Report r = check(s, "c.yaml");
  REQUIRE(!r.ok());
  CHECK(all(r).find("s3cr3t") == std::string::npos);
  CHECK(all(r).find("mysql.password") != std::string::npos);
}

TEST_CASE("v1.6 backend decides the engine layout") {
  std::string s = replace(replace(kEggroll, "v1.11.2", "v1.6.1"), "computing: Eggroll\nfederation: Eggroll\nstorage: Eggroll",
                          "backend: eggroll\nimageTag: 1.6.1-release");
  Report r = check(s, "c.yaml");
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.spec.generation == Generation::Fate16);
  CHECK(r.spec.backend == "eggroll");
  CHECK(r.spec.federation == "Eggroll");
  // without backend the chart default is eggroll
  CHECK(check(replace(s, "backend: eggroll\n", ""), "c.yaml").ok());
}

TEST_CASE("chart version picks the generation") {
  CHECK(check(replace(kEggroll, "v1.11.2", "v1.9.1"), "c").spec.generation == Generation::Fate19);
  Report r = check(replace(kEggroll, "v1.11.2", "v3.0.0"), "c");
  REQUIRE(!r.ok());
  CHECK(r.errors[0].key_path == "chartVersion");
  r = check(replace(kEggroll, "chartVersion: v1.11.2\n", ""), "c");
  REQUIRE(!r.ok());
  CHECK(r.errors[0].message.find("chartVersion") != std::string::npos);
}

TEST_CASE("long values and stray punctuation: located errors, no crash, no endless loop") {
  // chartVersion, quantities and floats were matched by regexes that recursed per character
  std::string n(500000, '1');
  CHECK(all(check(replace(kEggroll, "chartVersion: v1.11.2", "chartVersion: v" + n), "s.yaml"))
            .find("s.yaml:4:15: chartVersion: \"v1111111") == 0);
  CHECK(all(check(replace(kEggroll, "chartVersion: v1.11.2", "chartVersion: v1.11.2222"), "s.yaml")).find("chartVersion") !=
        std::string::npos);
  CHECK(all(check(replace(kEggroll, "password: fate_dev", "size: " + n + "Gx"), "s.yaml")).find("mysql.size:") !=
        std::string::npos);
  CHECK(all(check(replace(kEggroll, "password: fate_dev", "size: 1.5Gi"), "s.yaml")).empty());
  CHECK(all(check(replace(kEggroll, "password: fate_dev", "size: 2E"), "s.yaml")).empty());
  CHECK(all(check(replace(kEggroll, "password: fate_dev", "size: 2e"), "s.yaml")).find("quantity") != std::string::npos);
  CHECK(all(check(replace(kEggroll, "partyId: 9999", "partyId: 1." + std::string(500000, '0')), "s.yaml"))
            .find("s.yaml:5:10: partyId:") == 0);
  for (const char* p : {",", "]", "}", ",,", "- ,", "a: ,"})
    CHECK_MESSAGE(!check(p, "p.yaml").ok(), p);
  CHECK(all(check(",", "p.yaml")).find("p.yaml:1:1: YAML syntax error: unexpected ','") == 0);
  // a value over 1 MiB is refused as such
  CHECK(all(check(replace(kEggroll, "password: fate_dev", "password: " + std::string((1 << 20) + 1, 'p')), "s.yaml"))
            .find("a value longer than 1 MiB") != std::string::npos);
}

TEST_CASE("host and host:port syntax") {
  CHECK(host_problem("192.168.0.1") == "");
  CHECK(host_problem("rollsite") == "");
  CHECK(host_problem("party-9999.fate.org") == "");
  CHECK(host_problem("fd00::1") == "");
  CHECK(host_problem("192.168.0.300") != "");
  CHECK(host_problem("10.0.0.1:30000") != "");
  CHECK(host_problem("http://x") != "");
  CHECK(host_problem("a b") != "");
  CHECK(host_port_problem("192.168.10.1:30109") == "");
  CHECK(host_port_problem("[fd00::1]:6651") == "");
  CHECK(host_port_problem("ats.example.com:443") == "");
  CHECK(host_port_problem("192.168.10.1") != "");
  CHECK(host_port_problem(":30109") != "");
  CHECK(host_port_problem("h:0") != "");
  CHECK(host_port_problem("h:65536") != "");
  CHECK(host_port_problem("h:30x") != "");
  CHECK(host_port_problem("fd00::1:6651") != "");
}

TEST_CASE("resource names in requests/limits") {
  for (const char* ok : {"cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "hugepages-1Gi", "nvidia.com/gpu",
                         "example.com/foo-bar", "amd.com/gpu"})
    CHECK_MESSAGE(resource_name_problem(ok) == "", ok);
  CHECK(resource_name_problem("memo").find("did you mean 'memory'?") != std::string::npos);
  CHECK(resource_name_problem("memroy").find("did you mean 'memory'?") != std::string::npos);
  CHECK(resource_name_problem("cpus").find("did you mean 'cpu'?") != std::string::npos);
  CHECK(resource_name_problem("gpu") != "");
  CHECK(resource_name_problem("hugepages-") != "");
  CHECK(resource_name_problem("hugepages-big") != "");
  CHECK(resource_name_problem("nvidia/gpu") != "");   // the prefix is a DNS domain
  CHECK(resource_name_problem("Nvidia.com/gpu") != "");
  // in a spec: unknown names and keys without a value are errors; a valid set passes
  Report bad = check(std::string(kEggroll) + "python:\n  resources:\n    limits:\n      memo:\n", "t.yaml");
  CHECK(all(bad).find("t.yaml:26:7: python.resources.limits.memo: unknown resource 'memo' (did you mean 'memory'?)") !=
        std::string::npos);
  CHECK(all(bad).find("python.resources.limits.memo: resource 'memo' has no value") != std::string::npos);
  Report good = check(std::string(kEggroll) + "python:\n  resources:\n    requests: {cpu: 500m, memory: 4Gi, nvidia.com/gpu: 1}\n",
                      "t.yaml");
  CHECK_MESSAGE(good.ok(), all(good));
}

TEST_CASE("integers: plain or quoted digits, nothing else") {
  long long v = 0;
  CHECK((as_integer(YAML::Load("9999"), v) && v == 9999));
  CHECK((as_integer(YAML::Load("\"10000\""), v) && v == 10000));
  CHECK(!as_integer(YAML::Load("9.5"), v));
  CHECK(!as_integer(YAML::Load("abc"), v));
  CHECK(!as_integer(YAML::Load("[1]"), v));
  CHECK(!as_integer(YAML::Load("99999999999999999999999"), v));
}

TEST_CASE("every example spec validates without errors") {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(source_dir()) / "examples";
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    std::string rel = fs::relative(e.path(), dir).string();
    if (rel.rfind("jobs/", 0) == 0 || rel.rfind("data/", 0) == 0) continue;
    if (rel == "federation/federation.yaml") continue;  // a federation file: it_federation_provision validates it
    Report r = check_file(e.path().string());
    INFO(rel << "\n" << all(r));
    CHECK(r.ok());
    ++n;
  }
  CHECK(n >= 17);
}

TEST_CASE("no crash on truncated or corrupted examples") {
  namespace fs = std::filesystem;
  std::mt19937 rng(12345);
  int runs = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(source_dir()) / "examples")) {
    if (e.path().extension() != ".yaml") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    size_t step = std::max<size_t>(1, text.size() / 25);
    for (size_t cut = 0; cut < text.size(); cut += step) {
      Report r = check(text.substr(0, cut), "cut.yaml");
      for (const auto& d : r.errors) CHECK(d.str().find("cut.yaml") == 0);
      ++runs;
    }
    for (int k = 0; k < 10; ++k) {
      std::string t = text;
      for (int flips = 0; flips < 3; ++flips) t[rng() % t.size()] = static_cast<char>("\t:-[]{}&*!|>'\"%@ \n#x9"[rng() % 22]);
      (void)check(t, "flip.yaml");
      ++runs;
    }
  }
  CHECK(runs > 100);
}
