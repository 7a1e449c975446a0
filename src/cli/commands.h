#pragma once
// One registration function per command group (one .cc file each under src/cli/).
#include "global.h"

namespace fatectl::cli {

void add_version_command(CLI::App& root, GlobalOptions& g);     // version.cc
void add_completion_command(CLI::App& root, GlobalOptions& g);  // completion.cc
// -- command groups: add one declaration line per group above this marker --

}  // namespace fatectl::cli
