#pragma once
// Flags of every command that changes the Exchange's routes through the route transaction
// (exchange route add/remove/reload, cluster upgrade/rollback/uninstall of an exchange).
#include <CLI/CLI.hpp>

#include <string>

#include "fatectl/ops/exchange.h"
#include "global.h"

namespace fatectl::cli {

/// How to reload and verify the Exchange's pods.
struct ExchangeReloadFlags {
  std::string timeout = "3m";
  std::string poll = "2s";
  std::string traffic_ctl = ops::kDefaultTrafficCtl;
  bool no_restart_nginx = false;
  bool no_restart_traffic_server = false;
  bool restart_traffic_server = false;  ///< accepted for old scripts; restarting is the default

  /// The options for kubeconfig/context/namespace from the global flags.
  ops::ReloadOptions options(const GlobalOptions& g) const;
};

/// Adds --timeout/--poll/--traffic-ctl (and, for changes, the restart flags) to a command.
/// `prefix` names them for commands that have their own --timeout ("reload-" -> --reload-timeout).
void add_reload_flags(CLI::App* c, ExchangeReloadFlags& f, bool changes, const std::string& prefix = "");

}  // namespace fatectl::cli
