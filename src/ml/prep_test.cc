// Unit tests of data preparation (prep.h), sample weights (sample_weight.h) and validation
// parameters / early stopping (validation.h).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ml/prep.h"
#include "fatectl/ml/sample_weight.h"
#include "fatectl/ml/validation.h"

using namespace fatectl;
using namespace fatectl::ml;

namespace {
const double NaN = std::numeric_limits<double>::quiet_NaN();

Dataset table(std::vector<std::vector<double>> rows, std::vector<std::string> names = {"a", "b"}) {
  Dataset d;
  d.file = "t.csv";
  d.feature_names = names;
  for (size_t i = 0; i < rows.size(); ++i) {
    d.ids.push_back(std::to_string(i));
    d.labels.push_back(i % 2 ? 1 : 0);
    d.x.insert(d.x.end(), rows[i].begin(), rows[i].end());
  }
  return d;
}

PrepParams params(const std::string& yaml_text) {
  return PrepParams::parse(yaml::parse(yaml_text, "job.yaml"), "job.yaml");
}

std::string parse_error(const std::string& text) {
  try {
    YAML::Node n = yaml::parse(text, "job.yaml");
    PrepParams::parse(n, "job.yaml");
    SampleWeightParams::parse(n, "job.yaml");
    ValidationParams::parse(n, "job.yaml");
  } catch (const Error& e) {
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("prep: missing fill per column, outlier replacement, FATE's order") {
  Dataset d = table({{1, NaN}, {NaN, 4}, {3, -999}, {5, 8}});
  PrepParams p = params(
      "data_transform: {missing_fill_method: mean, col_missing_fill_method: {b: designated}, default_value: {b: 7},"
      " outlier_impute: [-999], outlier_replace_method: median}");
  CHECK(p.missing_fill);
  CHECK(p.outlier_replace);
  CHECK(p.fills("a"));
  FittedPrep fp = fit_cells(p, d, local_sum());
  CHECK(fp.cols[0].fill_value == 3.0);  // mean of 1, 3, 5
  CHECK(fp.cols[1].fill_value == 7.0);  // designated
  // outliers after the fill: column b is 7, 4, -999, 8 → median of 4, 7, 8 = 7
  CHECK(fp.cols[1].outlier_value == 7.0);
  CHECK(d.x == std::vector<double>{1, 7, 3, 4, 3, 7, 5, 8});
  // The fitted values come back from model.json and do the same to new data.
  FittedPrep back = FittedPrep::from_yaml(yaml::parse(yaml::to_json(fp.to_yaml()), "m"), "model.json");
  Dataset n = table({{NaN, -999}});
  back.apply(n);
  CHECK(n.x == std::vector<double>{3, 7});
  // a missing cell in a column without a fill method is refused, naming the column
  FittedPrep none = FittedPrep::from_yaml(yaml::parse(yaml::to_json(FittedPrep{{}, {}, ScaleMethod::None, StatsScope::Local,
                                                                            {ColumnPrep{"a"}, ColumnPrep{"b"}}}.to_yaml()), "m"),
                                          "model.json");
  Dataset m = table({{1, NaN}});
  CHECK_THROWS_WITH_AS(none.apply(m), doctest::Contains("b: missing value in data row 1"), Error);
}

TEST_CASE("prep: standard and min-max scaling with FATE's bounds and clipping") {
  Dataset d = table({{0, 10}, {2, 20}, {4, 30}, {6, 1000}});
  PrepParams p = params("feature_scale: {method: standard_scale, feat_upper: {b: 40}}");
  FittedPrep fp = fit_cells(p, d, local_sum());
  fit_scale(p, d, local_sum(), fp);
  CHECK(fp.cols[0].center == 3.0);
  CHECK(fp.cols[0].divisor == doctest::Approx(std::sqrt(5.0)));  // population std
  CHECK(fp.cols[1].upper == 40.0);  // max pulled down to feat_upper
  CHECK(fp.cols[1].lower == 10.0);
  CHECK(fp.cols[1].center == 25.0);  // mean of 10, 20, 30, 40 (clipped)
  // transform clips to the training range first (FATE's standard_scale transform)
  Dataset n = table({{100, 0}});
  fp.apply_scale(n);
  CHECK(n.x[0] == doctest::Approx((6 - 3) / std::sqrt(5.0)));
  CHECK(n.x[1] == doctest::Approx((10 - 25) / fp.cols[1].divisor));

  Dataset e = table({{0, 5}, {10, 5}});
  PrepParams mm = params("feature_scale: {method: min_max_scale, scale_names: [a]}");
  FittedPrep fm = fit_cells(mm, e, local_sum());
  fit_scale(mm, e, local_sum(), fm);
  CHECK(e.x == std::vector<double>{0, 5, 1, 5});  // b is not scaled
  CHECK(!fm.cols[1].scaled);
  // a constant column has range 1 (FATE: < 1e-6 → 1)
  Dataset k = table({{3, 1}, {3, 2}});
  PrepParams all = params("feature_scale: {method: min_max_scale}");
  FittedPrep fk = fit_cells(all, k, local_sum());
  fit_scale(all, k, local_sum(), fk);
  CHECK(fk.cols[0].divisor == 1.0);
  CHECK(k.x[0] == 0.0);
}

TEST_CASE("prep: federated statistics go through the sum, without minima and maxima") {
  Dataset d = table({{1, 2}, {3, 4}});
  PrepParams p = params("homo_statistics: federated\nfeature_scale: {method: standard_scale, feat_lower: 0}\n"
                        "data_transform: {missing_fill_method: mean}");
  int calls = 0;
  // Pretend another client holds the rows {5, 6} and {7, 8}: add its sums.
  StatSum twice = [&](const std::vector<double>& v, const std::string&) {
    ++calls;
    std::vector<double> o = v;
    if (calls == 1) o = {v[0] + 2, v[1] + 12, v[2] + 2, v[3] + 14};             // counts and sums of the fill round
    if (calls == 2) o = {v[0] + 12, v[1] + 14, v[2] + 2};                       // Σx and n
    if (calls == 3) o = {v[0] + 9 + 25, v[1] + 9 + 25};                          // Σ(x − mean)² of the other rows
    return o;
  };
  FittedPrep fp = fit_cells(p, d, twice);
  fit_scale(p, d, twice, fp);
  CHECK(calls == 3);
  CHECK(fp.cols[0].fill_value == 4.0);
  CHECK(fp.cols[0].center == 4.0);
  CHECK(fp.cols[0].divisor == doctest::Approx(std::sqrt((9 + 1 + 9 + 25) / 4.0)));
  CHECK(fp.cols[0].lower == 0.0);  // feat_lower; no minimum is shared
  CHECK(std::isinf(fp.cols[0].upper));
}

TEST_CASE("prep, weights, validation: parameter errors name the key") {
  CHECK(parse_error("data_transform: {missing_fill_method: average}").find("data_transform.missing_fill_method") != std::string::npos);
  CHECK(parse_error("data_transform: {outlier_replace: true}").find("outlier_impute") != std::string::npos);
  CHECK(parse_error("feature_scale: {method: standard_scale, mode: cap}").find("feature_scale.mode") != std::string::npos);
  CHECK(parse_error("feature_scale: {methd: x}").find("unknown parameter") != std::string::npos);
  CHECK(parse_error("class_weight: heavy").find("class_weight") != std::string::npos);
  CHECK(parse_error("class_weight: {0: 1, 2: 3}").find("class_weight.2") != std::string::npos);
  CHECK(parse_error("class_weight: {1: -3}").find("positive") != std::string::npos);
  CHECK(parse_error("early_stopping_rounds: 3").find("needs validation_freqs") != std::string::npos);
  CHECK(parse_error("validation_freqs: 0").find("validation_freqs") != std::string::npos);
  CHECK(parse_error("validation_freqs: 2\nmetrics: [lift]").find("metrics") != std::string::npos);
  CHECK(parse_error("choose_threshold: best").find("choose_threshold") != std::string::npos);
  CHECK(parse_error("validation_freqs: 2\ncallback_param: {validation_freqs: 3}").find("given twice") != std::string::npos);
  CHECK(parse_error("homo_statistics: global").find("homo_statistics") != std::string::npos);
  // a per-column list of the wrong length is found once the columns are known
  PrepParams p = params("feature_scale: {method: min_max_scale, feat_upper: [1, 2, 3]}");
  Dataset d = table({{1, 2}});
  FittedPrep fp = fit_cells(p, d, local_sum());
  CHECK_THROWS_WITH_AS(fit_scale(p, d, local_sum(), fp), doctest::Contains("feature_scale.feat_upper"), Error);
}

TEST_CASE("sample weights: balanced, given, column, normalised") {
  Dataset d = table({{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}});
  d.labels = {1, 0, 0, 0, 0, 0};
  auto p = SampleWeightParams::parse(yaml::parse("class_weight: balanced", "j"), "j");
  WeightSummary ws;
  auto w = sample_weights(p, d, local_sum(), &ws);
  CHECK(ws.w1 == doctest::Approx(3.0));  // 6 / (2·1)
  CHECK(ws.w0 == doctest::Approx(0.6));  // 6 / (2·5)
  CHECK(w[0] == doctest::Approx(3.0));
  auto g = SampleWeightParams::parse(yaml::parse("sample_weight: {class_weight: {0: 1, 1: 10}}", "j"), "j");
  CHECK(sample_weights(g, d, local_sum())[0] == 10.0);
  d.weights = {1, 2, 3, 4, 5, 15};
  auto c = SampleWeightParams::parse(yaml::parse("sample_weight: {sample_weight_name: wt, normalize: true}", "j"), "j");
  auto cw = sample_weights(c, d, local_sum());
  CHECK(cw[5] == doctest::Approx(15.0 / 5.0));  // mean weight 5
  std::vector<double> m{1, 3};
  scale_to_mean_one(m);
  CHECK(m == std::vector<double>{0.5, 1.5});
}

TEST_CASE("validation: FATE's frequencies, recorder and best models") {
  auto p = ValidationParams::parse(
      yaml::parse("validation_freqs: 2\nearly_stopping_rounds: 2\nmetrics: [auc, ks]\nchoose_threshold: max_ks", "j"), "j");
  CHECK(!p.need_run(0));
  CHECK(p.need_run(1));
  CHECK(p.threshold == ThresholdRule::MaxKs);
  auto l = ValidationParams::parse(yaml::parse("callback_param: {validation_freqs: [0, 4]}", "j"), "j");
  CHECK(l.need_run(0));
  CHECK(!l.need_run(1));
  CHECK(l.need_run(4));
  EarlyStopping es(p);
  BestModels best(p.tracked().size());
  Verdict v = es.update(1, {{"auc", 0.8}, {"ks", 0.5}});
  CHECK(v.improved == 3);
  best.record(v, {1.0}, 1);
  v = es.update(3, {{"auc", 0.9}, {"ks", 0.4}});
  CHECK(v.improved == 1);
  best.record(v, {2.0}, 3);
  v = es.update(5, {{"auc", 0.85}, {"ks", 0.45}});
  CHECK(v.stop);  // ks: two rounds without improvement
  CHECK(v.stop_metric == 1);
  long e = -1;
  const auto* w = best.final(v, &e);
  REQUIRE(w);
  CHECK(*w == std::vector<double>{1.0});  // the best ks model
  CHECK(e == 1);
  // state survives a checkpoint
  EarlyStopping again(p);
  again.load_state(yaml::parse(yaml::to_json(es.state()), "ck"));
  CHECK(again.update(7, {{"auc", 0.95}, {"ks", 0.4}}).stop);
  CHECK(decode_verdict(encode(v)).stop_metric == 1);
  CHECK(verdict_from(yaml::parse(yaml::to_json(verdict_yaml(v)), "ck")).stop);
  auto first = ValidationParams::parse(yaml::parse("validation_freqs: 1\nuse_first_metric_only: true", "j"), "j");
  CHECK(first.tracked() == std::vector<std::string>{"auc"});
}
