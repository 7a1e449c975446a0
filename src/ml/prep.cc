#include "fatectl/ml/prep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "fatectl/core/yaml.h"
#include "param_reader.h"

namespace fatectl::ml {

using detail::lower;
using detail::Reader;

namespace {

const std::vector<std::pair<std::string, FillMethod>> kFillMethods = {
    {"designated", FillMethod::Designated}, {"mean", FillMethod::Mean}, {"median", FillMethod::Median},
    {"min", FillMethod::Min},               {"max", FillMethod::Max}};

FillMethod fill_method(const Reader& r, const YAML::Node& v, const std::string& key) {
  if (yaml::scalar_type(v) == yaml::ScalarType::Null) return FillMethod::None;
  return r.choice<FillMethod>(v, key, kFillMethods);
}

std::map<std::string, FillMethod> col_methods(const Reader& r, const YAML::Node& v, const std::string& key) {
  if (!v.IsMap()) throw r.err(v, key, "expected a mapping {column: method}");
  std::map<std::string, FillMethod> out;
  Reader s{r.file, r.prefix + key + "."};
  for (auto it = v.begin(); it != v.end(); ++it) {
    const YAML::Node m = it->second;
    out[it->first.Scalar()] = fill_method(s, m, it->first.Scalar());
  }
  return out;
}

PerColumn per_column(const Reader& r, const YAML::Node& v, const std::string& key) {
  PerColumn p;
  p.where = yaml::where(v, r.file);
  p.key = r.prefix + key;
  if (v.IsSequence()) {
    for (size_t i = 0; i < v.size(); ++i) p.list.push_back(r.num(v[i], key + "[" + std::to_string(i) + "]"));
  } else if (v.IsMap()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      const YAML::Node x = it->second;
      p.by_name[it->first.Scalar()] = r.num(x, key + "." + it->first.Scalar());
    }
  } else if (yaml::scalar_type(v) != yaml::ScalarType::Null) {
    p.all = r.num(v, key);
  }
  return p;
}

std::vector<std::string> strings(const Reader& r, const YAML::Node& v, const std::string& key) {
  if (!v.IsSequence()) throw r.err(v, key, "expected a list");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].IsScalar()) throw r.err(v[i], key, "expected a list of strings");
    out.push_back(v[i].Scalar());
  }
  return out;
}

std::string num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

double parse_num(const YAML::Node& n, const std::string& path, const std::string& key) {
  if (!n || !n.IsScalar()) throw invalid(path + ": preparation." + key + ": expected a number");
  const std::string& s = n.Scalar();
  if (s == "inf" || s == "Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-inf" || s == "-Infinity") return -std::numeric_limits<double>::infinity();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end) throw invalid(path + ": preparation." + key + ": not a number: '" + s + "'");
  return v;
}

YAML::Node num_node(double v) {
  if (std::isinf(v)) return YAML::Node(v > 0 ? "inf" : "-inf");
  return YAML::Node(num(v));
}

FillMethod method_for(const std::map<std::string, FillMethod>& cols, FillMethod all, const std::string& c) {
  auto it = cols.find(c);
  return it != cols.end() ? it->second : all;
}

bool is_outlier(double v, const std::vector<double>& outliers) {
  return std::find(outliers.begin(), outliers.end(), v) != outliers.end();
}

}  // namespace

const char* to_string(FillMethod m) {
  switch (m) {
    case FillMethod::None: return "none";
    case FillMethod::Designated: return "designated";
    case FillMethod::Mean: return "mean";
    case FillMethod::Median: return "median";
    case FillMethod::Min: return "min";
    case FillMethod::Max: return "max";
  }
  return "?";
}
const char* to_string(ScaleMethod m) {
  return m == ScaleMethod::MinMax ? "min_max_scale" : m == ScaleMethod::Standard ? "standard_scale" : "none";
}
const char* to_string(StatsScope s) { return s == StatsScope::Federated ? "federated" : "local"; }

std::vector<std::optional<double>> PerColumn::resolve(const std::vector<std::string>& names) const {
  std::vector<std::optional<double>> out(names.size());
  if (all)
    for (auto& o : out) o = *all;
  if (!list.empty()) {
    if (list.size() != names.size())
      throw invalid_at(where, key,
                       "has " + std::to_string(list.size()) + " values but the data has " + std::to_string(names.size()) +
                           " feature columns (give one value, one per column, or {column: value})");
    for (size_t i = 0; i < names.size(); ++i) out[i] = list[i];
  }
  for (auto& [name, v] : by_name) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) throw invalid_at(where, key + "." + name, "no such feature column in this party's data");
    out[static_cast<size_t>(it - names.begin())] = v;
  }
  return out;
}

