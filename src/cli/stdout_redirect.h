#pragma once
// For `-o json|yaml` on commands whose work prints progress on stdout (parties' output, epoch
// lines): while alive, stdout goes to stderr, so stdout carries only the one document printed
// afterwards.
#include <unistd.h>

#include <cstdio>

namespace fatectl::cli {

/// Sends stdout to stderr while alive (when `on`).
struct StdoutToStderr {
  int saved = -1;
  explicit StdoutToStderr(bool on) {
    if (!on) return;
    std::fflush(stdout);
    saved = ::dup(1);
    ::dup2(2, 1);
  }
  ~StdoutToStderr() {
    if (saved < 0) return;
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
  }
  StdoutToStderr(const StdoutToStderr&) = delete;
  StdoutToStderr& operator=(const StdoutToStderr&) = delete;
};

}  // namespace fatectl::cli
