#pragma once
// Data preparation before training, with FATE 1.11's parameter names and definitions:
// data_transform's missing-value fill and outlier replacement (designated value, mean, median, min
// or max, per column) and feature_scale (min_max_scale, standard_scale, feat_upper/feat_lower).
// Each party fits on its own training data; the fitted values go into model.json and are applied
// unchanged to validation and prediction data.
#include <yaml-cpp/yaml.h>

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/ml/data.h"

namespace fatectl::ml {

/// How one column's missing (or outlier) cells are replaced.
enum class FillMethod { None, Designated, Mean, Median, Min, Max };
enum class ScaleMethod { None, MinMax, Standard };
/// Where homo clients take preparation statistics from: their own rows (FATE) or every client's
/// rows through secure aggregation.
enum class StatsScope { Local, Federated };
const char* to_string(FillMethod m);
const char* to_string(ScaleMethod m);
const char* to_string(StatsScope s);

/// A value given once for every column, as a list in column order, or as {column: value}.
struct PerColumn {
  std::optional<double> all;
  std::vector<double> list;
  std::map<std::string, double> by_name;
  Location where;  ///< where it was written (for errors found once the columns are known)
  std::string key;
  bool given() const { return all || !list.empty() || !by_name.empty(); }
  /// The value for every column of `names` (nullopt: not given for that column).
  std::vector<std::optional<double>> resolve(const std::vector<std::string>& names) const;
};

/// The preparation settings of a job (algorithm.params.data_transform / feature_scale).
struct PrepParams {
  // data_transform (FATE's DataTransformParam / FeatureImputationParam names)
  bool missing_fill = false;
  FillMethod missing_fill_method = FillMethod::None;  ///< None: only the columns named per column
  std::map<std::string, FillMethod> col_missing_fill_method;
  PerColumn default_value;                            ///< for designated (default 0)
  std::vector<std::string> missing_impute;            ///< cell texts that mean "missing"
  bool outlier_replace = false;
  FillMethod outlier_replace_method = FillMethod::None;
  std::map<std::string, FillMethod> col_outlier_replace_method;
  std::vector<double> outlier_impute;                 ///< values that are outliers (e.g. -999)
  PerColumn outlier_replace_value;                    ///< for designated (default 0)
  // feature_scale (FATE's ScaleParam names)
  ScaleMethod scale = ScaleMethod::None;
  PerColumn feat_upper, feat_lower;
  std::vector<std::string> scale_names;  ///< with scale_col_indexes: the columns to scale
  std::vector<long> scale_col_indexes;
  bool scale_all = true;                 ///< scale_col_indexes -1 and no scale_names
  bool with_mean = true, with_std = true;
  StatsScope statistics = StatsScope::Local;  ///< homo_statistics
  Location statistics_where;

  bool any() const { return missing_fill || outlier_replace || scale != ScaleMethod::None; }
  /// Cell texts read as missing: missing_impute, or FATE's '', none, null, na, nan (any case).
  std::vector<std::string> missing_markers() const;
  /// Whether cells of `column` may be missing (a fill method applies to it).
  bool fills(const std::string& column) const;
  /// Reads data_transform, feature_scale and homo_statistics from `algorithm.params` (may be null).
  static PrepParams parse(const YAML::Node& params, const std::string& file);
};

/// Adds a vector of statistics over every party (federated statistics), or returns it as it is
/// (local statistics). Called the same number of times, with the same length, by every client.
using StatSum = std::function<std::vector<double>(const std::vector<double>& local, const std::string& what)>;
StatSum local_sum();
/// Whether a fill with these methods needs the column means (one StatSum call).
bool uses_mean(FillMethod all, const std::map<std::string, FillMethod>& cols);

/// The fitted preparation of one column, as FATE's models store it.
struct ColumnPrep {
  std::string name;
  FillMethod fill = FillMethod::None;
  double fill_value = 0;
  FillMethod outlier = FillMethod::None;
  double outlier_value = 0;
  bool scaled = false;
  double lower = -std::numeric_limits<double>::infinity();  ///< column_lower: values below are raised to it
  double upper = std::numeric_limits<double>::infinity();   ///< column_upper
  double center = 0;   ///< min (min_max) or mean (standard)
  double divisor = 1;  ///< max − min (min_max, 1 when < 1e-6) or std (standard, 1 when < 1e-6)
};

/// Preparation fitted on one party's training data: the model.json section "preparation".
struct FittedPrep {
  std::vector<std::string> missing_markers;
  std::vector<double> outlier_values;
  ScaleMethod scale = ScaleMethod::None;
  StatsScope statistics = StatsScope::Local;
  std::vector<ColumnPrep> cols;  ///< in the data's feature order

  bool empty() const;
  /// Fills missing cells and replaces outliers with the fitted values; a missing cell in a column
  /// without a fill method throws Invalid naming the file, the column and the data row.
  void apply_cells(Dataset& d) const;
  /// Clips to [lower, upper] and scales the scaled columns.
  void apply_scale(Dataset& d) const;
  void apply(Dataset& d) const {
    apply_cells(d);
    apply_scale(d);
  }
  YAML::Node to_yaml() const;
  /// Reads the section back; `path` names model.json in errors.
  static FittedPrep from_yaml(const YAML::Node& n, const std::string& path);
};

/// Fits missing fill and outlier replacement on `d` and applies them (FATE's data_transform).
FittedPrep fit_cells(const PrepParams& p, Dataset& d, const StatSum& sum);
/// Fits feature scaling on `d` (already filled) and applies it; adds to `fp` (FATE's feature_scale).
void fit_scale(const PrepParams& p, Dataset& d, const StatSum& sum, FittedPrep& fp);

/// DataSpec settings that let load_csv read the missing cells `p` fills as NaN.
void allow_missing(const PrepParams& p, DataSpec& spec);
/// The same for prediction data from a fitted preparation.
void allow_missing(const FittedPrep& p, DataSpec& spec);

}  // namespace fatectl::ml