std::vector<std::string> PrepParams::missing_markers() const {
  if (!missing_impute.empty()) {
    std::vector<std::string> m;
    for (auto& s : missing_impute) m.push_back(lower(s));
    return m;
  }
  return {"", "none", "null", "na", "nan"};
}

bool PrepParams::fills(const std::string& column) const {
  return missing_fill && method_for(col_missing_fill_method, missing_fill_method, column) != FillMethod::None;
}

PrepParams PrepParams::parse(const YAML::Node& params, const std::string& file) {
  PrepParams p;
  if (!params || !params.IsMap()) return p;
  Reader top{file, "algorithm.params."};
  if (YAML::Node dt = params["data_transform"]) {
    Reader r{file, "algorithm.params.data_transform."};
    if (!dt.IsMap()) throw top.err(dt, "data_transform", "expected a mapping");
    r.known(dt, {"missing_fill", "missing_fill_method", "col_missing_fill_method", "default_value", "missing_impute",
                 "outlier_replace", "outlier_replace_method", "col_outlier_replace_method", "outlier_impute",
                 "outlier_replace_value"});
    std::optional<bool> mf, orp;
    for (auto it = dt.begin(); it != dt.end(); ++it) {
      std::string k = it->first.Scalar();
      const YAML::Node v = it->second;
      if (k == "missing_fill") mf = r.boolean(v, k);
      else if (k == "missing_fill_method") p.missing_fill_method = fill_method(r, v, k);
      else if (k == "col_missing_fill_method") p.col_missing_fill_method = col_methods(r, v, k);
      else if (k == "default_value") p.default_value = per_column(r, v, k);
      else if (k == "missing_impute") p.missing_impute = strings(r, v, k);
      else if (k == "outlier_replace") orp = r.boolean(v, k);
      else if (k == "outlier_replace_method") p.outlier_replace_method = fill_method(r, v, k);
      else if (k == "col_outlier_replace_method") p.col_outlier_replace_method = col_methods(r, v, k);
      else if (k == "outlier_replace_value") p.outlier_replace_value = per_column(r, v, k);
      else if (k == "outlier_impute") {
        if (!v.IsSequence()) throw r.err(v, k, "expected a list of values, e.g. [-999]");
        for (size_t i = 0; i < v.size(); ++i) p.outlier_impute.push_back(r.num(v[i], k));
      }
    }
    // FATE needs missing_fill: true as well as a method; a method alone means "fill".
    bool any_mf = p.missing_fill_method != FillMethod::None || !p.col_missing_fill_method.empty();
    p.missing_fill = mf.value_or(any_mf);
    if (p.missing_fill && !any_mf) p.missing_fill_method = FillMethod::Designated;  // FATE: default_value
    bool any_or = p.outlier_replace_method != FillMethod::None || !p.col_outlier_replace_method.empty();
    p.outlier_replace = orp.value_or(any_or || !p.outlier_impute.empty());
    if (p.outlier_replace && !any_or) p.outlier_replace_method = FillMethod::Designated;
    if (p.outlier_replace && p.outlier_impute.empty())
      throw r.err(dt, "outlier_impute", "outlier_replace needs the outlier values, e.g. outlier_impute: [-999]");
  }
  if (YAML::Node fs = params["feature_scale"]) {
    Reader r{file, "algorithm.params.feature_scale."};
    if (!fs.IsMap()) throw top.err(fs, "feature_scale", "expected a mapping");
    r.known(fs, {"method", "mode", "feat_upper", "feat_lower", "scale_names", "scale_col_indexes", "with_mean",
                 "with_std", "need_run"});
    p.scale = ScaleMethod::Standard;  // FATE's default method
    bool need_run = true;
    for (auto it = fs.begin(); it != fs.end(); ++it) {
      std::string k = it->first.Scalar();
      const YAML::Node v = it->second;
      if (k == "method")
        p.scale = r.choice<ScaleMethod>(v, k, {{"standard_scale", ScaleMethod::Standard},
                                               {"min_max_scale", ScaleMethod::MinMax}});
      else if (k == "mode") {
        if (lower(r.text(v, k)) != "normal")
          throw r.err(v, k, "only 'normal' is supported (feat_upper/feat_lower are values, not percentiles)");
      } else if (k == "feat_upper") p.feat_upper = per_column(r, v, k);
      else if (k == "feat_lower") p.feat_lower = per_column(r, v, k);
      else if (k == "scale_names") {
        p.scale_names = strings(r, v, k);
        p.scale_all = false;
      } else if (k == "scale_col_indexes") {
        if (v.IsScalar() && r.integer(v, k) == -1) continue;
        if (!v.IsSequence()) throw r.err(v, k, "expected -1 (every column) or a list of column indexes");
        for (size_t i = 0; i < v.size(); ++i) {
          long ix = r.integer(v[i], k);
          if (ix < 0) throw r.err(v[i], k, "column indexes start at 0");
          p.scale_col_indexes.push_back(ix);
        }
        p.scale_all = false;
      } else if (k == "with_mean") p.with_mean = r.boolean(v, k);
      else if (k == "with_std") p.with_std = r.boolean(v, k);
      else if (k == "need_run") need_run = r.boolean(v, k);
    }
    if (!need_run) p.scale = ScaleMethod::None;
  }
  if (YAML::Node st = params["homo_statistics"]) {
    p.statistics = top.choice<StatsScope>(st, "homo_statistics", {{"local", StatsScope::Local},
                                                                   {"federated", StatsScope::Federated}});
    p.statistics_where = yaml::where(st, file);
  }
  return p;
}

