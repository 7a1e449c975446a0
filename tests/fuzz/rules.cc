// Fuzz target: a plan rules file (the format of manifests/plan/rules.yaml) read and evaluated
// against two shipped example parties (Spark + Pulsar with persistence, and Eggroll), with and
// without a --data-size, as `cluster plan` does with the shipped table.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>

#include "fatectl/core/log.h"
#include "fatectl/kube/client.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/plan/rules.h"
#include "fatectl/plan/workload.h"
#include "fatectl/spec/cluster_spec.h"
#include "fuzz_util.h"

using namespace fatectl;

namespace {

/// A shipped example, parsed and sized once (FATECTL_FUZZ_EXAMPLES: the source tree's examples/).
struct Party {
  spec::ClusterSpec spec;
  plan::Workloads w;
};

Party load(const std::string& rel) {
  std::string path = std::string(FATECTL_FUZZ_EXAMPLES) + "/" + rel;
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) fuzz::finding("cannot read " + path);
  Party p{spec::parse(text, rel), {}};
  kube::Client none(kube::Config{});
  p.w = plan::read_workloads(ops::render_for(none, p.spec, true), p.spec);
  log::clear_secrets();
  return p;
}

const std::vector<Party>& parties() {
  static const std::vector<Party> ps = {load("v1.11/party-9999-spark-pulsar.yaml"),
                                        load("v1.11/party-10000-eggroll.yaml")};
  return ps;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = "rules.yaml";
  std::vector<plan::Rule> rules;
  if (!fuzz::run([&] { rules = plan::parse_rules(std::string(fuzz::text(data, size)), file); },
                 {{ErrorKind::Invalid}, file}))
    return 0;
  for (const auto& p : parties())
    for (int64_t data_size : {int64_t{0}, int64_t{200} << 30, INT64_MAX})
      fuzz::run([&] {
        plan::RuleResult res = plan::check_rules(rules, plan::RuleInput{p.spec, p.w, data_size});
        for (const auto& f : res.findings)
          if (f.str().find('\n') != std::string::npos) fuzz::finding("finding is not one line: " + f.str());
      });
  return 0;
}
