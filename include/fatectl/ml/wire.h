#pragma once
// The trainer's message payloads: a small length-checked binary encoding of integers, doubles,
// strings and byte blobs (ciphertext vectors are he::serialize_ciphertexts blobs inside).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fatectl::ml {

/// Appends fields to a payload (little-endian, lengths as u64).
class WireWriter {
 public:
  WireWriter& u64(uint64_t v);
  WireWriter& i64(int64_t v) { return u64(static_cast<uint64_t>(v)); }
  WireWriter& f64(double v);
  WireWriter& str(std::string_view s);
  WireWriter& f64s(const std::vector<double>& v);
  WireWriter& u64s(const std::vector<uint64_t>& v);
  std::string take() { return std::move(buf_); }

 private:
  std::string buf_;
};

/// Reads fields back in the same order; a short or malformed payload throws Failed naming `what`.
class WireReader {
 public:
  WireReader(std::string data, std::string what) : d_(std::move(data)), what_(std::move(what)) {}
  uint64_t u64();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  double f64();
  std::string str();
  std::vector<double> f64s();
  std::vector<uint64_t> u64s();
  void done() const;  ///< throws if bytes are left over

 private:
  void need(size_t n) const;
  void need_items(uint64_t count, size_t width) const;
  std::string d_;  // owned: readers are often built from a message returned by value
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace fatectl::ml