bool uses_mean(FillMethod all, const std::map<std::string, FillMethod>& cols) {
  if (all == FillMethod::Mean) return true;
  for (auto& [c, m] : cols)
    if (m == FillMethod::Mean) return true;
  return false;
}

StatSum local_sum() {
  return [](const std::vector<double>& v, const std::string&) { return v; };
}

// ---- fitting ------------------------------------------------------------------------------------

namespace {

/// Replacement values per column for cells selected by `is_bad` (missing or outlier), with FATE's
/// statistics over the other cells of the column. Federated: only designated and mean.
std::vector<double> fit_replacements(const Dataset& d, const std::vector<FillMethod>& methods,
                                     const std::vector<std::optional<double>>& designated,
                                     const std::function<bool(double)>& is_bad, const StatSum& sum,
                                     const std::string& what, bool mean_round) {
  const size_t R = d.rows(), C = d.cols();
  std::vector<double> out(C, 0.0);
  std::vector<double> local(2 * C, 0.0);  // count, sum of the good cells (for mean)
  for (size_t j = 0; j < C; ++j) {
    FillMethod m = methods[j];
    if (m == FillMethod::None) continue;
    if (m == FillMethod::Designated) {
      out[j] = designated[j].value_or(0.0);
      continue;
    }
    std::vector<double> good;
    good.reserve(R);
    for (size_t i = 0; i < R; ++i) {
      double v = d.x[i * C + j];
      if (!is_bad(v)) good.push_back(v);
    }
    if (m == FillMethod::Mean) {
      local[2 * j] = static_cast<double>(good.size());
      double s = 0;
      for (double v : good) s += v;
      local[2 * j + 1] = s;
      continue;
    }
    if (good.empty())
      throw invalid(d.file + ": " + d.feature_names[j] + ": every value is missing or an outlier; cannot compute its " +
                    to_string(m) + " (use a designated value)");
    if (m == FillMethod::Min) out[j] = *std::min_element(good.begin(), good.end());
    else if (m == FillMethod::Max) out[j] = *std::max_element(good.begin(), good.end());
    else {  // median: numpy's (mean of the two middle values when the count is even)
      size_t h = good.size() / 2;
      std::nth_element(good.begin(), good.begin() + h, good.end());
      double hi = good[h];
      if (good.size() % 2) out[j] = hi;
      else out[j] = (hi + *std::max_element(good.begin(), good.begin() + h)) / 2;
    }
  }
  if (mean_round) {  // decided by the parameters alone, so every client sums the same number of times
    auto g = sum(local, what + " means");
    for (size_t j = 0; j < C; ++j) {
      if (methods[j] != FillMethod::Mean) continue;
      if (g[2 * j] <= 0)
        throw invalid(d.file + ": " + d.feature_names[j] + ": every value is missing or an outlier; cannot compute its mean");
      out[j] = g[2 * j + 1] / g[2 * j];
    }
  }
  return out;
}

std::vector<FillMethod> methods_of(const std::vector<std::string>& names, const std::map<std::string, FillMethod>& cols,
                                   FillMethod all, bool on) {
  std::vector<FillMethod> m;
  for (auto& n : names) m.push_back(on ? method_for(cols, all, n) : FillMethod::None);
  return m;
}

}  // namespace

