#pragma once
// A KubeFATE cluster spec (chart fate or fate-exchange) after loading and validation.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/core/error.h"

namespace fatectl::spec {

/// Which chart generation a spec belongs to; decides keys, defaults and rendering.
enum class Generation {
  Fate16,    ///< chart fate v1.6.x: `backend`, global `imageTag`
  Fate19,    ///< chart fate v1.9–v1.11: computing/federation/storage/algorithm/device
  Fate20,    ///< chart fate v2.0.x: `osx`
  Exchange,  ///< chart fate-exchange: trafficServer, nginx, rollsite
};

/// A validated spec: the original YAML tree (values read by render/ with chart defaults)
/// plus the fields every layer needs.
struct ClusterSpec {
  std::string file;           ///< path it was read from (for messages)
  YAML::Node root;            ///< the document as written (marks kept for line numbers)
  Generation generation = Generation::Fate19;
  std::string name;           ///< release name (`name`)
  std::string namespace_;     ///< `namespace`
  std::string chart_name;     ///< `chartName`
  std::string chart_version;  ///< `chartVersion`, e.g. "v1.11.2"
  long party_id = 0;          ///< `partyId`
  std::vector<std::string> modules;
  std::vector<std::string> warnings;  ///< non-fatal findings (e.g. --lenient unknown keys)

  // Engine layout (fate chart). For v1.6 specs these are derived from `backend`
  // (eggroll -> Eggroll/Eggroll/Eggroll; spark -> Spark/<Pulsar|RabbitMQ by module>/HDFS).
  std::string backend;     ///< v1.6 `backend` as written (default "eggroll"); "" otherwise
  std::string computing;   ///< Eggroll | Spark | Spark_local ("" for the exchange)
  std::string federation;  ///< Eggroll | OSX | Pulsar | RabbitMQ
  std::string storage;     ///< Eggroll | HDFS | LocalFS | Hive
  std::string algorithm;   ///< Basic | NN | ALL ("" = chart default)
  std::string device;      ///< CPU | IPCL | GPU ("" = chart default)
  std::vector<std::string> skipped_keys;  ///< `skippedKeys`

  bool has_module(const std::string& m) const;
  bool is_exchange() const { return generation == Generation::Exchange; }
};

/// One finding, printed as "FILE:LINE:COL: key.path: message".
struct Diagnostic {
  Location where;
  std::string key_path;  ///< e.g. "rollsite.partyList[0].partyPort"; "" for the whole file
  std::string message;
  std::string str() const;
  /// {file, line, column, key, message} for -o json|yaml.
  YAML::Node to_yaml() const;
};

/// Everything validation found; `spec` is filled as far as the input allowed.
struct Report {
  ClusterSpec spec;
  std::vector<Diagnostic> errors;    ///< sorted by position
  std::vector<Diagnostic> warnings;  ///< sorted by position
  bool ok() const { return errors.empty(); }
};

/// "fate v1.6.x" style label of a generation.
std::string generation_name(Generation g);

/// Options for loading.
struct LoadOptions {
  bool lenient = false;  ///< unknown keys become warnings instead of errors
};

/// Reads, parses and validates a spec file ("-" = stdin). Throws ErrorKind::Invalid with
/// "FILE:LINE:COL: key.path: message" on the first error.
ClusterSpec load(const std::string& path, const LoadOptions& opts = {});
/// Same, from text already in memory (`name` is used in messages).
ClusterSpec parse(const std::string& text, const std::string& name, const LoadOptions& opts = {});

/// Validates without throwing: every error and warning, each with its location. Never
/// crashes on any input (binary, truncated, deeply nested, huge alias fan-out).
Report check(const std::string& text, const std::string& name, const LoadOptions& opts = {});
/// check() on a file ("-" = stdin); an unreadable file is reported as an error.
Report check_file(const std::string& path, const LoadOptions& opts = {});

}  // namespace fatectl::spec
