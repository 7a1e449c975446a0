#include "fatectl/core/error.h"

namespace fatectl {

std::string Location::str() const {
  std::string s = file.empty() ? "<input>" : file;
  if (line > 0) {
    s += ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
  }
  return s;
}

std::string one_line(std::string_view text, size_t max) {
  std::string m(text.substr(0, max));
  for (char& c : m)
    if (c == '\n' || c == '\r') c = ' ';
  if (text.size() > max) m.replace(m.size() >= 3 ? m.size() - 3 : 0, 3, "...");
  return m;
}

// A key path from a hostile file may be megabytes long: it is cut after 120 bytes.
Error invalid_at(const Location& where, const std::string& key_path, const std::string& message) {
  std::string m = where.str() + ": ";
  if (!key_path.empty()) m += one_line(key_path, 120) + ": ";
  return Error(ErrorKind::Invalid, m + message);
}

}  // namespace fatectl