FittedPrep fit_cells(const PrepParams& p, Dataset& d, const StatSum& sum) {
  FittedPrep fp;
  fp.statistics = p.statistics;
  fp.cols.resize(d.cols());
  for (size_t j = 0; j < d.cols(); ++j) fp.cols[j].name = d.feature_names[j];
  for (auto& [name, m] : p.col_missing_fill_method)
    if (std::find(d.feature_names.begin(), d.feature_names.end(), name) == d.feature_names.end())
      throw invalid(d.file + ": data_transform.col_missing_fill_method names '" + name + "', not a feature column here");
  for (auto& [name, m] : p.col_outlier_replace_method)
    if (std::find(d.feature_names.begin(), d.feature_names.end(), name) == d.feature_names.end())
      throw invalid(d.file + ": data_transform.col_outlier_replace_method names '" + name + "', not a feature column here");
  if (p.missing_fill) {
    fp.missing_markers = p.missing_markers();
    auto methods = methods_of(d.feature_names, p.col_missing_fill_method, p.missing_fill_method, true);
    auto vals = fit_replacements(d, methods, p.default_value.resolve(d.feature_names),
                                 [](double v) { return std::isnan(v); }, sum, "missing-fill",
                                 uses_mean(p.missing_fill_method, p.col_missing_fill_method));
    for (size_t j = 0; j < d.cols(); ++j) {
      fp.cols[j].fill = methods[j];
      fp.cols[j].fill_value = vals[j];
    }
  }
  if (p.outlier_replace) {
    fp.outlier_values = p.outlier_impute;
    auto methods = methods_of(d.feature_names, p.col_outlier_replace_method, p.outlier_replace_method, true);
    // Statistics for outliers see the data after the missing fill (FATE's order).
    FittedPrep fill_only = fp;
    fill_only.outlier_values.clear();
    fill_only.apply_cells(d);
    const auto& ov = fp.outlier_values;
    auto vals = fit_replacements(d, methods, p.outlier_replace_value.resolve(d.feature_names),
                                 [&](double v) { return is_outlier(v, ov); }, sum, "outlier-replace",
                                 uses_mean(p.outlier_replace_method, p.col_outlier_replace_method));
    for (size_t j = 0; j < d.cols(); ++j) {
      fp.cols[j].outlier = methods[j];
      fp.cols[j].outlier_value = vals[j];
    }
  }
  fp.apply_cells(d);
  return fp;
}

