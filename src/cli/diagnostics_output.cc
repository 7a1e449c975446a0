#include "diagnostics_output.h"

#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/error.h"

namespace fatectl::cli {

void print_diagnostics_document(output::Format f, YAML::Node doc, const std::vector<spec::Diagnostic>& errors,
                                const std::vector<spec::Diagnostic>& warnings) {
  doc["errors"] = YAML::Node(YAML::NodeType::Sequence);
  doc["warnings"] = YAML::Node(YAML::NodeType::Sequence);
  for (const auto& d : errors) doc["errors"].push_back(d.to_yaml());
  for (const auto& d : warnings) doc["warnings"].push_back(d.to_yaml());
  output::print(f, doc);
  for (const auto& d : errors) log::error("{}", d.str());
  if (!errors.empty()) throw ExitCode{2};
}

void log_diagnostics(const std::string& file, const std::vector<spec::Diagnostic>& errors,
                     const std::vector<spec::Diagnostic>& warnings) {
  for (const auto& d : warnings) log::warn("{}", d.str());
  if (errors.empty()) return;
  for (const auto& d : errors) log::error("{}", d.str());
  if (errors.size() > 1) log::error("{}: {} errors", file, errors.size());
  throw ExitCode{2};
}

}  // namespace fatectl::cli
