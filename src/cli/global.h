#pragma once
// Flags every fatectl command accepts, parsed once in main.cc and read by command groups.
#include <CLI/CLI.hpp>

#include <string>

#include "fatectl/core/output.h"

namespace fatectl::cli {

/// The global flags (see README "Global flags").
struct GlobalOptions {
  std::string kubeconfig;  ///< --kubeconfig (else KUBECONFIG, else ~/.kube/config)
  std::string context;     ///< --context
  std::string namespace_;  ///< -n/--namespace
  std::string request_timeout;  ///< --request-timeout ("" = 60s; see kube::Deadline)
  std::string output = "table";
  int verbosity = 0;
  bool quiet = false;
  bool no_color = false;

  output::Format format() const { return output::parse_format(output); }
};

/// Every command group adds its subcommands to the root app here. A group's callbacks
/// throw fatectl::Error; main.cc turns it into a message and an exit code.
using Register = void (*)(CLI::App& root, GlobalOptions& g);

}  // namespace fatectl::cli
