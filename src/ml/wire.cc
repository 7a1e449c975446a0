#include "fatectl/ml/wire.h"

#include <cstring>

#include "fatectl/core/error.h"

namespace fatectl::ml {

WireWriter& WireWriter::u64(uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  buf_.append(b, 8);
  return *this;
}
WireWriter& WireWriter::f64(double v) {
  uint64_t u;
  std::memcpy(&u, &v, 8);
  return u64(u);
}
WireWriter& WireWriter::str(std::string_view s) {
  u64(s.size());
  buf_.append(s.data(), s.size());
  return *this;
}
WireWriter& WireWriter::f64s(const std::vector<double>& v) {
  u64(v.size());
  for (double x : v) f64(x);
  return *this;
}
WireWriter& WireWriter::u64s(const std::vector<uint64_t>& v) {
  u64(v.size());
  for (uint64_t x : v) u64(x);
  return *this;
}

void WireReader::need(size_t n) const {
  if (d_.size() - pos_ < n) throw failed("malformed message '" + what_ + "': truncated");
}
void WireReader::need_items(uint64_t count, size_t width) const {
  // A declared count is checked against the bytes present (count * width could wrap) before
  // anything is allocated for it.
  if (count > (d_.size() - pos_) / width) throw failed("malformed message '" + what_ + "': truncated");
}

uint64_t WireReader::u64() {
  need(8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(d_[pos_ + i])) << (8 * i);
  pos_ += 8;
  return v;
}
double WireReader::f64() {
  uint64_t u = u64();
  double v;
  std::memcpy(&v, &u, 8);
  return v;
}
std::string WireReader::str() {
  uint64_t n = u64();
  need(n);
  std::string s(d_.substr(pos_, n));
  pos_ += n;
  return s;
}
std::vector<double> WireReader::f64s() {
  uint64_t n = u64();
  need_items(n, 8);
  std::vector<double> v(n);
  for (auto& x : v) x = f64();
  return v;
}
std::vector<uint64_t> WireReader::u64s() {
  uint64_t n = u64();
  need_items(n, 8);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = u64();
  return v;
}
void WireReader::done() const {
  if (pos_ != d_.size()) throw failed("malformed message '" + what_ + "': trailing bytes");
}

}  // namespace fatectl::ml
