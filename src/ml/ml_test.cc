// Unit tests of the trainer's building blocks: PRNG, CSV validation, metrics (known answers),
// optimizers, parameters and secure-aggregation pads.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ml/data.h"
#include "fatectl/ml/metrics.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/params.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/secure_agg.h"
#include "fatectl/ml/wire.h"

using namespace fatectl;
using namespace fatectl::ml;

namespace {
std::string write_tmp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / "fatectl-ml-test";
  std::filesystem::create_directories(dir);
  std::string p = (dir / name).string();
  std::ofstream(p) << text;
  return p;
}
std::string load_error(const std::string& name, const std::string& text, bool label = true) {
  DataSpec s;
  s.path = write_tmp(name, text);
  s.with_label = label;
  try {
    load_csv(s);
  } catch (const Error& e) {
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("rng: SplitMix64 reference values and determinism") {
  Rng r(0xcbf29ce484222325ULL, "");  // state 0: the published SplitMix64 sequence
  CHECK(r.next() == 0xe220a8397b1dcdafULL);
  CHECK(r.next() == 0x6e789e6aa1b965f4ULL);
  Rng a(42, "init/guest"), b(42, "init/guest"), c(42, "init/host/0");
  double x = a.uniform();
  CHECK(x == b.uniform());
  CHECK(x != c.uniform());
  CHECK(x >= 0.0);
  CHECK(x < 1.0);
  std::vector<int> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, w = v;
  Rng(1, "s").shuffle(v);
  Rng(1, "s").shuffle(w);
  CHECK(v == w);
  std::sort(w.begin(), w.end());
  CHECK(w == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("data: loads a valid file") {
  DataSpec s;
  s.path = write_tmp("ok.csv", "id,y,x0,x1\na,1,0.5,-1\nb,0,1e-3,2\n");
  s.with_label = true;
  Dataset d = load_csv(s);
  CHECK(d.rows() == 2);
  CHECK(d.cols() == 2);
  CHECK(d.labels == std::vector<double>{1, 0});
  CHECK(d.row(1)[0] == doctest::Approx(1e-3));
  CHECK(d.feature_names == std::vector<std::string>{"x0", "x1"});
}

TEST_CASE("data: bad files name file, row and column") {
  CHECK(load_error("empty.csv", "").find("empty.csv:1: empty file") != std::string::npos);
  CHECK(load_error("nolabel.csv", "id,x0\n1,2\n").find("nolabel.csv:1: y: no label column 'y'") != std::string::npos);
  CHECK(load_error("noid.csv", "key,y,x0\n1,1,2\n").find("noid.csv:1: id: no id column") != std::string::npos);
  CHECK(load_error("nan.csv", "id,y,x0,x1\n1,1,2,3\n2,0,nan,4\n").find("nan.csv:3:3: x0: not a finite number") != std::string::npos);
  CHECK(load_error("text.csv", "id,y,x0,x1\n1,1,2,abc\n").find("text.csv:2:4: x1: not a number: 'abc'") != std::string::npos);
  CHECK(load_error("dup.csv", "id,y,x0\n7,1,2\n7,0,3\n").find("dup.csv:3:1: id: duplicate id '7'") != std::string::npos);
  CHECK(load_error("cells.csv", "id,y,x0\n7,1\n").find("cells.csv:2: row has 2 cells, the header has 3") != std::string::npos);
  CHECK(load_error("blank.csv", "id,y,x0\n7,1,\n").find("blank.csv:2:3: x0: empty cell") != std::string::npos);
  CHECK(load_error("label.csv", "id,y,x0\n7,2,1\n").find("label.csv:2:2: y: label must be 0 or 1") != std::string::npos);
  CHECK(load_error("rows.csv", "id,y,x0\n").find("rows.csv:1: no data rows") != std::string::npos);
  CHECK(load_error("hdr.csv", "id,y,x0,x0\n1,1,1,1\n").find("hdr.csv:1:4: x0: duplicate column name") != std::string::npos);
}

TEST_CASE("metrics: known answers (FATE definitions)") {
  std::vector<double> y{1, 0, 1, 0}, s{0.9, 0.8, 0.7, 0.1};
  CHECK(auc(y, s) == doctest::Approx(0.75));
  CHECK(ks(y, s) == doctest::Approx(0.5));
  Metrics m = evaluate(y, s, 0.5);
  CHECK(m.tp == 2);
  CHECK(m.fp == 1);
  CHECK(m.tn == 1);
  CHECK(m.fn == 0);
  CHECK(m.accuracy == doctest::Approx(0.75));
  CHECK(m.precision == doctest::Approx(2.0 / 3));
  CHECK(m.recall == doctest::Approx(1.0));
  CHECK(m.f1 == doctest::Approx(0.8));
  // Ties count half (sklearn's roc_auc_score).
  CHECK(auc({1, 0}, {0.5, 0.5}) == doctest::Approx(0.5));
  CHECK(auc({1, 1, 0, 0}, {0.4, 0.6, 0.6, 0.2}) == doctest::Approx(0.625));
  // Perfect separation: KS 1; nothing flagged: precision 1 (FATE), recall 0.
  CHECK(ks({1, 1, 0, 0}, {0.9, 0.8, 0.2, 0.1}) == doctest::Approx(1.0));
  Metrics z = evaluate({1, 0}, {0.2, 0.1}, 0.5);
  CHECK(z.precision == 1.0);
  CHECK(z.recall == 0.0);
  CHECK_THROWS_AS(auc({1, 1}, {0.2, 0.3}), Error);
  CHECK(sigmoid(0) == 0.5);
  CHECK(sigmoid(-800) >= 0.0);
  CHECK(sigmoid(800) == 1.0);
}

TEST_CASE("optimizer: FATE update rules") {
  LrParams p;
  p.learning_rate = 0.1;
  p.decay = 1;
  CHECK(decayed_lr(p, 0) == doctest::Approx(0.1));
  CHECK(decayed_lr(p, 3) == doctest::Approx(0.05));
  p.decay_sqrt = false;
  CHECK(decayed_lr(p, 3) == doctest::Approx(0.025));
  p.decay_sqrt = true;
  p.decay = 0;
  p.optimizer = OptimizerKind::Sgd;
  CHECK(Optimizer(p).step({2.0}, 0)[0] == doctest::Approx(0.2));
  p.optimizer = OptimizerKind::RmsProp;
  CHECK(Optimizer(p).step({2.0}, 0)[0] == doctest::Approx(0.1 * 2 / std::sqrt(0.04 + 1e-6)));
  p.optimizer = OptimizerKind::Adagrad;
  CHECK(Optimizer(p).step({2.0}, 0)[0] == doctest::Approx(0.1 * 2 / (2 + 1e-7)));
  p.optimizer = OptimizerKind::Adam;
  CHECK(Optimizer(p).step({2.0}, 0)[0] == doctest::Approx(0.1 * 2 / (2 + 1e-8)));
  p.optimizer = OptimizerKind::NesterovMomentumSgd;
  Optimizer n(p);
  CHECK(n.step({1.0}, 0)[0] == doctest::Approx(0.19));  // v = -0.1; Δ = 0 - 1.9·(-0.1)
  CHECK(n.step({1.0}, 0)[0] == doctest::Approx(0.9 * -0.1 - 1.9 * (0.9 * -0.1 - 0.1)));
  // Optimizer state survives a checkpoint round trip exactly.
  p.optimizer = OptimizerKind::Adam;
  Optimizer a(p), b(p);
  a.step({0.3, -0.7}, 0);
  b.load_state(yaml::parse(yaml::to_json(a.state(), false), "state"));
  CHECK(a.step({0.1, 0.2}, 1) == b.step({0.1, 0.2}, 1));
  // L1 soft threshold; intercept only gets −Δ.
  p.penalty = Penalty::L1;
  p.alpha = 1;
  p.learning_rate = 0.1;
  std::vector<double> w{0.5, -0.05, 1.0};
  apply_update(w, {0.1, 0.0, 0.1}, p, 4, true);
  CHECK(w[0] == doctest::Approx(0.35));
  CHECK(w[1] == 0.0);
  CHECK(w[2] == doctest::Approx(0.9));
  p.penalty = Penalty::L2;
  p.alpha = 2;
  CHECK(penalty_value({1, 2, 100}, p, true) == doctest::Approx(5));
  CHECK(penalty_gradient({1, 2, 100}, p, true) == std::vector<double>{2, 4, 0});
}

TEST_CASE("params: FATE defaults and line-precise errors") {
  LrParams d = LrParams::parse(YAML::Node(), "job.yaml");
  CHECK(d.optimizer == OptimizerKind::RmsProp);
  CHECK(d.alpha == 1.0);
  CHECK(d.learning_rate == 0.01);
  CHECK(d.max_iter == 100);
  CHECK(d.key_length == 2048);
  CHECK(d.floating_point_precision == 23);
  auto err = [](const std::string& text) {
    try {
      LrParams::parse(yaml::parse(text, "job.yaml"), "job.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(err("optimizer: adamw\n").find("job.yaml:1:12: algorithm.params.optimizer: unknown value 'adamw'") != std::string::npos);
  CHECK(err("max_iter: 0\n").find("max_iter: must be >= 1") != std::string::npos);
  CHECK(err("lerning_rate: 0.1\n").find("unknown parameter") != std::string::npos);
  CHECK(err("encrypt_param: {key_length: 1024}\n").find("allow_insecure_key_size") != std::string::npos);
  CHECK(err("encrypt_param: {key_length: 1024, allow_insecure_key_size: true}\n").empty());
}

TEST_CASE("params: numbers are converted and range-checked here, never by yaml-cpp (bad conversion)") {
  auto err = [](const std::string& text) {
    try {
      LrParams::parse(yaml::parse(text, "job.yaml"), "job.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(err("max_iter: 99999999999999999999\n") ==
        "job.yaml:1:11: algorithm.params.max_iter: expected an integer that fits in 64 bits, got \"99999999999999999999\"");
  CHECK(err("learning_rate: 1e999\n").find("learning_rate: expected a finite number") != std::string::npos);
  CHECK(err("alpha: .inf\n").find("alpha: expected a finite number") != std::string::npos);
  CHECK(err("floating_point_precision: 4294967319\n").find("expected an integer in [8, 30]") != std::string::npos);
  CHECK(err("threads: -1\n").find("threads: expected an integer in [0, 4096]") != std::string::npos);
  CHECK(err("masked_rate: 1000000000000000000\n").find("masked_rate: expected an integer in [0, 1000]") != std::string::npos);
  CHECK(err("init_param: {random_seed: 1e5}\n").find("init_param.random_seed: expected an integer") != std::string::npos);
  CHECK(err("max_iter: +7\n").empty());
}

TEST_CASE("wire: declared counts are checked against the bytes present before anything is built") {
  WireWriter w;
  w.u64(uint64_t(1) << 61);  // 2^61 doubles: n * 8 wraps to 0
  std::string b = w.take();
  WireReader r(b, "m");
  CHECK_THROWS_WITH_AS(r.f64s(), "malformed message 'm': truncated", Error);
  WireReader r2(b, "m");
  CHECK_THROWS_WITH_AS(r2.u64s(), "malformed message 'm': truncated", Error);
  WireReader r3(b, "m");
  CHECK_THROWS_WITH_AS(r3.str(), "malformed message 'm': truncated", Error);
  WireWriter ok;
  ok.f64s({1.5, 2.5}).str("x");
  WireReader r4(ok.take(), "m");
  CHECK(r4.f64s() == std::vector<double>{1.5, 2.5});
  CHECK(r4.str() == "x");
  r4.done();
}

TEST_CASE("csv: a row longer than 1 MiB is refused at the cap, rows are read one at a time") {
  std::string p = write_tmp("long-row.csv", "id,y,x0\n1,1," + std::string(2 << 20, '1') + "\n");
  DataSpec spec;
  spec.path = p;
  spec.with_label = true;
  CHECK_THROWS_WITH_AS(load_csv(spec), doctest::Contains("long-row.csv:2: row is longer than 1 MiB"), Error);
  std::istringstream in("id,y,x0\n1,1,0.5\n2,0,-1\n");
  spec.path = "mem.csv";
  Dataset d = load_csv(spec, in);
  CHECK(d.rows() == 2);
  CHECK(d.x == std::vector<double>{0.5, -1});
}

TEST_CASE("secure aggregation: pads cancel in the sum") {
  PadCipher a, b, c;
  a.add_peer(2, b.public_key());
  a.add_peer(3, c.public_key());
  b.add_peer(1, a.public_key());
  b.add_peer(3, c.public_key());
  c.add_peer(1, a.public_key());
  c.add_peer(2, b.public_key());
  std::vector<uint64_t> va{to_fixed(1.5), to_fixed(-2)}, vb{to_fixed(0.25), to_fixed(3)}, vc{to_fixed(-0.75), to_fixed(1)};
  auto ma = a.mask(1, "job", 0, va), mb = b.mask(2, "job", 0, vb), mc = c.mask(3, "job", 0, vc);
  CHECK(ma != va);  // masked
  CHECK(from_fixed(ma[0] + mb[0] + mc[0]) == doctest::Approx(1.0));
  CHECK(from_fixed(ma[1] + mb[1] + mc[1]) == doctest::Approx(2.0));
  CHECK(a.mask(1, "job", 1, va) != ma);  // fresh pads every round
  CHECK_THROWS_AS(a.add_peer(4, "short"), Error);
}
