// Fuzz target: Kubernetes resource quantities as `cluster plan` reads them — from a spec's
// resources, from the API server's ResourceQuotas, LimitRanges and nodes, and from --data-size.
// Whatever is accepted must print back in a form that reads as the same amount.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fatectl/plan/quantity.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view t = fuzz::text(data, size);
  fuzz::run([&] {
    if (auto v = plan::parse_units(t)) {
      if (*v < 0) fuzz::finding("negative amount " + std::to_string(*v));
      std::string s = plan::format_bytes(*v);
      auto back = plan::parse_units(s);
      if (!back || *back != *v)
        fuzz::finding("format_bytes(" + std::to_string(*v) + ") = '" + s + "' does not read back");
      (void)plan::format_resource("memory", *v);
    }
    if (auto m = plan::parse_milli(t)) {
      if (*m < 0) fuzz::finding("negative millicores " + std::to_string(*m));
      std::string s = plan::format_cpu(*m);
      auto back = plan::parse_milli(s);
      if (!back || *back != *m)
        fuzz::finding("format_cpu(" + std::to_string(*m) + ") = '" + s + "' does not read back");
      (void)plan::format_resource("requests.cpu", *m);
      (void)plan::mul_sat(*m, 1000);
    }
    for (int64_t scale : {int64_t{1}, int64_t{1000}, int64_t{1} << 40})
      if (auto v = plan::parse_scaled(t, scale); v && *v < 0) fuzz::finding("negative scaled amount");
  });
  return 0;
}
