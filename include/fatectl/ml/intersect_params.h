#pragma once
// How a hetero job aligns the parties' ids (docs/psi.md): the algorithm.params keys
// intersect_method, min_intersect_rows, min_intersect_ratio and allow_host_label_column.
#include <yaml-cpp/yaml.h>

#include <string>

namespace fatectl::ml {

/// Id-alignment settings of a hetero job.
struct IntersectParams {
  std::string method = "ecdh";         ///< ecdh (private, default) | raw (reveals the host's ids)
  long min_rows = 0;                   ///< fewer common rows than this fail the job (exit 2)
  double min_ratio = 0;                ///< common rows / guest rows below this fail the job
  bool allow_host_label_column = false;  ///< a host column named like the label is a real feature

  /// Reads the keys above from `algorithm.params` (null → defaults); errors are FILE:LINE:COL.
  static IntersectParams parse(const YAML::Node& params, const std::string& file);
};

}  // namespace fatectl::ml
