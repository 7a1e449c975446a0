#pragma once
// Training data: CSV files with a header, an id column, an optional label column and numeric
// features; strict validation (every problem names file, row and column) and id alignment.
#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

namespace fatectl::ml {

/// Which columns of a CSV file mean what.
struct DataSpec {
  std::string path;
  std::string id_column = "id";
  std::string label_column = "y";    ///< used only when with_label
  bool with_label = false;           ///< guest (hetero) and every homo client
  std::vector<std::string> features; ///< empty = every column except id and label
  /// Cells read as missing (NaN) in the columns `missing_ok` accepts (lower-case texts; prep.h).
  std::vector<std::string> missing_values;
  std::function<bool(const std::string& column)> missing_ok;
  std::string weight_column;  ///< sample weights (not a feature); empty = none
  bool weight_required = true;  ///< false: the weight column is skipped when present (validation, predict)
  bool row_ids = false;       ///< no id column in the header: ids are the data row numbers 0, 1, …
};

/// A loaded, validated table: one row per sample, features row-major.
struct Dataset {
  std::string file;
  std::vector<std::string> ids;
  std::vector<double> labels;  ///< 0/1 (FATE: label == 1 is positive, anything else negative)
  std::vector<std::string> feature_names;
  std::vector<double> x;       ///< rows × cols, row-major (NaN: a missing cell, see DataSpec)
  std::vector<double> weights; ///< from DataSpec::weight_column, else empty
  bool generated_ids = false;  ///< ids are row numbers (DataSpec::row_ids)
  size_t rows() const { return ids.size(); }
  size_t cols() const { return feature_names.size(); }
  const double* row(size_t i) const { return x.data() + i * cols(); }
  bool has_labels() const { return !labels.empty(); }
  /// The rows in `order` (indices into this table), in that order.
  Dataset select(const std::vector<size_t>& order) const;
};

/// Loads and validates a CSV file. Refuses (Invalid, "FILE:ROW:COL: column: problem"): a missing
/// or empty file, a header without the id/label/feature columns, a duplicate column name, a row
/// with the wrong number of cells, an empty or non-numeric cell, NaN or infinity, a label other
/// than 0/1 (or -1/1), a duplicate id, and a file with no data rows.
Dataset load_csv(const DataSpec& spec);
/// Same from a stream (`spec.path` names it in messages).
Dataset load_csv(const DataSpec& spec, std::istream& in);
/// The longest row (header included) load_csv reads; a longer one is refused (docs/limits.md).
inline constexpr size_t kMaxCsvRowBytes = 1u << 20;

/// FATE orders intersected ids as strings; this returns the row indices of `ids` sorted by id.
std::vector<size_t> sorted_order(const std::vector<std::string>& ids);

}  // namespace fatectl::ml
