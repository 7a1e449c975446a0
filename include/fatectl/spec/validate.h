#pragma once
// The two validation passes over a parsed spec: the key tree (unknown keys, types, required
// keys, value ranges) and the rules across keys (engine matrix, modules, route tables, ports).
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/spec/cluster_spec.h"
#include "fatectl/spec/schema.h"

namespace fatectl::spec {

/// State of one walk over a spec tree.
struct WalkContext {
  std::string file;
  unsigned gen = 0;                  ///< schema::Gen bit of the spec's generation
  bool lenient = false;              ///< unknown keys are warnings
  std::vector<std::string> skipped;  ///< `skippedKeys`: unknown keys with these names are allowed
  Report* report = nullptr;
  size_t visits = 0;  ///< nodes visited (aliases can fan out; capped)
};

/// Checks `node` against `shape`; `path` is its key path ("" for the root).
void check_shape(const YAML::Node& node, const schema::Shape& shape, const std::string& path, WalkContext& ctx);

/// Cross-key rules; `report.spec` must already hold name, chart, generation and modules.
void check_rules(Report& report, const LoadOptions& opts);

/// Location of a node in `file`.
Location where(const YAML::Node& n, const std::string& file);

/// Integer value of a scalar written as a plain integer or a quoted run of digits.
bool as_integer(const YAML::Node& n, long long& out);

/// Host name, IPv4 or IPv6 address (no port, no scheme). Returns "" if fine, else why not.
std::string host_problem(const std::string& h);
/// "host:port" syntax. Returns "" if fine, else why not.
std::string host_port_problem(const std::string& hp);
/// A key of resources.requests/limits: cpu, memory, ephemeral-storage, hugepages-<size> or a
/// domain-prefixed extended resource (nvidia.com/gpu). Returns "" if fine, else why not (with
/// the nearest standard name when it looks like a typo or a truncation).
std::string resource_name_problem(const std::string& key);

}  // namespace fatectl::spec
