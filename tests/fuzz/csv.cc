// Fuzz target: a training CSV as a party loads it (with and without a label column, with an
// explicit feature list), then the ordering and the id hashing (onto Curve25519) the intersection uses.
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "fatectl/ml/data.h"
#include "fatectl/psi/curve25519.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::text(data, size));
  for (int variant = 0; variant < 3; ++variant) {
    ml::DataSpec spec;
    spec.path = "train.csv";
    spec.with_label = variant != 0;
    if (variant == 2) spec.features = {"x0", "x1"};
    std::istringstream in(text);
    ml::Dataset d;
    if (!fuzz::run([&] { d = ml::load_csv(spec, in); }, {{ErrorKind::Invalid}, "train.csv"})) continue;
    if (d.x.size() != d.rows() * d.cols()) fuzz::finding("table shape does not match its rows");
    auto order = ml::sorted_order(d.ids);
    (void)d.select(order);
    for (size_t i = 0; i < d.ids.size() && i < 8; ++i) (void)psi::hash_to_curve("job/psi", d.ids[i]);
  }
  return 0;
}
