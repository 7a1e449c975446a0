// Fuzz target: the core YAML helpers on any document — parse (one and many documents), scalar
// typing, and the YAML and JSON emitters, whose output must parse back to the same tree.
#include <cstddef>
#include <cstdint>

#include "fatectl/core/yaml.h"
#include "fuzz_util.h"

using namespace fatectl;

namespace {

// Same shape and scalar text, and the same scalar types where the emitter keeps them.
bool same(const YAML::Node& a, const YAML::Node& b, bool json) {
  if (a.IsNull() || !a.IsDefined()) return b.IsNull() || !b.IsDefined();
  if (a.IsScalar()) {
    if (!b.IsScalar() && !b.IsNull()) return false;
    yaml::ScalarType ta = yaml::scalar_type(a), tb = yaml::scalar_type(b);
    if (ta == yaml::ScalarType::String) return tb == ta && a.Scalar() == b.Scalar();
    if (json) return true;  // numbers and bools are normalised in JSON (0x.., +1, True)
    return ta == tb && a.Scalar() == b.Scalar();
  }
  if (a.IsSequence()) {
    if (!b.IsSequence() || a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!same(a[i], b[i], json)) return false;
    return true;
  }
  if (!b.IsMap() || a.size() != b.size()) return false;
  auto ia = a.begin();
  auto ib = b.begin();
  for (; ia != a.end(); ++ia, ++ib)
    if (ia->first.Scalar() != ib->first.Scalar() || !same(ia->second, ib->second, json)) return false;
  return true;
}

// Trees the emitters are meant for: scalar keys only, unique keys (aliases may repeat nodes).
bool emit_safe(const YAML::Node& n, int depth) {
  if (depth > 64) return false;
  if (n.IsSequence()) {
    for (const auto& e : n)
      if (!emit_safe(e, depth + 1)) return false;
  } else if (n.IsMap()) {
    std::vector<std::string> keys;
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return false;
      for (const auto& k : keys)
        if (k == kv.first.Scalar()) return false;
      keys.push_back(kv.first.Scalar());
      if (!emit_safe(kv.second, depth + 1)) return false;
    }
  }
  return true;
}

// True when some key, as JSON writes it (control bytes and DEL become 6-byte \u00XX escapes), is longer than 1024
// characters: valid JSON that a YAML parser cannot read back (YAML caps an implicit key at 1024
// characters, and yaml-cpp enforces it on flow mappings), so the JSON round trip is not checked.
bool long_json_key(const YAML::Node& n, int depth) {
  if (depth > 64) return true;
  if (n.IsSequence()) {
    for (const auto& e : n)
      if (long_json_key(e, depth + 1)) return true;
  } else if (n.IsMap()) {
    for (const auto& kv : n) {
      size_t len = 2;
      for (unsigned char c : kv.first.Scalar()) len += c < 0x20 || c == 0x7f ? 6 : (c == '"' || c == '\\') ? 2 : 1;
      if (len > 1000 || long_json_key(kv.second, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::text(data, size);
  YAML::Node doc;
  if (!fuzz::run([&] { doc = yaml::parse(text, "in.yaml"); }, {{ErrorKind::Invalid}, "in.yaml"})) return 0;
  fuzz::run([&] { (void)yaml::parse_all(text, "in.yaml"); }, {{ErrorKind::Invalid}, "in.yaml"});
  if (!emit_safe(doc, 0)) return 0;
  std::string y = yaml::to_yaml(doc), j = yaml::to_json(doc, false), jp = yaml::to_json(doc, true);
  YAML::Node back;
  if (!fuzz::run([&] { back = yaml::parse(y, "out.yaml"); }, {{ErrorKind::Invalid}}))
    fuzz::finding("to_yaml output does not parse:\n" + y);
  if (!same(doc, back, false)) fuzz::finding("to_yaml does not round-trip:\n" + y);
  if (long_json_key(doc, 0)) return 0;
  if (!fuzz::run([&] { back = yaml::parse(j, "out.json"); }, {{ErrorKind::Invalid}}))
    fuzz::finding("to_json output does not parse:\n" + j);
  if (!same(doc, back, true)) fuzz::finding("to_json does not round-trip:\n" + j);
  return 0;
}
