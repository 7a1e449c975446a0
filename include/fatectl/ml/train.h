#pragma once
// Running the trainer: the job's learning settings (from fed::Job), one party's run (train or
// predict) over a fed::Channel, and the in-process runner that plays every party on threads.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fatectl/fed/channel.h"
#include "fatectl/fed/job.h"
#include "fatectl/ml/data.h"
#include "fatectl/ml/intersect_params.h"
#include "fatectl/ml/params.h"
#include "fatectl/ml/prep.h"
#include "fatectl/ml/sample_weight.h"
#include "fatectl/ml/validation.h"

namespace fatectl::ml {

enum class Algorithm { HeteroLr, HomoLr };

/// The learning view of a job file: algorithm, parameters, who plays which role, data files.
/// `algorithm.params` takes FATE's LR parameter names plus `id_column` / `label_column`.
/// A party's `data:` is [training file] or [training file, validation file].
struct MlJob {
  std::string file;  ///< the job file (for messages)
  std::string id;
  Algorithm algorithm = Algorithm::HeteroLr;
  LrParams params;
  IntersectParams intersect;  ///< hetero id alignment (docs/psi.md)
  std::string id_column = "id", label_column = "y";
  bool id_column_given = false;   ///< homo without `id_column`: a file with no "id" column gets row numbers
  PrepParams prep;                ///< data_transform, feature_scale, homo_statistics (prep.h)
  SampleWeightParams weights;     ///< class_weight, sample_weight (sample_weight.h)
  ValidationParams validation;    ///< validation_freqs, early_stopping_rounds, … (validation.h)
  YAML::Node params_source;       ///< algorithm.params as written (for metrics.json and the report)
  long guest = 0, arbiter = 0;
  std::vector<long> hosts;  ///< in job-file order (host index k = position here)
  std::map<long, std::vector<std::string>> data;
  std::chrono::milliseconds timeout{72LL * 3600 * 1000};  ///< longest wait for one peer message

  /// Validates roles and data for the algorithm ("hetero_lr" / "homo_lr"); errors name the job file.
  static MlJob from_job(const fed::Job& job);
  std::string role_of(long party) const;  ///< "guest", "host" or "arbiter"
  int host_index(long party) const;       ///< -1 when not a host
  DataSpec data_spec(long party, size_t which) const;
  bool has_data(long party, size_t which) const;
};

/// What one epoch looked like (for the progress line).
struct EpochReport {
  long party = 0;
  long epoch = 0;  ///< 1-based count of finished epochs
  long max_iter = 0;
  bool has_loss = false;
  double loss = 0;
  double elapsed_s = 0;
  double epoch_s = 0;  ///< this epoch alone (from the end of setup or the previous epoch)
  bool converged = false;
};

/// Where a party is within an epoch (for a progress display between epoch lines).
struct ProgressReport {
  long party = 0;
  long epoch = 0;         ///< 1-based epoch in progress
  long max_iter = 0;
  size_t batch = 0;       ///< batches finished in this epoch
  size_t batches = 0;
  size_t rows_done = 0;   ///< rows encrypted so far in this epoch
  size_t rows_total = 0;  ///< rows this epoch encrypts
  double elapsed_s = 0;
};

/// How to run one party.
struct RunOptions {
  std::string out_dir;  ///< this party's directory: model.json, metrics.json, train.log, checkpoint/
  bool resume = false;  ///< continue from the last checkpoint all parties share
  std::function<void(const EpochReport&)> on_epoch;  ///< called by every party after each epoch
  std::function<void(const ProgressReport&)> on_progress;  ///< hetero guest: within an epoch
  /// Lines for the operator ("party 9999 (guest): id alignment …"); unset: logged at -v only.
  std::function<void(long party, const std::string& line)> on_note;
  const std::atomic<bool>* cancel = nullptr;         ///< set by a runner when another party failed
  long stop_after_epochs = 0;  ///< testing: end the process (exit 9) after this many epochs
  /// Testing: fail (an Error, as a data error would) on reaching this step, 1-based epoch and batch
  /// (batch 0: the epoch's first message); {0, 0}: never.
  std::pair<long, long> fail_at{0, 0};
  /// Benchmarks: use this table instead of loading data[0] (guest/hosts).
  std::shared_ptr<const Dataset> train_data;
};

/// Trains as `party` (guest, host or arbiter) and writes its outputs under opts.out_dir. When a
/// peer restarts (fed::PeerRestarted), goes back to the last checkpoint every party has and trains
/// on from there with the others (rejoin).
void train_party(const MlJob& job, long party, fed::Channel& channel, const RunOptions& opts);
/// Scores data with the trained model parts (hetero: hosts send X·w, the guest writes
/// predictions.csv with id,label,score; homo: each client scores its own data).
void predict_party(const MlJob& job, long party, fed::Channel& channel, const RunOptions& opts,
                   const std::string& model_dir);

/// Runs every party of the job on threads over an in-process fed::LocalHub; `out_root/<party>/`
/// per party. The first failure cancels the others and is rethrown.
void run_local(const MlJob& job, const std::string& out_root, bool resume, bool predict,
               const std::function<void(const EpochReport&)>& on_epoch, long stop_after_epochs = 0,
               const std::map<long, std::shared_ptr<const Dataset>>& data = {}, long stop_party = 0,
               const std::function<void(const ProgressReport&)>& on_progress = {},
               const std::function<void(long, const std::string&)>& on_note = {});

}  // namespace fatectl::ml
