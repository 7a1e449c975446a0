#pragma once
// How `cluster validate` and `federation validate` report what validation found: the same
// errors/warnings lists under -o json|yaml, and the same FILE:LINE:COL lines and exit 2 otherwise.
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "fatectl/spec/cluster_spec.h"
#include "global.h"

namespace fatectl::cli {

/// -o json|yaml: adds "errors" and "warnings" to `doc`, prints it, logs each error line, and
/// ends with exit 2 when there are errors.
void print_diagnostics_document(output::Format f, YAML::Node doc, const std::vector<spec::Diagnostic>& errors,
                                const std::vector<spec::Diagnostic>& warnings);
/// Table output: logs each warning; with errors, logs each (and their count when several, naming
/// `file`) and ends with exit 2. Returns when there is no error.
void log_diagnostics(const std::string& file, const std::vector<spec::Diagnostic>& errors,
                     const std::vector<spec::Diagnostic>& warnings);

}  // namespace fatectl::cli
