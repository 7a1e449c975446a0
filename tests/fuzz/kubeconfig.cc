// Fuzz target: a kubeconfig file as `--kubeconfig FILE` reads it — merge, context, cluster and
// user resolution, base64 data fields — and the RFC 3339 and base64 helpers it uses.
#include <cstddef>
#include <cstdint>

#include "fatectl/core/log.h"
#include "fatectl/kube/kubeconfig.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::text(data, size));
  // Relative file fields resolve against this folder; keep them from reading real files.
  const std::string path = "/nonexistent-fatectl-fuzz/kubeconfig";
  fuzz::run([&] { kube::resolve_config({{path, text}}, ""); });
  fuzz::run([&] { kube::resolve_config({{path, text}}, "ctx"); });
  fuzz::run([&] { (void)kube::base64_decode(text); });
  if (size < 128) fuzz::run([&] { (void)kube::format_rfc3339(kube::parse_rfc3339(text)); });
  log::clear_secrets();
  return 0;
}