void fit_scale(const PrepParams& p, Dataset& d, const StatSum& sum, FittedPrep& fp) {
  fp.scale = p.scale;
  if (fp.cols.size() != d.cols()) {
    fp.cols.resize(d.cols());
    for (size_t j = 0; j < d.cols(); ++j) fp.cols[j].name = d.feature_names[j];
  }
  if (p.scale == ScaleMethod::None) return;
  const size_t R = d.rows(), C = d.cols();
  std::vector<char> scaled(C, p.scale_all ? 1 : 0);
  for (long ix : p.scale_col_indexes) {
    if (static_cast<size_t>(ix) >= C)
      throw invalid(d.file + ": feature_scale.scale_col_indexes: index " + std::to_string(ix) + " but the data has " +
                    std::to_string(C) + " feature columns");
    scaled[static_cast<size_t>(ix)] = 1;
  }
  for (auto& n : p.scale_names) {
    auto it = std::find(d.feature_names.begin(), d.feature_names.end(), n);
    if (it != d.feature_names.end()) scaled[static_cast<size_t>(it - d.feature_names.begin())] = 1;
  }
  auto up = p.feat_upper.resolve(d.feature_names), lo = p.feat_lower.resolve(d.feature_names);
  const bool federated = p.statistics == StatsScope::Federated;
  for (size_t j = 0; j < C; ++j) {
    ColumnPrep& c = fp.cols[j];
    c.scaled = scaled[j];
    if (!c.scaled) continue;
    // FATE: column_upper/lower are the column's max/min pulled inside [feat_lower, feat_upper].
    // Federated statistics have no minimum or maximum: the bounds are feat_lower/feat_upper.
    const double inf = std::numeric_limits<double>::infinity();
    double mn = federated ? -inf : inf, mx = -mn;
    if (!federated)
      for (size_t i = 0; i < R; ++i) {
        mn = std::min(mn, d.x[i * C + j]);
        mx = std::max(mx, d.x[i * C + j]);
      }
    if (up[j]) {
      mx = std::min(mx, *up[j]);
      mn = std::min(mn, *up[j]);
    }
    if (lo[j]) {
      mn = std::max(mn, *lo[j]);
      mx = std::max(mx, *lo[j]);
    }
    c.lower = mn;
    c.upper = mx;
    if (p.scale == ScaleMethod::MinMax) {
      double range = mx - mn;
      if (range < 0) throw invalid(d.file + ": " + c.name + ": feat_upper is below feat_lower");
      c.center = mn;
      c.divisor = std::fabs(range) < 1e-6 ? 1.0 : range;
    }
  }
  if (p.scale == ScaleMethod::Standard) {
    // Mean and population standard deviation of the clipped values (two passes, each summed over
    // the parties when statistics are federated).
    auto clipped = [&](size_t i, size_t j) { return std::clamp(d.x[i * C + j], fp.cols[j].lower, fp.cols[j].upper); };
    std::vector<double> s1(C + 1, 0.0);
    s1[C] = static_cast<double>(R);
    for (size_t j = 0; j < C; ++j)
      if (fp.cols[j].scaled)
        for (size_t i = 0; i < R; ++i) s1[j] += clipped(i, j);
    s1 = sum(s1, "feature_scale means");
    const double n = s1[C];
    std::vector<double> mean(C, 0.0), s2(C, 0.0);
    for (size_t j = 0; j < C; ++j) {
      if (!fp.cols[j].scaled) continue;
      mean[j] = s1[j] / n;
      for (size_t i = 0; i < R; ++i) {
        double e = clipped(i, j) - mean[j];
        s2[j] += e * e;
      }
    }
    s2 = sum(s2, "feature_scale variances");
    for (size_t j = 0; j < C; ++j) {
      ColumnPrep& c = fp.cols[j];
      if (!c.scaled) continue;
      double sd = std::sqrt(s2[j] / n);
      c.center = p.with_mean ? mean[j] : 0.0;
      c.divisor = !p.with_std || std::fabs(sd) < 1e-6 ? 1.0 : sd;
    }
  }
  fp.apply_scale(d);
}

// ---- applying -----------------------------------------------------------------------------------

bool FittedPrep::empty() const {
  if (scale != ScaleMethod::None || !missing_markers.empty() || !outlier_values.empty()) return false;
  return true;
}

void FittedPrep::apply_cells(Dataset& d) const {
  if (cols.size() != d.cols()) throw failed("internal: preparation for " + std::to_string(cols.size()) + " columns");
  const size_t R = d.rows(), C = d.cols();
  for (size_t j = 0; j < C; ++j) {
    const ColumnPrep& c = cols[j];
    for (size_t i = 0; i < R; ++i) {
      double& v = d.x[i * C + j];
      if (std::isnan(v)) {
        if (c.fill == FillMethod::None)
          throw invalid(d.file + ": " + c.name + ": missing value in data row " + std::to_string(i + 1) +
                        " and no fill method for this column (data_transform.missing_fill_method)");
        v = c.fill_value;
      }
      if (c.outlier != FillMethod::None && is_outlier(v, outlier_values)) v = c.outlier_value;
    }
  }
}

void FittedPrep::apply_scale(Dataset& d) const {
  if (scale == ScaleMethod::None) return;
  if (cols.size() != d.cols()) throw failed("internal: preparation for " + std::to_string(cols.size()) + " columns");
  const size_t R = d.rows(), C = d.cols();
  for (size_t j = 0; j < C; ++j) {
    const ColumnPrep& c = cols[j];
    if (!c.scaled) continue;
    for (size_t i = 0; i < R; ++i) {
      double& v = d.x[i * C + j];
      v = (std::clamp(v, c.lower, c.upper) - c.center) / c.divisor;
    }
  }
}

