#include "fatectl/core/log.h"

#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <vector>

namespace fatectl::log {
namespace {
std::mutex mu;
std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}
std::string last_progress;
bool progress_open = false;
}  // namespace

Settings& settings() {
  static Settings s;
  return s;
}

void add_secret(std::string_view secret) {
  if (secret.size() < 4) return;  // too short to redact without mangling ordinary text
  std::lock_guard<std::mutex> l(mu);
  secrets().emplace_back(secret);
}

void clear_secrets() {
  std::lock_guard<std::mutex> l(mu);
  secrets().clear();
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard<std::mutex> l(mu);
  for (const auto& s : secrets()) {
    for (size_t pos = out.find(s); pos != std::string::npos; pos = out.find(s, pos + 3))
      out.replace(pos, s.size(), "***");
  }
  return out;
}

bool stderr_is_terminal() { return isatty(2) == 1; }

void write(int level, std::string_view prefix, std::string_view message) {
  const Settings& s = settings();
  if (level >= 0 && s.quiet) return;
  if (level > s.verbosity) return;
  std::string line = redact(message);
  std::lock_guard<std::mutex> l(mu);
  if (progress_open && stderr_is_terminal()) { std::fputs("\r\033[K", stderr); progress_open = false; }
  if (!prefix.empty()) {
    bool colour = s.color && stderr_is_terminal();
    const char* c = level < 0 ? "\033[31m" : level == 0 ? "\033[33m" : "\033[2m";
    if (colour) std::fprintf(stderr, "%s%.*s:\033[0m ", c, (int)prefix.size(), prefix.data());
    else std::fprintf(stderr, "%.*s: ", (int)prefix.size(), prefix.data());
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

void progress(std::string_view line) {
  if (settings().quiet) return;
  std::string text = redact(line);
  std::lock_guard<std::mutex> l(mu);
  if (stderr_is_terminal()) {
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
    std::fflush(stderr);
    progress_open = true;
  } else if (text != last_progress) {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  last_progress = text;
}

void progress_done() {
  std::lock_guard<std::mutex> l(mu);
  if (progress_open) std::fputs("\n", stderr);
  progress_open = false;
  last_progress.clear();
}

}  // namespace fatectl::log
