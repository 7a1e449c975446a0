// Fuzz target: `fatectl cluster plan --offline [--data-size X]` — a cluster spec read, rendered,
// sized per module and checked against the shipped rules (manifests/plan/rules.yaml), then
// printed as a table and as YAML/JSON. An input whose first line is "# data-size: X" also
// passes X through the --data-size reader (the line is a YAML comment for the spec).
#include <cstddef>
#include <cstdint>

#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/client.h"
#include "fatectl/ops/cluster.h"
#include "fatectl/plan/plan.h"
#include "fatectl/plan/quantity.h"
#include "fatectl/spec/cluster_spec.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = "party.yaml";
  std::string text(fuzz::text(data, size));
  plan::Options o;
  const std::string flag = "# data-size: ";
  if (text.rfind(flag, 0) == 0) {
    size_t eol = text.find('\n');
    std::string v = text.substr(flag.size(), eol == std::string::npos ? std::string::npos : eol - flag.size());
    auto n = plan::parse_units(v);  // what cluster_plan.cc does with --data-size
    if (n && *n > 0) {
      o.data_size = *n;
      o.data_size_text = v;
    }
  }
  spec::Report r;
  fuzz::run([&] { r = spec::check(text, file); });
  if (!r.ok()) return 0;
  fuzz::run([&] {
    kube::Client none(kube::Config{});
    plan::Plan p = plan::make_offline(r.spec, ops::render_for(none, r.spec, true), o);
    (void)plan::to_text(p);
    YAML::Node n = plan::to_node(p);
    (void)yaml::to_yaml(n);
    (void)yaml::to_json(n, true);
    for (const auto& f : p.findings)
      if (f.str().find('\n') != std::string::npos) fuzz::finding("finding is not one line: " + f.str());
  }, {{ErrorKind::Invalid}, file});
  log::clear_secrets();  // render_for registers the spec's secrets for redaction
  return 0;
}
