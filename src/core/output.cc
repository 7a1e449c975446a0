#include "fatectl/core/output.h"

#include <algorithm>
#include <cstdio>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::output {

Format parse_format(const std::string& s) {
  if (s == "table" || s == "wide" || s.empty()) return Format::Table;
  if (s == "yaml") return Format::Yaml;
  if (s == "json") return Format::Json;
  throw invalid("--output: unknown format '" + s + "' (use table, yaml or json)");
}

std::string Table::render() const {
  std::vector<size_t> w(headers.size(), 0);
  for (size_t i = 0; i < headers.size(); ++i) w[i] = headers[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool upper) {
    std::string l;
    for (size_t i = 0; i < w.size(); ++i) {
      std::string c = i < cells.size() ? cells[i] : "";
      if (upper) std::transform(c.begin(), c.end(), c.begin(), ::toupper);
      l += c;
      if (i + 1 < w.size()) l += std::string(w[i] - c.size() + 3, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers, true);
  for (const auto& r : rows) line(r, false);
  return out;
}

void print(Format f, const YAML::Node& data, const Table& table) {
  std::string s;
  switch (f) {
    case Format::Table: s = table.render(); break;
    case Format::Yaml: s = yaml::to_yaml(data); break;
    case Format::Json: s = yaml::to_json(data); break;
  }
  std::fwrite(s.data(), 1, s.size(), stdout);
}

void print(Format f, const YAML::Node& data) {
  std::string s = f == Format::Json ? yaml::to_json(data) : yaml::to_yaml(data);
  std::fwrite(s.data(), 1, s.size(), stdout);
}

}  // namespace fatectl::output