YAML::Node FittedPrep::to_yaml() const {
  YAML::Node n;
  YAML::Node mv(YAML::NodeType::Sequence), ov(YAML::NodeType::Sequence);
  for (auto& m : missing_markers) mv.push_back(yaml::str(m));
  for (double v : outlier_values) ov.push_back(num_node(v));
  n["missing_values"] = mv;
  n["outlier_values"] = ov;
  n["scale_method"] = to_string(scale);
  n["statistics"] = to_string(statistics);
  YAML::Node cs(YAML::NodeType::Sequence);
  for (const auto& c : cols) {
    YAML::Node x;
    x["name"] = yaml::str(c.name);
    if (c.fill != FillMethod::None) {
      x["missing_fill_method"] = to_string(c.fill);
      x["missing_fill_value"] = num_node(c.fill_value);
    }
    if (c.outlier != FillMethod::None) {
      x["outlier_replace_method"] = to_string(c.outlier);
      x["outlier_replace_value"] = num_node(c.outlier_value);
    }
    if (c.scaled) {
      x["column_lower"] = num_node(c.lower);
      x["column_upper"] = num_node(c.upper);
      if (scale == ScaleMethod::Standard) {
        x["mean"] = num_node(c.center);
        x["std"] = num_node(c.divisor);
      } else {
        x["range"] = num_node(c.divisor);
      }
    }
    cs.push_back(x);
  }
  n["columns"] = cs;
  return n;
}

FittedPrep FittedPrep::from_yaml(const YAML::Node& n, const std::string& path) {
  FittedPrep fp;
  if (!n || n.IsNull()) return fp;
  if (!n.IsMap() || !n["columns"] || !n["columns"].IsSequence()) throw invalid(path + ": preparation: malformed section");
  for (const auto& m : n["missing_values"]) fp.missing_markers.push_back(m.Scalar());
  for (size_t i = 0; i < n["outlier_values"].size(); ++i)
    fp.outlier_values.push_back(parse_num(n["outlier_values"][i], path, "outlier_values"));
  std::string sm = n["scale_method"] ? n["scale_method"].Scalar() : "none";
  fp.scale = sm == "standard_scale" ? ScaleMethod::Standard : sm == "min_max_scale" ? ScaleMethod::MinMax : ScaleMethod::None;
  fp.statistics = n["statistics"] && n["statistics"].Scalar() == "federated" ? StatsScope::Federated : StatsScope::Local;
  auto method = [&](const YAML::Node& v) {
    for (auto& [name, m] : kFillMethods)
      if (v.Scalar() == name) return m;
    throw invalid(path + ": preparation: unknown fill method '" + v.Scalar() + "'");
  };
  for (const auto& c : n["columns"]) {
    ColumnPrep cp;
    cp.name = c["name"].Scalar();
    if (c["missing_fill_method"]) {
      cp.fill = method(c["missing_fill_method"]);
      cp.fill_value = parse_num(c["missing_fill_value"], path, cp.name + ".missing_fill_value");
    }
    if (c["outlier_replace_method"]) {
      cp.outlier = method(c["outlier_replace_method"]);
      cp.outlier_value = parse_num(c["outlier_replace_value"], path, cp.name + ".outlier_replace_value");
    }
    if (c["column_lower"]) {
      cp.scaled = true;
      cp.lower = parse_num(c["column_lower"], path, cp.name + ".column_lower");
      cp.upper = parse_num(c["column_upper"], path, cp.name + ".column_upper");
      if (fp.scale == ScaleMethod::Standard) {
        cp.center = parse_num(c["mean"], path, cp.name + ".mean");
        cp.divisor = parse_num(c["std"], path, cp.name + ".std");
      } else {
        cp.center = cp.lower;
        cp.divisor = parse_num(c["range"], path, cp.name + ".range");
      }
      if (!(cp.divisor > 0)) throw invalid(path + ": preparation: " + cp.name + ": scale divisor must be > 0");
    }
    fp.cols.push_back(cp);
  }
  return fp;
}

void allow_missing(const PrepParams& p, DataSpec& spec) {
  if (!p.missing_fill) return;
  spec.missing_values = p.missing_markers();
  spec.missing_ok = [p](const std::string& c) { return p.fills(c); };
}

void allow_missing(const FittedPrep& p, DataSpec& spec) {
  if (p.missing_markers.empty()) return;
  spec.missing_values = p.missing_markers;
  std::set<std::string> ok;
  for (auto& c : p.cols)
    if (c.fill != FillMethod::None) ok.insert(c.name);
  spec.missing_ok = [ok](const std::string& c) { return ok.count(c) > 0; };
}

}  // namespace fatectl::ml
