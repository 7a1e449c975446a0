// fatectl version: binary version, git commit, chart versions supported.
#include <cstdio>

#include "commands.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/version.h"

namespace fatectl::cli {

namespace {
// Chart generations whose specs fatectl reads and renders.
const char* kCharts[][2] = {
    {"fate", "v1.6.0 v1.6.1 (backend, imageTag)"},
    {"fate", "v1.9.0 … v1.11.4 (computing/federation/storage)"},
    {"fate", "v2.0.0 (osx)"},
    {"fate-exchange", "v1.6.1 … v1.11.2 (trafficServer, nginx, rollsite)"},
};
}  // namespace

void add_version_command(CLI::App& root, GlobalOptions& g) {
  auto* cmd = root.add_subcommand("version", "Print fatectl's version, git commit and the chart versions it supports");
  cmd->callback([&g] {
    YAML::Node n;
    n["version"] = yaml::str(kVersion);
    n["gitCommit"] = yaml::str(kGitCommit);
    for (auto& c : kCharts) {
      YAML::Node e;
      e["chart"] = c[0];
      e["versions"] = c[1];
      n["charts"].push_back(e);
    }
    if (g.format() == output::Format::Table) {
      std::printf("fatectl %s (commit %s)\nsupported charts:\n", kVersion, kGitCommit);
      for (auto& c : kCharts) std::printf("  %-14s %s\n", c[0], c[1]);
      return;
    }
    output::print(g.format(), n);
  });
}

}  // namespace fatectl::cli
