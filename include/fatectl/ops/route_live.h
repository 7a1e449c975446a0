#pragma once
// The Exchange's routes as its pods have them, against the record: each pod's mounted route
// files (read through exec) and, for Traffic Server, whether it loaded the file it has. Used by
// `exchange route list --live`, `cluster status` of an exchange, and a failed transaction that
// must say which pods run which route set.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "fatectl/ops/exchange.h"

namespace fatectl::ops {

/// The routes one mounted route file holds, key -> target:
///   traffic-server (sni.yaml):       "sni <fqdn>" -> "host:port"
///   nginx (route_table.yaml):        "nginx <party> proxy|fateflow" -> "host:http:grpc[, ...]"
///   rollsite (route_table.json):     "rollsite <party> <name>" -> "ip:port[, ...]"
/// Throws Invalid for a file that does not parse.
std::map<std::string, std::string> route_file_entries(const std::string& component, const std::string& text);
/// The party (or fqdn) an entry key is about: "10000" for "nginx 10000 proxy".
std::string route_entry_party(const std::string& key);
/// What changes from one file's entries to another's: "missing K -> T", "extra K -> T",
/// "K -> T (recorded: U)" (`recorded` = the expected side).
std::vector<std::string> route_entry_differences(const std::map<std::string, std::string>& recorded,
                                                 const std::map<std::string, std::string>& actual);

/// How one pod's routes compare with the recorded ones.
struct PodDrift {
  std::string pod;
  std::string component;  ///< traffic-server, nginx, rollsite
  bool ready = false;
  /// How the mounted route file differs from the record: "missing sni 10001.fate.org -> 10.0.0.1:30109",
  /// "extra ...", "sni 10000.fate.org -> A (recorded: B)", "cannot read ...".
  std::vector<std::string> differences;
  /// Whether what runs is the mounted file: "not reloaded since sni.yaml changed ...", "last load
  /// of sni.yaml failed: ...", "Traffic Server runs connect_ports ...", "not ready", "cannot look inside: ...".
  std::vector<std::string> state;
  bool in_sync() const { return differences.empty() && state.empty(); }
};

/// Every Exchange pod (and the route ConfigMaps) against the recorded route set.
struct LiveReport {
  std::string name, ns;
  std::vector<std::string> configmaps;  ///< differences of the ConfigMaps from the record
  std::vector<PodDrift> pods;
  bool in_sync() const;
};

/// Reads the route ConfigMaps and every pod's mounted route files, and compares them with
/// `recorded` (the record's rendered route ConfigMaps; its name and namespace select the pods).
/// Exec failures of one pod are reported as that pod's difference.
LiveReport read_live_routes(ExchangeCluster& cluster, const RouteConfigMaps& recorded, const ReloadOptions& o);

YAML::Node live_report_yaml(const LiveReport& r);
/// One line per pod: "traffic-server-7d9f (traffic-server): in sync" or its differences.
std::vector<std::string> live_report_lines(const LiveReport& r);

}  // namespace fatectl::ops
