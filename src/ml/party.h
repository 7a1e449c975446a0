#pragma once
// Internal helpers shared by the hetero and homo protocols: the party's view of the channel
// (cancel-aware receive with the job's timeout), its log file, checkpoints and output files.
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include <yaml-cpp/yaml.h>

#include "fatectl/core/thread_pool.h"
#include "fatectl/ml/train.h"

namespace fatectl::ml::detail {

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
  /// Appends a line to train.log (and to the debug log).
  void log(const std::string& line);
  double elapsed() const;

  /// Last finished epoch count in checkpoint/ (0 when none).
  long checkpoint_epochs() const;
  /// The checkpoint written after `epochs` epochs (throws Failed when it is missing).
  YAML::Node load_checkpoint(long epochs) const;
  /// Writes checkpoint/epoch-<epochs>.yaml atomically and keeps only the two newest.
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
  fed::Channel& ch_;
  std::ofstream log_;
  std::mutex log_mu_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::string, double> times_;
  double last_mark_ = 0;
};

YAML::Node to_seq(const std::vector<double>& v);
std::vector<double> from_seq(const YAML::Node& n);
uint64_t fresh_seed();

}  // namespace fatectl::ml::detail
