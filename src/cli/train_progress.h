#pragma once
// Progress of a long training epoch on stderr: on a terminal one line rewritten in place (batches
// done, rows encrypted, time); otherwise a plain line every FATECTL_PROGRESS_SECONDS (default 10)
// while the epoch runs, also when the guest only waits for its peers. A party started by
// `train --local` writes into its parent's pipe: FATECTL_PROGRESS_TTY=1 (set by fed::run_local when
// its own output is a terminal) says the line reaches a terminal there.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "fatectl/core/log.h"
#include "fatectl/ml/train.h"

namespace fatectl::cli {

/// Prints ml::ProgressReport updates of the guest (see the top of this file).
class TrainProgress {
 public:
  TrainProgress() : terminal_(on_terminal() && !log::settings().quiet), t0_(Clock::now()) {
    if (const char* e = std::getenv("FATECTL_PROGRESS_SECONDS")) {
      double v = std::atof(e);
      if (v > 0 && v <= 3600) interval_ = std::chrono::milliseconds(static_cast<long>(v * 1000));
    }
    if (log::settings().quiet) return;
    ticker_ = std::thread([this] { tick(); });
  }
  ~TrainProgress() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
    clear();
  }
  TrainProgress(const TrainProgress&) = delete;
  TrainProgress& operator=(const TrainProgress&) = delete;

  /// A new report from the guest's thread.
  void update(const ml::ProgressReport& r) {
    std::lock_guard<std::mutex> l(mu_);
    last_ = r;
    since_ = Clock::now();
    if (terminal_ && Clock::now() - printed_ > std::chrono::milliseconds(200)) print_locked();
  }
  /// Before an epoch line: the epoch is over, erase a rewritten line.
  void epoch_done() {
    std::lock_guard<std::mutex> l(mu_);
    last_.reset();
    if (open_) std::fputs("\r\033[K", stderr);
    open_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;

  static bool on_terminal() {
    const char* e = std::getenv("FATECTL_PROGRESS_TTY");
    return isatty(2) == 1 || (e && std::string(e) == "1");
  }

  void clear() {
    std::lock_guard<std::mutex> l(mu_);
    if (open_) std::fputs("\r\033[K", stderr);
    open_ = false;
  }

  void tick() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      auto every = terminal_ ? std::chrono::milliseconds(1000) : interval_;
      if (cv_.wait_for(l, every, [this] { return stop_; })) return;
      if (last_ && (terminal_ || Clock::now() - printed_ >= interval_)) print_locked();
    }
  }

  void print_locked() {
    const auto& r = *last_;
    char b[256];
    double secs = std::chrono::duration<double>(Clock::now() - t0_).count();
    double idle = std::chrono::duration<double>(Clock::now() - since_).count();
    std::snprintf(b, sizeof b, "epoch %ld/%ld: batch %zu/%zu done, %zu/%zu rows encrypted, %.0fs%s", r.epoch, r.max_iter,
                  r.batch, r.batches, r.rows_done, r.rows_total, secs,
                  idle >= 2 ? (" (waiting for the other parties " + std::to_string(static_cast<long>(idle)) + "s)").c_str()
                            : "");
    if (terminal_) {
      std::fprintf(stderr, "\r\033[K%s", b);
      open_ = true;
    } else {
      std::fprintf(stderr, "%s\n", b);
    }
    std::fflush(stderr);
    printed_ = Clock::now();
  }

  const bool terminal_;
  const Clock::time_point t0_;
  std::chrono::milliseconds interval_{10'000};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool open_ = false;
  std::optional<ml::ProgressReport> last_;
  Clock::time_point since_{};
  Clock::time_point printed_{};
  std::thread ticker_;
};

}  // namespace fatectl::cli
