#pragma once
// Internal helpers shared by the hetero and homo protocols: the party's view of the channel
// (cancel-aware receive with the job's timeout), its log file, checkpoints and output files.
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include <yaml-cpp/yaml.h>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/fed/run_control.h"
#include "fatectl/ml/train.h"

namespace fatectl::ml::detail {

/// A party's failure that only passes on another party's (a verdict "refused by …", or stopped
/// because another party failed): an in-process run reports the original failure instead.
struct Relayed : Error {
  using Error::Error;
};

/// A refusal verdict another party decided and every party was told (id alignment): shared, so
/// the peers are not aborted (fed::SharedVerdict), and relayed, so an in-process run reports the
/// original instead.
struct RelayedVerdict : fed::SharedVerdict {
  using fed::SharedVerdict::SharedVerdict;
};

/// A refusal this party decided and told every party that needs it before ending (id alignment).
inline fed::SharedVerdict refused(const std::string& reason) { return fed::SharedVerdict(ErrorKind::Invalid, reason); }

/// One party's running context.
class Party {
 public:
  Party(const MlJob& job, long self, fed::Channel& ch, const RunOptions& opts);
  const MlJob& job;
  const long self;
  const RunOptions& opts;
  ThreadPool pool;

  void send(long to, const std::string& name, const std::string& payload);
  std::string recv(long from, const std::string& name);
  /// Waits (at most 30 s) until the peers have the messages sent so far: before a party ends a
  /// job it refuses, so that its verdict reaches the others.
  void flush();
  /// Appends a line to train.log (and to the debug log).
  void log(const std::string& line);
  double elapsed() const;

  /// The newest usable checkpoint's epoch count (0 when none): a checkpoint that cannot be read is
  /// reported (train.log and a warning) and older ones are tried; one is usable when it and the kept
  /// ones up to two epochs below it (where the others may take the job back to) can be read.
  long checkpoint_epochs();
  /// The checkpoint written after `epochs` epochs (throws Failed when it is missing or unreadable).
  YAML::Node load_checkpoint(long epochs) const;
  /// Writes checkpoint/epoch-<epochs>.yaml atomically and keeps only the four newest.
  void save_checkpoint(long epochs, const YAML::Node& state);
  /// Writes a file under out_dir atomically.
  void write_file(const std::string& name, const std::string& text) const;
  void report_epoch(long epochs, bool has_loss, double loss, bool converged);
  /// Within epoch `epoch` (0-based): batches finished and rows encrypted (RunOptions::on_progress).
  void report_progress(long epoch, size_t batch, size_t batches, size_t rows_done, size_t rows_total);
  void mark_loop_start() { last_mark_ = elapsed(); }
  void maybe_stop(long epochs) const;  ///< testing hook (RunOptions::stop_after_epochs)
  /// The training table: RunOptions::train_data when given, else data[0] loaded and checked.
  Dataset training_data() const;

  /// Wall time spent per phase (encrypt, kernel, decrypt, ...), written to timings.json.
  void add_time(const std::string& phase, double seconds);
  void write_timings();
  /// Measures the enclosing scope into add_time(phase).
  struct Timer {
    Party& p;
    std::string phase;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~Timer() { p.add_time(phase, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()); }
  };

 private:
  /// Tells the party runtime where this party is (fed::note_step), from a message name such as
  /// "hlr/e9/b3/grad" (epoch 10, batch 4), and applies RunOptions::fail_at.
  void track(const std::string& name);

  fed::Channel& ch_;
  std::string step_;
  std::ofstream log_;
  std::mutex log_mu_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::string, double> times_;
  double last_mark_ = 0;
};

/// The step a message belongs to, for people: "epoch 10, batch 4" (1-based), "epoch 3", "id
/// alignment", "evaluation", "prediction" or "setup".
std::string step_of(const std::string& message_name);

YAML::Node to_seq(const std::vector<double>& v);
std::vector<double> from_seq(const YAML::Node& n);
uint64_t fresh_seed();

}  // namespace fatectl::ml::detail
