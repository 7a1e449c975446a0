#pragma once
// Helpers for the federation room's unit tests: a temporary folder holding a federation file and
// the spec files it names.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fatectl::federation::test {

/// A temporary folder removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "fed-unit.XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    path = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string f = path + "/" + name;
    std::ofstream(f) << text;
    return f;
  }
};

/// A Pulsar federation of the Exchange and parties 9999 and 10000 (defaults).
inline const char* kPulsarFed = R"(federation: t1
domain: fate.org
engine: Pulsar
exchange:
  context: a
parties:
  - id: 9999
    context: b
  - id: 10000
    context: c
)";

}  // namespace fatectl::federation::test
