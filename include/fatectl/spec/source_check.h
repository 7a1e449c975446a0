#pragma once
// Checks on the raw text of a spec, before a YAML tree is built: encoding (binary garbage,
// invalid UTF-8), tabs in indentation, YAML syntax (with the key path where parsing broke),
// duplicate keys (yaml-cpp 0.7 silently keeps one), nesting depth and document count.
#include <string>
#include <vector>

#include "fatectl/spec/cluster_spec.h"

namespace fatectl::spec {

/// Limits that keep hostile input cheap.
inline constexpr int kMaxNesting = 64;        ///< containers inside containers
inline constexpr int kMaxAliases = 1000;      ///< `*alias` uses per document
inline constexpr size_t kMaxSpecBytes = 16u << 20;  ///< 16 MiB
inline constexpr size_t kMaxValueBytes = 1u << 20;  ///< 1 MiB: the longest key or value (docs/limits.md)

/// What the raw-text scan learnt besides errors.
struct SourceFacts {
  bool empty = false;      ///< no document, or only comments/whitespace/null
  bool parse_ok = false;   ///< the YAML parser accepted the whole text
};

/// Appends every problem found to `errors`. The text is safe to hand to YAML::Load only when
/// the returned facts say parse_ok and no error was added.
SourceFacts check_source(const std::string& text, const std::string& file, std::vector<Diagnostic>& errors);

/// Best-effort key path of the key written on 1-based `line`, from indentation alone
/// (for messages about lines the YAML parser cannot read).
std::string indent_path(const std::string& text, int line);

}  // namespace fatectl::spec
