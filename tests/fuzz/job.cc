// Fuzz target: a job file as `fatectl train|run|party serve --job FILE` reads it — parties,
// routes, transport sizes and durations, and the algorithm's parameters (echo, hetero/homo LR).
#include <cstddef>
#include <cstdint>

#include "fatectl/core/yaml.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/program.h"
#include "fatectl/ml/train.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::text(data, size);
  const std::string file = "/nonexistent-fatectl-fuzz/job.yaml";
  fed::Job job;
  bool ok = fuzz::run([&] { job = fed::parse_job(yaml::parse(text, file), file); }, {{ErrorKind::Invalid}, file});
  if (!ok) return 0;
  for (long id : job.party_ids()) fuzz::run([&] { (void)job.route_to(id).str(); });
  (void)fed::format_duration(job.transport.message_timeout);
  if (job.algorithm == "echo") fuzz::run([&] { (void)fed::parse_echo_params(job); }, {{ErrorKind::Invalid}, file});
  if (job.algorithm == "hetero_lr" || job.algorithm == "homo_lr")
    fuzz::run([&] { (void)ml::MlJob::from_job(job).params.to_yaml(); }, {{ErrorKind::Invalid}, file});
  return 0;
}
