#include "fatectl/ml/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "param_reader.h"

namespace fatectl::ml {

using detail::lower;
using detail::Reader;

const char* to_string(Penalty p) { return p == Penalty::L1 ? "L1" : p == Penalty::L2 ? "L2" : "none"; }
const char* to_string(OptimizerKind o) {
  switch (o) {
    case OptimizerKind::Sgd: return "sgd";
    case OptimizerKind::RmsProp: return "rmsprop";
    case OptimizerKind::Adagrad: return "adagrad";
    case OptimizerKind::Adam: return "adam";
    case OptimizerKind::NesterovMomentumSgd: return "nesterov_momentum_sgd";
  }
  return "?";
}
const char* to_string(EarlyStop e) { return e == EarlyStop::Diff ? "diff" : e == EarlyStop::Abs ? "abs" : "weight_diff"; }
const char* to_string(InitMethod m) {
  switch (m) {
    case InitMethod::RandomUniform: return "random_uniform";
    case InitMethod::RandomNormal: return "random_normal";
    case InitMethod::Zeros: return "zeros";
    case InitMethod::Ones: return "ones";
    case InitMethod::Const: return "const";
  }
  return "?";
}

namespace {
LrParams read_params(const YAML::Node& node, const std::string& file);
}

LrParams LrParams::parse(const YAML::Node& node, const std::string& file) {
  return yaml::at_edge(file, [&] { return read_params(node, file); });
}

namespace {
LrParams read_params(const YAML::Node& node, const std::string& file) {
  LrParams p;
  if (!node || node.IsNull()) return p;
  Reader r{file, "algorithm.params."};
  if (!node.IsMap()) throw r.err(node, "", "expected a mapping of parameters");
  r.known(node, {"penalty", "tol", "alpha", "optimizer", "batch_size", "shuffle", "masked_rate", "learning_rate",
                 "init_param", "max_iter", "early_stop", "decay", "decay_sqrt", "encrypt_param",
                 "floating_point_precision", "predict_param", "mask_gradients", "aggregate_iters", "threads",
                 "batch_strategy", "id_column", "label_column",
                 // parsed by MlJob (prep.h, sample_weight.h, validation.h):
                 "data_transform", "feature_scale", "homo_statistics", "class_weight", "sample_weight",
                 "callback_param", "validation_freqs", "early_stopping_rounds", "metrics", "use_first_metric_only",
                 "choose_threshold",
                 // id alignment, parsed by IntersectParams (intersect_params.h):
                 "intersect_method", "min_intersect_rows", "min_intersect_ratio", "allow_host_label_column"});
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string k = it->first.Scalar();
    const YAML::Node v = it->second;  // by value: it-> yields a temporary
    if (k == "penalty")
      p.penalty = r.choice<Penalty>(v, k, {{"L2", Penalty::L2}, {"L1", Penalty::L1}, {"none", Penalty::None}});
    else if (k == "tol") p.tol = r.num(v, k);
    else if (k == "alpha") p.alpha = r.num(v, k);
    else if (k == "optimizer")
      p.optimizer = r.choice<OptimizerKind>(v, k, {{"sgd", OptimizerKind::Sgd}, {"rmsprop", OptimizerKind::RmsProp},
                                                   {"adagrad", OptimizerKind::Adagrad}, {"adam", OptimizerKind::Adam},
                                                   {"nesterov_momentum_sgd", OptimizerKind::NesterovMomentumSgd}});
    else if (k == "batch_size") p.batch_size = r.integer(v, k);
    else if (k == "shuffle") p.shuffle = r.boolean(v, k);
    else if (k == "masked_rate") p.masked_rate = r.integer(v, k, 0, 1000);
    else if (k == "learning_rate") p.learning_rate = r.num(v, k);
    else if (k == "max_iter") p.max_iter = r.integer(v, k);
    else if (k == "early_stop")
      p.early_stop = r.choice<EarlyStop>(v, k, {{"diff", EarlyStop::Diff}, {"abs", EarlyStop::Abs},
                                                {"weight_diff", EarlyStop::WeightDiff}});
    else if (k == "decay") p.decay = r.num(v, k);
    else if (k == "decay_sqrt") p.decay_sqrt = r.boolean(v, k);
    else if (k == "floating_point_precision") p.floating_point_precision = static_cast<int>(r.integer(v, k, 8, 30));
    else if (k == "mask_gradients") p.mask_gradients = r.boolean(v, k);
    else if (k == "aggregate_iters") p.aggregate_iters = r.integer(v, k);
    else if (k == "threads") p.threads = static_cast<unsigned>(r.integer(v, k, 0, 4096));
    else if (k == "id_column" || k == "label_column") {
      if (!v.IsScalar() || v.Scalar().empty()) throw r.err(v, k, "expected a column name");
    } else if (k == "batch_strategy") {
      if (lower(r.text(v, k)) != "full") throw r.err(v, k, "only 'full' is supported (batches cover every row)");
    } else if (k == "init_param") {
      Reader s{file, "algorithm.params.init_param."};
      if (!v.IsMap()) throw r.err(v, k, "expected a mapping");
      s.known(v, {"init_method", "init_const", "fit_intercept", "random_seed"});
      for (auto jt = v.begin(); jt != v.end(); ++jt) {
        std::string kk = jt->first.Scalar();
        const YAML::Node vv = jt->second;
        if (kk == "init_method")
          p.init_method = s.choice<InitMethod>(vv, kk, {{"random_uniform", InitMethod::RandomUniform},
                                                       {"random_normal", InitMethod::RandomNormal},
                                                       {"zeros", InitMethod::Zeros}, {"ones", InitMethod::Ones},
                                                       {"const", InitMethod::Const}});
        else if (kk == "init_const") p.init_const = s.num(vv, kk);
        else if (kk == "fit_intercept") p.fit_intercept = s.boolean(vv, kk);
        else if (kk == "random_seed") {
          if (yaml::scalar_type(vv) == yaml::ScalarType::Null) p.random_seed.reset();
          else {
            long seed = s.integer(vv, kk);
            if (seed < 0) throw s.err(vv, kk, "must be a non-negative integer");
            p.random_seed = static_cast<uint64_t>(seed);
          }
        }
      }
    } else if (k == "encrypt_param") {
      Reader s{file, "algorithm.params.encrypt_param."};
      if (!v.IsMap()) throw r.err(v, k, "expected a mapping");
      s.known(v, {"method", "key_length", "allow_insecure_key_size", "obfuscation"});
      for (auto jt = v.begin(); jt != v.end(); ++jt) {
        std::string kk = jt->first.Scalar();
        const YAML::Node vv = jt->second;
        if (kk == "method") {
          if (lower(s.text(vv, kk)) != "paillier") throw s.err(vv, kk, "only 'Paillier' is supported");
        } else if (kk == "key_length") {
          long bits = s.integer(vv, kk, 0, 1L << 20);
          if (bits < 512 || bits > 8192 || bits % 2) throw s.err(vv, kk, "must be an even number of bits in [512, 8192]");
          p.key_length = static_cast<unsigned>(bits);
        } else if (kk == "allow_insecure_key_size") p.allow_insecure_key_size = s.boolean(vv, kk);
        else if (kk == "obfuscation") {
          std::string o = lower(s.text(vv, kk));
          if (o != "fixed-base" && o != "textbook") throw s.err(vv, kk, "one of: fixed-base, textbook");
          p.obfuscation = o;
        }
      }
    } else if (k == "predict_param") {
      Reader s{file, "algorithm.params.predict_param."};
      if (!v.IsMap()) throw r.err(v, k, "expected a mapping");
      s.known(v, {"threshold"});
      if (v["threshold"]) p.threshold = s.num(v["threshold"], "threshold");
    }
  }
  // Cross-checks, pointing at the offending key.
  auto at = [&](const char* key) { return node[key] ? node[key] : node; };
  if (p.tol < 0) throw r.err(at("tol"), "tol", "must be >= 0");
  if (p.alpha < 0) throw r.err(at("alpha"), "alpha", "must be >= 0");
  if (!(p.learning_rate > 0)) throw r.err(at("learning_rate"), "learning_rate", "must be > 0");
  if (p.max_iter < 1) throw r.err(at("max_iter"), "max_iter", "must be >= 1");
  if (p.batch_size != -1 && p.batch_size < 1) throw r.err(at("batch_size"), "batch_size", "must be -1 (full batch) or >= 1");
  if (p.masked_rate < 0) throw r.err(at("masked_rate"), "masked_rate", "must be >= 0");
  if (p.decay < 0) throw r.err(at("decay"), "decay", "must be >= 0");
  if (p.floating_point_precision < 8 || p.floating_point_precision > 30)
    throw r.err(at("floating_point_precision"), "floating_point_precision", "must be in [8, 30] (FATE's default is 23)");
  if (p.aggregate_iters < 1) throw r.err(at("aggregate_iters"), "aggregate_iters", "must be >= 1");
  if (p.key_length < 2048 && !p.allow_insecure_key_size)
    throw r.err(node["encrypt_param"] ? node["encrypt_param"] : node, "encrypt_param.key_length",
                std::to_string(p.key_length) +
                    "-bit keys are below 2048 bits; set encrypt_param.allow_insecure_key_size: true for tests and demos");
  if (!(p.threshold > 0 && p.threshold < 1)) throw r.err(at("predict_param"), "predict_param.threshold", "must be in (0, 1)");
  return p;
}
}  // namespace

YAML::Node LrParams::to_yaml() const {
  YAML::Node n;
  n["penalty"] = to_string(penalty);
  n["tol"] = tol;
  n["alpha"] = alpha;
  n["optimizer"] = to_string(optimizer);
  n["batch_size"] = batch_size;
  n["shuffle"] = shuffle;
  n["masked_rate"] = masked_rate;
  n["learning_rate"] = learning_rate;
  n["init_param"]["init_method"] = to_string(init_method);
  n["init_param"]["init_const"] = init_const;
  n["init_param"]["fit_intercept"] = fit_intercept;
  if (random_seed) n["init_param"]["random_seed"] = *random_seed;
  n["max_iter"] = max_iter;
  n["early_stop"] = to_string(early_stop);
  n["decay"] = decay;
  n["decay_sqrt"] = decay_sqrt;
  n["encrypt_param"]["method"] = "Paillier";
  n["encrypt_param"]["key_length"] = key_length;
  n["encrypt_param"]["obfuscation"] = obfuscation;
  n["floating_point_precision"] = floating_point_precision;
  n["predict_param"]["threshold"] = threshold;
  n["mask_gradients"] = mask_gradients;
  n["aggregate_iters"] = aggregate_iters;
  return n;
}

}  // namespace fatectl::ml
