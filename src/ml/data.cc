#include "fatectl/ml/data.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "fatectl/core/error.h"

namespace fatectl::ml {
namespace {

std::vector<std::string_view> split_csv_line(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      cells.push_back(line.substr(start));
      break;
    }
    cells.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
  for (auto& c : cells) {
    while (!c.empty() && (c.front() == ' ' || c.front() == '\t')) c.remove_prefix(1);
    while (!c.empty() && (c.back() == ' ' || c.back() == '\t' || c.back() == '\r')) c.remove_suffix(1);
    if (c.size() >= 2 && c.front() == '"' && c.back() == '"') c = c.substr(1, c.size() - 2);
  }
  return cells;
}

Error bad(const std::string& file, int line, int col, const std::string& column, const std::string& msg) {
  return invalid_at(Location{file, line, col}, column, msg);
}

/// Whether a cell is one of the missing-value texts (compared without case).
bool is_marker(std::string_view cell, const std::vector<std::string>& markers) {
  for (const auto& m : markers) {
    if (m.size() != cell.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < m.size() && eq; ++i) eq = std::tolower(static_cast<unsigned char>(cell[i])) == m[i];
    if (eq) return true;
  }
  return false;
}

}  // namespace

Dataset Dataset::select(const std::vector<size_t>& order) const {
  Dataset d;
  d.file = file;
  d.feature_names = feature_names;
  d.generated_ids = generated_ids;
  d.ids.reserve(order.size());
  d.x.reserve(order.size() * cols());
  for (size_t i : order) {
    d.ids.push_back(ids[i]);
    if (has_labels()) d.labels.push_back(labels[i]);
    if (!weights.empty()) d.weights.push_back(weights[i]);
    d.x.insert(d.x.end(), row(i), row(i) + cols());
  }
  return d;
}

Dataset load_csv(const DataSpec& spec) {
  std::ifstream in(spec.path, std::ios::binary);
  if (!in) throw invalid(spec.path + ": cannot open data file (check the path in the job file)");
  return load_csv(spec, in);
}

