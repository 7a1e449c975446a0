// Fuzz target: Paillier key files (`fatectl keys show`, a party loading its key pair) — public
// and private, with their consistency checks (n's size, h_s, p·q = n, p and q prime).
#include <cstddef>
#include <cstdint>

#include "fatectl/he/paillier.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::text(data, size);
  fuzz::run([&] { (void)he::PublicKey::parse(text, "key.pub").serialize(); }, {{ErrorKind::Invalid}, "key.pub"});
  fuzz::run([&] { (void)he::PrivateKey::parse(text, "key").serialize(); }, {{ErrorKind::Invalid}, "key"});
  return 0;
}
