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

  bool has_module(const std::string& m) const;
};

/// Options for loading.
struct LoadOptions {
  bool lenient = false;  ///< unknown keys become warnings instead of errors
};

/// Reads, parses and validates a spec file ("-" = stdin). Throws ErrorKind::Invalid with
/// "FILE:LINE:COL: key.path: message" on the first error.
ClusterSpec load(const std::string& path, const LoadOptions& opts = {});
/// Same, from text already in memory (`name` is used in messages).
ClusterSpec parse(const std::string& text, const std::string& name, const LoadOptions& opts = {});

}  // namespace fatectl::spec
