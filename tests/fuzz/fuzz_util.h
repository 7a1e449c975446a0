#pragma once
// Shared by the fuzz harnesses (tests/fuzz/<target>.cc): what counts as a finding.
//
// A parser meets hostile input by throwing fatectl::Error of the kind its caller maps to the
// documented exit code (Invalid = exit 2 for files, Failed for a peer's malformed message).
// Anything else escaping it — a library exception (YAML::Exception, std::length_error,
// std::out_of_range from stoi, bad_alloc), an Error of the wrong kind, or a message that is not
// one line naming the input — is a finding: the harness aborts so libFuzzer saves the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "fatectl/core/error.h"

namespace fatectl::fuzz {

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

inline const char* kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::Failed: return "Failed";
    case ErrorKind::Invalid: return "Invalid";
    case ErrorKind::Unreachable: return "Unreachable";
    case ErrorKind::Timeout: return "Timeout";
  }
  return "?";
}

/// What a refusal must look like.
struct Expect {
  std::vector<ErrorKind> kinds{ErrorKind::Invalid};
  std::string prefix;  ///< the message starts with this (the file name); "" = not checked
  Expect() = default;
  Expect(std::initializer_list<ErrorKind> k, std::string p = "") : kinds(k), prefix(std::move(p)) {}
};

/// Runs `f`; returns true when it returned normally, false when it refused the input the
/// documented way. Any other outcome aborts (a finding).
template <class F>
bool run(F&& f, const Expect& e = {}) {
  try {
    f();
    return true;
  } catch (const Error& err) {
    bool kind_ok = false;
    for (ErrorKind k : e.kinds) kind_ok = kind_ok || k == err.kind();
    std::string msg = err.what();
    if (!kind_ok) finding(std::string("error of kind ") + kind_name(err.kind()) + ": " + msg);
    if (msg.find('\n') != std::string::npos) finding("error message is not one line: " + msg);
    if (msg.size() > 4096) finding("error message of " + std::to_string(msg.size()) + " bytes (echoes a whole value?): " + msg.substr(0, 300));
    if (!e.prefix.empty() && msg.rfind(e.prefix, 0) != 0)
      finding("error message does not start with '" + e.prefix + "': " + msg);
    return false;
  } catch (const std::exception& ex) {
    finding(std::string("library exception escaped (") + typeid(ex).name() + "): " + ex.what());
  } catch (...) {
    finding("unknown exception escaped");
  }
}

inline std::string_view text(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

}  // namespace fatectl::fuzz