Dataset load_csv(const DataSpec& spec, std::istream& in) {
  const std::string& file = spec.path;
  std::string line;
  int lineno = 0;
  // One row at a time, never more than kMaxCsvRowBytes (a file without newlines is refused
  // at the cap, not read whole).
  auto next_line = [&]() -> bool {
    line.clear();
    std::streambuf* sb = in.rdbuf();
    for (;;) {
      int c = sb->sbumpc();
      if (c == std::char_traits<char>::eof()) return !line.empty();
      if (c == '\n') return true;
      if (line.size() >= kMaxCsvRowBytes)
        throw bad(file, lineno + 1, 0, "", "row is longer than " + std::to_string(kMaxCsvRowBytes >> 20) +
                                               " MiB (the limit of a CSV row; see docs/limits.md)");
      line.push_back(static_cast<char>(c));
    }
  };
  // Header (skip a UTF-8 byte-order mark).
  if (!next_line()) throw bad(file, 1, 0, "", "empty file: expected a header line such as 'id,y,x0,x1'");
  lineno = 1;
  if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  auto header = split_csv_line(line);
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name(header[i]);
    if (name.empty()) throw bad(file, 1, static_cast<int>(i + 1), "", "empty column name in the header");
    if (!index.emplace(name, static_cast<int>(i)).second)
      throw bad(file, 1, static_cast<int>(i + 1), name, "duplicate column name in the header");
  }
  auto find_col = [&](const std::string& name, const std::string& what) -> int {
    auto it = index.find(name);
    if (it == index.end()) {
      std::string have;
      for (size_t i = 0; i < header.size() && i < 8; ++i) have += (i ? "," : "") + std::string(header[i]);
      if (header.size() > 8) have += ",...";
      throw bad(file, 1, 0, name, "no " + what + " column '" + name + "' in the header (columns: " + have + ")");
    }
    return it->second;
  };
  int id_col = spec.row_ids && !index.count(spec.id_column) ? -1 : find_col(spec.id_column, "id");
  int label_col = spec.with_label ? find_col(spec.label_column, "label") : -1;
  int weight_col = spec.weight_column.empty()                                 ? -1
                   : spec.weight_required || index.count(spec.weight_column) ? find_col(spec.weight_column, "sample weight")
                                                                             : -1;
  std::vector<int> feat_cols;
  Dataset d;
  d.file = file;
  d.generated_ids = id_col < 0;
  if (!spec.features.empty()) {
    for (const auto& f : spec.features) {
      int c = find_col(f, "feature");
      if (c == id_col || c == label_col || c == weight_col)
        throw bad(file, 1, c + 1, f, "listed as a feature but it is the id, label or weight column");
      feat_cols.push_back(c);
      d.feature_names.push_back(f);
    }
  } else {
    for (size_t i = 0; i < header.size(); ++i) {
      if (static_cast<int>(i) == id_col || static_cast<int>(i) == label_col || static_cast<int>(i) == weight_col) continue;
      feat_cols.push_back(static_cast<int>(i));
      d.feature_names.emplace_back(header[i]);
    }
  }
  if (feat_cols.empty()) throw bad(file, 1, 0, "", "no feature columns (only id/label)");
  std::unordered_set<std::string> seen;
  std::vector<double> rowbuf(feat_cols.size());
  while (next_line()) {
    if (lineno == std::numeric_limits<int>::max()) throw bad(file, lineno, 0, "", "too many rows");
    ++lineno;
    if (line.empty() || line == "\r") continue;
    auto cells = split_csv_line(line);
    if (cells.size() != header.size())
      throw bad(file, lineno, 0, "", "row has " + std::to_string(cells.size()) + " cells, the header has " +
                                         std::to_string(header.size()));
    std::string id = id_col < 0 ? std::to_string(d.ids.size()) : std::string(cells[id_col]);
    if (id.empty()) throw bad(file, lineno, id_col + 1, spec.id_column, "empty id");
    if (id_col >= 0 && !seen.insert(id).second)
      throw bad(file, lineno, id_col + 1, spec.id_column, "duplicate id '" + id + "'");
    auto number = [&](int c, const std::string& name, bool may_miss) {
      std::string_view s = cells[c];
      if (may_miss && is_marker(s, spec.missing_values) && spec.missing_ok && spec.missing_ok(name))
        return std::numeric_limits<double>::quiet_NaN();
      if (s.empty())
        throw bad(file, lineno, c + 1, name,
                  may_miss ? "empty cell (fill missing values before training: data_transform.missing_fill_method)"
                           : "empty cell");
      double v = 0;
      const char* b = s.data();
      if (*b == '+') ++b;
      auto r = std::from_chars(b, s.data() + s.size(), v);
      if (r.ec != std::errc() || r.ptr != s.data() + s.size())
        throw bad(file, lineno, c + 1, name, "not a number: '" + std::string(s.substr(0, 40)) + "'");
      if (!std::isfinite(v)) throw bad(file, lineno, c + 1, name, "not a finite number: '" + std::string(s) + "'");
      return v;
    };
    if (spec.with_label) {
      double y = number(label_col, spec.label_column, false);
      if (y != 0 && y != 1 && y != -1)
        throw bad(file, lineno, label_col + 1, spec.label_column,
                  "label must be 0 or 1 (or -1/1) for binary logistic regression, got '" + std::string(cells[label_col]) + "'");
      d.labels.push_back(y == 1 ? 1.0 : 0.0);
    }
    if (weight_col >= 0 && spec.weight_required) {
      double wv = number(weight_col, spec.weight_column, false);
      if (wv < 0) throw bad(file, lineno, weight_col + 1, spec.weight_column, "negative sample weight");
      d.weights.push_back(wv);
    }
    for (size_t k = 0; k < feat_cols.size(); ++k) rowbuf[k] = number(feat_cols[k], d.feature_names[k], true);
    d.ids.push_back(std::move(id));
    d.x.insert(d.x.end(), rowbuf.begin(), rowbuf.end());
  }
  if (d.ids.empty()) throw bad(file, lineno, 0, "", "no data rows after the header");
  return d;
}

std::vector<size_t> sorted_order(const std::vector<std::string>& ids) {
  std::vector<size_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  return order;
}

}  // namespace fatectl::ml
