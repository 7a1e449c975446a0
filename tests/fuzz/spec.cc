// Fuzz target: a cluster spec through validation, rendering and the YAML/JSON emitters —
// what `fatectl cluster validate|render|images -o yaml|json` does with a file.
#include <cstddef>
#include <cstdint>

#include "fatectl/core/yaml.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::text(data, size));
  spec::Report r;
  fuzz::run([&] { r = spec::check(text, "spec.yaml"); });
  for (const auto& d : r.errors)
    if (d.where.file != "spec.yaml") fuzz::finding("diagnostic without the file name: " + d.str());
  if (!r.ok()) {
    // spec::parse must refuse the same text with the first error, exit 2
    bool parsed = fuzz::run([&] { spec::parse(text, "spec.yaml"); }, {{ErrorKind::Invalid}, "spec.yaml"});
    if (parsed) fuzz::finding("check() found errors but parse() accepted the spec");
    return 0;
  }
  fuzz::run([&] {
    std::vector<render::Object> objs = render::render(r.spec);
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& o : objs) {
      (void)yaml::to_yaml(o.node);
      list.push_back(o.node);
    }
    (void)yaml::to_json(list, true);
    (void)render::images(r.spec);
    (void)yaml::to_json(r.spec.root, false);
    (void)yaml::to_yaml(r.spec.root);
  }, {{ErrorKind::Invalid}, "spec.yaml"});
  return 0;
}
