// Unit tests of FATE's evaluation definitions (evaluation.h) on small hand-checked cases.
#include <doctest/doctest.h>

#include <cmath>

#include "fatectl/core/error.h"
#include "fatectl/ml/evaluation.h"
#include "fatectl/ml/metrics.h"

using namespace fatectl;
using namespace fatectl::ml;

TEST_CASE("evaluation: score index, confusion counts, AUC and average precision") {
  // scores descending: .9(1) .8(0) .7(1) .6(1) .5(0) .4(0)
  std::vector<double> y{1, 0, 1, 1, 0, 0}, s{0.9, 0.8, 0.7, 0.6, 0.5, 0.4};
  ScoreIndex ix(y, s);
  CHECK(ix.positives() == 3);
  CHECK(ix.above(0.65) == std::pair<size_t, size_t>{2, 1});
  CHECK(ix.above(0.9) == std::pair<size_t, size_t>{0, 0});  // strictly above
  auto t = ix.confusion({0.0, 0.55, 0.85});
  CHECK(t.tp == std::vector<uint64_t>{3, 3, 1});
  CHECK(t.fp == std::vector<uint64_t>{3, 1, 0});
  CHECK(t.fn == std::vector<uint64_t>{0, 0, 2});
  CHECK(t.tn == std::vector<uint64_t>{0, 2, 3});
  // AUC: pairs (pos > neg): .9 beats 3, .7 beats 2, .6 beats 2 → 7/9
  CHECK(roc_auc(ix) == doctest::Approx(7.0 / 9));
  CHECK(roc_auc(ix) == doctest::Approx(auc(y, s)));
  // AP = 1/3·1 + 1/3·2/3 + 1/3·3/4
  CHECK(average_precision(ix) == doctest::Approx(1.0 / 3 + 2.0 / 9 + 0.25));
  // confusion_table agrees and does not need both classes
  auto c = confusion_table(y, s, {0.0, 0.55, 0.85});
  CHECK(c.tp == t.tp);
  CHECK(c.tn == t.tn);
  auto one = confusion_table({0, 0}, {0.3, 0.7}, {0.5});
  CHECK(one.fp[0] == 1);
  CHECK_THROWS_AS(ScoreIndex({0, 0}, {0.1, 0.2}), Error);
  CHECK(unflatten(flatten(t), t.thresholds).fp == t.fp);
}

TEST_CASE("evaluation: ties count half in AUC") {
  std::vector<double> y{1, 0, 1, 0}, s{0.5, 0.5, 0.5, 0.5};
  ScoreIndex ix(y, s);
  CHECK(roc_auc(ix) == doctest::Approx(0.5));
  auto r = roc_curve(ix);
  CHECK(r.x.front() == 0.0);
  CHECK(r.y.front() == 0.0);
  CHECK(r.x.back() == 1.0);
  CHECK(r.y.back() == 1.0);
  CHECK(r.thresholds.front() == doctest::Approx(1.5));  // highest score + 1, as scikit-learn < 1.3
}

TEST_CASE("evaluation: FATE's threshold cuts use int(n * (k/100))") {
  // 100 distinct scores: k = 29 gives index 28, because 100 * 0.29 = 28.999… in binary floating point.
  std::vector<double> y, s;
  for (int i = 0; i < 100; ++i) {
    y.push_back(i % 7 == 0 ? 1 : 0);
    s.push_back(1.0 - i / 100.0);
  }
  ScoreIndex ix(y, s);
  auto it = index_thresholds(ix);
  REQUIRE(it.size() == 100);
  CHECK(it[29] == ix.sorted()[28]);
  CHECK(it[30] == ix.sorted()[30]);
  auto st = step_thresholds(ix);
  CHECK(st[0] == ix.sorted()[0]);
  auto k = ks_curve(ix);
  CHECK(k.cuts.size() == 101);
  CHECK(k.tpr.back() == 1.0);
  CHECK(k.value == doctest::Approx(ks(y, s)));
  auto ft = fixed_thresholds();
  CHECK(ft.size() == 100);
  CHECK(ft[29] == 29 * 0.01);
}

TEST_CASE("evaluation: lift, gain and PR keep the best y per x and end where FATE ends them") {
  std::vector<double> y{1, 0, 1, 0, 0, 0, 0, 0, 1, 0}, s;
  for (int i = 0; i < 10; ++i) s.push_back(0.95 - 0.09 * i);
  ScoreIndex ix(y, s);
  auto g = gain_curve(ix);
  CHECK(g.x.back() == 1.0);
  CHECK(g.y.back() == 1.0);
  for (size_t i = 1; i + 1 < g.x.size(); ++i) CHECK(g.x[i] > g.x[i - 1]);
  auto l = lift_curve(ix);
  CHECK(l.y.front() == doctest::Approx((1.0 / 1) / 0.3));  // top row is a positive: precision 1 / rate 0.3
  auto pr = pr_curve(ix);
  CHECK(pr.x.front() == 0.0);  // nothing scores above the top score: recall 0, precision 1 (FATE)
  CHECK(pr.y.front() == doctest::Approx(1.0));
}

TEST_CASE("evaluation: threshold choice and the YAML section") {
  std::vector<double> y{1, 1, 0, 0, 0, 1, 0, 0}, s{0.95, 0.9, 0.85, 0.3, 0.2, 0.6, 0.1, 0.05};
  auto cands = threshold_candidates();
  CHECK(cands.front() < 1e-4);
  CHECK(cands.back() > 0.9999);
  CHECK(std::is_sorted(cands.begin(), cands.end()));
  auto table = confusion_table(y, s, cands);
  double f1 = choose_threshold(table, ThresholdRule::MaxF1);
  // every positive above 0.55 and only one negative (0.85): F1 = 2·0.75·1/1.75
  Metrics m = evaluate(y, s, f1);
  CHECK(m.f1 == doctest::Approx(2 * 0.75 / 1.75));
  double kst = choose_threshold(table, ThresholdRule::MaxKs);
  Metrics mk = evaluate(y, s, kst);
  CHECK(mk.recall == 1.0);
  YAML::Node e = evaluation_yaml(y, s, 0.5);
  CHECK(e["curves"]["roc"]["fpr"].size() == e["curves"]["roc"]["tpr"].size());
  CHECK(e["curves"]["confusion_mat"]["tp"].size() == 100);
  CHECK(e["curves"]["histogram"]["positive"].size() == 50);
  CHECK(e["average_precision"].as<double>() > 0);
  YAML::Node one = evaluation_yaml({0, 0}, {0.2, 0.4}, 0.5);
  CHECK(one["note"]);
  CHECK(!one["auc"]);
}
