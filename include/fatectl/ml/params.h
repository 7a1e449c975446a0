#pragma once
// Logistic-regression parameters with FATE 1.11's names and defaults (HeteroLogisticParam /
// HomoLogisticParam), plus fatectl's additions (mask_gradients, key options), parsed from the
// job file's `algorithm.params` with file:line:col errors.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>

namespace fatectl::ml {

enum class Penalty { None, L1, L2 };
enum class OptimizerKind { Sgd, RmsProp, Adagrad, Adam, NesterovMomentumSgd };
enum class EarlyStop { Diff, Abs, WeightDiff };
enum class InitMethod { RandomUniform, RandomNormal, Zeros, Ones, Const };

/// Everything that shapes training. Defaults are FATE 1.11.4's.
struct LrParams {
  Penalty penalty = Penalty::L2;
  double tol = 1e-4;
  double alpha = 1.0;
  OptimizerKind optimizer = OptimizerKind::RmsProp;
  long batch_size = -1;  ///< -1: the whole data set is one batch
  bool shuffle = true;
  long masked_rate = 5;  ///< hetero: decoy rows sent to hosts per real row (mini-batch only)
  double learning_rate = 0.01;
  InitMethod init_method = InitMethod::RandomUniform;
  double init_const = 1.0;
  bool fit_intercept = true;
  std::optional<uint64_t> random_seed;  ///< none: drawn at start and recorded in the checkpoint
  long max_iter = 100;
  EarlyStop early_stop = EarlyStop::Diff;
  double decay = 1.0;
  bool decay_sqrt = true;
  unsigned key_length = 2048;
  bool allow_insecure_key_size = false;  ///< needed for key_length < 2048 (tests, demos)
  std::string obfuscation = "fixed-base"; ///< fixed-base | textbook
  int floating_point_precision = 23;
  double threshold = 0.5;
  bool mask_gradients = false;  ///< fatectl: guest/hosts mask gradients so the arbiter never sees them
  long aggregate_iters = 1;     ///< homo: secure aggregation every this many epochs
  unsigned threads = 0;         ///< 0 = all cores

  /// Parses a params mapping (may be null → defaults); `file` names the source in errors.
  static LrParams parse(const YAML::Node& node, const std::string& file);
  YAML::Node to_yaml() const;
};

const char* to_string(Penalty p);
const char* to_string(OptimizerKind o);
const char* to_string(EarlyStop e);
const char* to_string(InitMethod m);

}  // namespace fatectl::ml
