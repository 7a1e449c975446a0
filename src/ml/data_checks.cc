#include "fatectl/ml/data_checks.h"

#include <algorithm>
#include <set>

namespace fatectl::ml {
namespace {

std::string with_rows(size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

/// "v1|" ‖ row count ‖ "|" ‖ bits packed little-endian within bytes.
std::string pack(const std::vector<bool>& bits) {
  std::string s = "v1|" + std::to_string(bits.size()) + "|";
  std::string packed((bits.size() + 7) / 8, '\0');
  for (size_t i = 0; i < bits.size(); ++i)
    if (bits[i]) packed[i / 8] = static_cast<char>(packed[i / 8] | (1 << (i % 8)));
  return s + packed;
}

/// The column's two distinct values (lo < hi), or false when it has another number of values.
bool two_values(const Dataset& d, size_t j, double& lo, double& hi) {
  bool have_lo = false, have_hi = false;
  for (size_t i = 0; i < d.rows(); ++i) {
    double v = d.row(i)[j];
    if (!have_lo) { lo = v; have_lo = true; }
    else if (v == lo) continue;
    else if (!have_hi) { hi = v; have_hi = true; }
    else if (v != hi) return false;
  }
  if (!have_hi) return false;
  if (hi < lo) std::swap(lo, hi);
  return true;
}

}  // namespace

std::string one_class_problem(const Dataset& d, const std::string& label_column, const std::string& what) {
  size_t pos = static_cast<size_t>(std::count(d.labels.begin(), d.labels.end(), 1.0));
  if (pos != 0 && pos != d.labels.size()) return "";
  return d.file + ": " + label_column + ": " + what + " all have label " + (pos ? "1 (positive)" : "0 (negative)") +
         ": hetero logistic regression needs both classes; refused before any key is generated or any value encrypted";
}

std::string label_copy_problem(const Dataset& d, const std::string& label_column) {
  if (!d.has_labels()) return "";
  for (size_t j = 0; j < d.cols(); ++j) {
    double lo, hi;
    if (!two_values(d, j, lo, hi)) continue;
    bool same = true, flipped = true;
    for (size_t i = 0; i < d.rows() && (same || flipped); ++i) {
      bool bit = d.row(i)[j] == hi, y = d.labels[i] == 1;
      same = same && bit == y;
      flipped = flipped && bit != y;
    }
    if (same || flipped)
      return d.file + ":1: " + d.feature_names[j] + ": this column is a copy of the label '" + label_column + "' on all " +
             with_rows(d.rows()) + " (" + (same ? "" : "inverted, ") +
             "two values, one per class): as a feature it would leak the label into the model; remove it";
  }
  return "";
}

std::string host_label_name_problem(const Dataset& d, const std::string& label_column, bool allowed) {
  if (allowed) return "";
  for (const auto& f : d.feature_names)
    if (f == label_column)
      return d.file + ":1: " + f + ": the host's data has a column named like the guest's label column '" + label_column +
             "': as a host feature it would bring the label into the model. Remove the column, or set "
             "algorithm.params.allow_host_label_column: true if it is a genuine feature of the host";
  return "";
}

std::string column_difference(const std::vector<std::string>& ours, const std::vector<std::string>& theirs,
                              const std::string& who) {
  if (ours == theirs) return "";
  std::set<std::string> a(ours.begin(), ours.end()), b(theirs.begin(), theirs.end());
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    size_t shown = 0;
    for (auto& x : v) {
      if (shown++ == 8) {
        s += ", … (" + std::to_string(v.size()) + " in all)";
        break;
      }
      s += (s.empty() ? "" : ", ") + x;
    }
    return s;
  };
  std::vector<std::string> missing, extra;
  for (auto& x : ours)
    if (!b.count(x)) missing.push_back(x);
  for (auto& x : theirs)
    if (!a.count(x)) extra.push_back(x);
  std::string s = who + " has different feature columns:";
  if (!missing.empty()) s += " lacks " + list(missing) + (extra.empty() ? "" : ";");
  if (!extra.empty()) s += " has extra " + list(extra);
  if (missing.empty() && extra.empty()) {
    for (size_t i = 0; i < ours.size(); ++i)
      if (ours[i] != theirs[i]) {
        s += " the same columns in another order (column " + std::to_string(i + 1) + " is " + theirs[i] + ", expected " +
             ours[i] + ")";
        break;
      }
  }
  return s + " (homo LR needs the same feature columns, in the same order, on every client)";
}

std::pair<std::string, std::string> label_bits(const Dataset& d) {
  std::vector<bool> y(d.rows()), n(d.rows());
  for (size_t i = 0; i < d.rows(); ++i) {
    y[i] = d.labels[i] == 1;
    n[i] = !y[i];
  }
  return {pack(y), pack(n)};
}

std::vector<std::pair<std::string, std::string>> two_valued_columns(const Dataset& d) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t j = 0; j < d.cols(); ++j) {
    double lo, hi;
    if (!two_values(d, j, lo, hi)) continue;
    std::vector<bool> bits(d.rows());
    for (size_t i = 0; i < d.rows(); ++i) bits[i] = d.row(i)[j] == hi;
    out.emplace_back(d.feature_names[j], pack(bits));
  }
  return out;
}

}  // namespace fatectl::ml
