#pragma once
// The -o/--output formats every command honours: a human table, YAML or JSON.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace fatectl::output {

enum class Format { Table, Yaml, Json };

/// Parses "table" | "yaml" | "json" (throws Invalid otherwise).
Format parse_format(const std::string& s);

/// A plain text table: upper-case headers, columns padded to their widest cell.
struct Table {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
  std::string render() const;
};

/// Prints `data` as YAML or JSON, or `table` when the format is Table.
void print(Format f, const YAML::Node& data, const Table& table);
/// Prints `data` as YAML or JSON; for Table prints YAML.
void print(Format f, const YAML::Node& data);

}  // namespace fatectl::output
