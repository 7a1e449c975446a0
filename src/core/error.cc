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

Error invalid_at(const Location& where, const std::string& key_path, const std::string& message) {
  std::string m = where.str() + ": ";
  if (!key_path.empty()) m += key_path + ": ";
  return Error(ErrorKind::Invalid, m + message);
}

}  // namespace fatectl
