#pragma once
// Where a finding belongs in the spec: the key's own line when the spec sets it, else the
// deepest parent it does set, so that every piece of advice reads FILE:LINE:COL: key.path: ...
#include <string>

#include "fatectl/core/error.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::plan {

/// Location of `key_path` ("spark.worker.resources.requests.cpu") in the spec, or of its deepest
/// parent present; a module the spec does not configure points at its entry under `modules`;
/// otherwise line 1.
Location locate(const spec::ClusterSpec& spec, const std::string& key_path);
/// True when the spec sets `key_path`.
bool present(const spec::ClusterSpec& spec, const std::string& key_path);
/// The scalar text at `key_path`, or "".
std::string value_at(const spec::ClusterSpec& spec, const std::string& key_path);
/// True when the spec's chart generation accepts `key_path` (spec/schema), i.e. the operator can
/// set it.
bool settable(const spec::ClusterSpec& spec, const std::string& key_path);

}  // namespace fatectl::plan
