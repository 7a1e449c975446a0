// Unit tests of the data checks (data_checks.h) and the id-alignment parameters (intersect_params.h).
#include <doctest/doctest.h>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ml/data_checks.h"
#include "fatectl/ml/intersect_params.h"

using namespace fatectl;
using namespace fatectl::ml;

namespace {
/// A table with labels `y` and feature columns given column by column.
Dataset table(const std::vector<double>& y, const std::vector<std::pair<std::string, std::vector<double>>>& cols) {
  Dataset d;
  d.file = "t.csv";
  d.labels = y;
  for (size_t i = 0; i < y.size(); ++i) {
    d.ids.push_back(std::to_string(i));
    for (auto& c : cols) d.x.push_back(c.second[i]);
  }
  for (auto& c : cols) d.feature_names.push_back(c.first);
  return d;
}
}  // namespace

TEST_CASE("label copies: any two-valued column in one-to-one correspondence with the classes") {
  std::vector<double> y{1, 0, 0, 1, 1};
  CHECK(label_copy_problem(table(y, {{"a", {0.1, 0.2, 0.3, 0.4, 0.5}}}), "y") == "");
  CHECK(label_copy_problem(table(y, {{"a", {1, 0, 0, 1, 0}}}), "y") == "");  // two values, not a copy
  std::string same = label_copy_problem(table(y, {{"a", {0.5, 0.1, 0.2, 0.3, 0.4}}, {"b", {7, 3, 3, 7, 7}}}), "y");
  CHECK(same.find("t.csv:1: b: this column is a copy of the label 'y' on all 5 rows") == 0);
  std::string inverted = label_copy_problem(table(y, {{"z", {-1, 1, 1, -1, -1}}}), "y");
  CHECK(inverted.find("(inverted,") != std::string::npos);
  Dataset no_labels = table(y, {{"b", {7, 3, 3, 7, 7}}});
  no_labels.labels.clear();
  CHECK(label_copy_problem(no_labels, "y") == "");
}

TEST_CASE("one class, host label name, column differences") {
  CHECK(one_class_problem(table({1, 1}, {{"a", {1, 2}}}), "y", "the 2 rows").find("all have label 1 (positive)") !=
        std::string::npos);
  CHECK(one_class_problem(table({0, 0}, {{"a", {1, 2}}}), "y", "x").find("label 0 (negative)") != std::string::npos);
  CHECK(one_class_problem(table({0, 1}, {{"a", {1, 2}}}), "y", "x") == "");
  Dataset h = table({}, {});
  h.feature_names = {"x0", "y"};
  CHECK(host_label_name_problem(h, "y", false).find(":1: y: the host's data has a column named like") != std::string::npos);
  CHECK(host_label_name_problem(h, "y", true) == "");
  CHECK(host_label_name_problem(h, "label", false) == "");
  CHECK(column_difference({"a", "b"}, {"a", "b"}, "host 1") == "");
  CHECK(column_difference({"a", "b", "c"}, {"a", "d"}, "host 1").find("host 1 has different feature columns: lacks b, c; has extra d") == 0);
  CHECK(column_difference({"a", "b"}, {"b", "a"}, "h").find("another order (column 1 is b, expected a)") != std::string::npos);
}

TEST_CASE("bit strings of the private label check: labels and two-valued columns encode alike") {
  std::vector<double> y{1, 0, 0, 1, 1, 0, 1, 1, 0};
  Dataset d = table(y, {{"copy", {5, 2, 2, 5, 5, 2, 5, 5, 2}}, {"flip", {2, 5, 5, 2, 2, 5, 2, 2, 5}}, {"noise", {1, 2, 3, 4, 5, 6, 7, 8, 9}}});
  auto [yes, no] = label_bits(d);
  auto cols = two_valued_columns(d);
  REQUIRE(cols.size() == 2);
  CHECK(cols[0].first == "copy");
  CHECK(cols[0].second == yes);
  CHECK(cols[1].second == no);
  CHECK(yes.rfind("v1|9|", 0) == 0);
  CHECK(yes != no);
}

TEST_CASE("intersect params: defaults, values, and file:line:col errors") {
  auto parse = [](const std::string& y) { return IntersectParams::parse(yaml::parse(y, "job.yaml"), "job.yaml"); };
  IntersectParams d = parse("max_iter: 3");
  CHECK(d.method == "ecdh");
  CHECK(d.min_rows == 0);
  IntersectParams p = parse("intersect_method: RAW\nmin_intersect_rows: 10\nmin_intersect_ratio: 0.5\nallow_host_label_column: true");
  CHECK(p.method == "raw");
  CHECK(p.min_rows == 10);
  CHECK(p.min_ratio == 0.5);
  CHECK(p.allow_host_label_column);
  CHECK_THROWS_WITH_AS(parse("intersect_method: rsa"), doctest::Contains("job.yaml:1:19: algorithm.params.intersect_method: 'rsa' is FATE's"), Error);
  CHECK_THROWS_WITH_AS(parse("intersect_method: md5"), doctest::Contains("unknown value 'md5'"), Error);
  CHECK_THROWS_WITH_AS(parse("min_intersect_rows: -1"), doctest::Contains("min_intersect_rows"), Error);
  CHECK_THROWS_WITH_AS(parse("min_intersect_ratio: 1.5"), doctest::Contains("in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(parse("allow_host_label_column: yes please"), doctest::Contains("true or false"), Error);
}
