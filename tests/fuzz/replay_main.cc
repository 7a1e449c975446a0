// fatectl_fuzz_replay: runs saved fuzz inputs through the harnesses without libFuzzer, so any
// build (gcc included) replays every corpus entry and every saved crash as a regression test.
//   fatectl_fuzz_replay DIR              every target T: DIR/corpus/T/* and DIR/regressions/T/*
//   fatectl_fuzz_replay TARGET PATH...   one target, files or folders
// A finding aborts (as under libFuzzer); an input running past 60 s is reported as a hang.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

// Each harness is compiled with LLVMFuzzerTestOneInput renamed to fatectl_fuzz_<target>.
#define X(name) extern "C" int fatectl_fuzz_##name(const uint8_t*, size_t);
#include "fuzz_targets.inc"
#undef X

namespace {

using Fn = int (*)(const uint8_t*, size_t);
namespace fs = std::filesystem;

const std::map<std::string, Fn>& targets() {
  static const std::map<std::string, Fn> t = {
#define X(name) {#name, fatectl_fuzz_##name},
#include "fuzz_targets.inc"
#undef X
  };
  return t;
}

char current[4096];
constexpr unsigned kHangSeconds = 60;

void on_alarm(int) {
  static const char msg[] = "fuzz replay: input ran longer than 60 s (a hang): ";
  (void)!::write(2, msg, sizeof msg - 1);
  (void)!::write(2, current, std::strlen(current));
  (void)!::write(2, "\n", 1);
  ::_exit(1);
}

std::vector<fs::path> inputs(const fs::path& p) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_regular_file() && e.path().filename().string()[0] != '.' && e.path().filename() != "README.md")
        out.push_back(e.path());
  } else if (fs::exists(p, ec)) {
    out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int replay(const std::string& target, Fn fn, const std::vector<fs::path>& files) {
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::snprintf(current, sizeof current, "%s: %s", target.c_str(), f.c_str());
    ::alarm(kHangSeconds);
    fn(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    ::alarm(0);
  }
  return static_cast<int>(files.size());
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGALRM, on_alarm);
  if (argc == 2 && targets().count(argv[1]) == 0) {
    fs::path root = argv[1];
    int total = 0;
    for (const auto& [name, fn] : targets()) {
      int n = replay(name, fn, inputs(root / "corpus" / name));
      int r = replay(name, fn, inputs(root / "regressions" / name));
      std::printf("%-16s %4d corpus inputs, %3d regressions: ok\n", name.c_str(), n, r);
      total += n + r;
    }
    std::printf("fuzz replay: %d inputs, no findings\n", total);
    return 0;
  }
  if (argc < 3 || targets().count(argv[1]) == 0) {
    std::fprintf(stderr, "usage: fatectl_fuzz_replay DIR | TARGET PATH...\ntargets:");
    for (const auto& [name, fn] : targets()) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  int total = 0;
  for (int i = 2; i < argc; ++i) total += replay(argv[1], targets().at(argv[1]), inputs(argv[i]));
  std::printf("fuzz replay %s: %d inputs, no findings\n", argv[1], total);
  return 0;
}
