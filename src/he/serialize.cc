// Ciphertext vectors as bytes: versioned, length-checked, bound to the key's fingerprint.
#include <cstring>

#include "fatectl/core/error.h"
#include "he/detail.h"

namespace fatectl::he {

namespace {
constexpr char kMagic[4] = {'F', 'C', 'P', 'V'};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeader = 4 + 1 + 3 + 8 + 4 + 8;

void put_be(std::string& s, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_be(std::string_view s, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}
std::string fp_bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}
}  // namespace

std::string serialize_ciphertexts(const PublicKey& pk, std::span<const Ciphertext> cs) {
  const PublicKeyData& d = pk.data();
  std::string out;
  out.reserve(kHeader + cs.size() * d.ct_bytes);
  out.append(kMagic, 4);
  out.push_back(static_cast<char>(kVersion));
  out.append(3, '\0');
  out += fp_bytes(d.fingerprint);
  put_be(out, d.ct_bytes, 4);
  put_be(out, cs.size(), 8);
  size_t base = out.size();
  out.resize(base + cs.size() * d.ct_bytes, '\0');
  for (size_t i = 0; i < cs.size(); ++i) {
    mpz_srcptr c = cs[i].c.get();
    if (mpz_sgn(c) <= 0 || mpz_cmp(c, d.n2.get()) >= 0)
      throw failed("serialize: ciphertext " + std::to_string(i) + " is out of range for this key");
    size_t need = (mpz_sizeinbase(c, 2) + 7) / 8;
    size_t count = 0;
    mpz_export(out.data() + base + (i + 1) * d.ct_bytes - need, &count, 1, 1, 1, 0, c);
  }
  return out;
}

std::vector<Ciphertext> parse_ciphertexts(const PublicKey& pk, std::string_view b) {
  const PublicKeyData& d = pk.data();
  if (b.size() < kHeader) throw invalid("ciphertext vector: truncated header (" + std::to_string(b.size()) + " bytes)");
  if (std::memcmp(b.data(), kMagic, 4) != 0) throw invalid("ciphertext vector: bad magic (not a fatectl ciphertext vector)");
  if (static_cast<uint8_t>(b[4]) != kVersion)
    throw invalid("ciphertext vector: unsupported version " + std::to_string(static_cast<uint8_t>(b[4])));
  if (b[5] || b[6] || b[7]) throw invalid("ciphertext vector: reserved bytes are not zero");
  if (b.substr(8, 8) != fp_bytes(d.fingerprint))
    throw invalid("ciphertext vector: encrypted under another key (fingerprint mismatch)");
  uint64_t width = get_be(b, 16, 4), count = get_be(b, 20, 8);
  if (width != d.ct_bytes)
    throw invalid("ciphertext vector: element width " + std::to_string(width) + " does not match the key (" +
                  std::to_string(d.ct_bytes) + ")");
  uint64_t body = b.size() - kHeader;
  if (count > body / width || count * width != body)
    throw invalid("ciphertext vector: length " + std::to_string(b.size()) + " does not match " + std::to_string(count) +
                  " elements of " + std::to_string(width) + " bytes");
  std::vector<Ciphertext> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    mpz_ptr c = out[i].c.get();
    mpz_import(c, width, 1, 1, 1, 0, b.data() + kHeader + i * width);
    if (mpz_sgn(c) <= 0 || mpz_cmp(c, d.n2.get()) >= 0)
      throw invalid("ciphertext vector: element " + std::to_string(i) + " is out of range (0, n²)");
  }
  return out;
}

}  // namespace fatectl::he
