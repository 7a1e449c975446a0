// Fuzz target: ml::WireReader on a peer's message payload. The first byte picks how many
// fields to read, the next ones which (u64, f64, str, f64s, u64s); the rest is the payload.
#include <cstddef>
#include <cstdint>

#include "fatectl/ml/wire.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t nops = data[0] % 16;
  if (size < 1 + nops) return 0;
  const uint8_t* ops = data + 1;
  ml::WireReader r(std::string(fuzz::text(data + 1 + nops, size - 1 - nops)), "fuzz");
  // A malformed message is the peer's failure (exit 1), never a crash or a huge allocation.
  fuzz::run([&] {
    for (size_t i = 0; i < nops; ++i) {
      switch (ops[i] % 5) {
        case 0: (void)r.u64(); break;
        case 1: (void)r.f64(); break;
        case 2: (void)r.str(); break;
        case 3: (void)r.f64s(); break;
        case 4: (void)r.u64s(); break;
      }
    }
    r.done();
  }, {{ErrorKind::Failed}, "malformed message 'fuzz'"});
  return 0;
}
