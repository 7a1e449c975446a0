// Fuzz target: logistic-regression parameters (`algorithm.params` of a job file) on their own,
// so the fuzzer spends its time on the parameter reader rather than the job around it.
#include <cstddef>
#include <cstdint>

#include "fatectl/core/yaml.h"
#include "fatectl/ml/params.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = "job.yaml";
  YAML::Node n;
  if (!fuzz::run([&] { n = yaml::parse(fuzz::text(data, size), file); }, {{ErrorKind::Invalid}, file})) return 0;
  fuzz::run([&] { (void)yaml::to_json(ml::LrParams::parse(n, file).to_yaml()); }, {{ErrorKind::Invalid}, file});
  return 0;
}
