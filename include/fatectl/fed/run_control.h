#pragma once
// The supervision of one party process of a federated job (`fatectl party serve`, and so `train
// --party-id` and `train --local`): the job's deadline, SIGINT/SIGTERM, the party's status record,
// and what happens when this party or a peer fails.
//
//   - this party's program fails: failed() records it and tells every peer (an ABORT with this
//     party's id, step and reason, best effort, a few seconds at most); the caller then exits with
//     the error's code;
//   - a peer fails (its ABORT arrives, relayed or not) or the liveness rule declares it dead: the
//     control thread prints "party P failed at STEP: REASON", records it, relays the abort to the
//     other peers and ends the process with exit code 5 — at once, whatever the program is doing;
//   - SIGINT/SIGTERM: the handler only writes the signal number to a pipe (async-signal-safe); the
//     control thread tells the peers, records "stopped by SIGTERM" and exits 128+signal (a second
//     signal exits at once);
//   - the job's timeout: the peers are told, exit 4.
// The program says where it is with note_step() (e.g. "epoch 10, batch 3"); heartbeats carry it.
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "fatectl/fed/job.h"
#include "fatectl/fed/job_status.h"

namespace fatectl::fed {

class TlsChannel;

/// A failure every peer has already been told through the program's own messages (e.g. the
/// guest's refusal verdict in id alignment, which each party ends on with exit 2): the party ends
/// with its own exit code without aborting the peers, so that none of them races to exit 5 on an
/// abort while it is still reading the same verdict.
struct SharedVerdict : Error {
  using Error::Error;
};

/// The process-wide supervisor of one party (at most one per process).
class RunControl {
 public:
  /// Installs the signal handlers and starts the control thread (deadline: now + job.timeout).
  RunControl(const Job& job, long self);
  /// Stops the control thread and restores the signal handlers.
  ~RunControl();
  RunControl(const RunControl&) = delete;
  RunControl& operator=(const RunControl&) = delete;

  /// The process's supervisor, or nullptr.
  static RunControl* current();
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }

  /// The channel to abort through (nullptr: none, e.g. while it closes). Blocks while the control
  /// thread uses the previous one.
  void attach(TlsChannel* ch);
  /// Wakes the control thread to look at the channel (TlsOptions::on_event).
  void wake();

  /// Starts keeping the status record at `path` (state running; `attempt` counts runs).
  void keep_status(const std::string& path, const std::string& role, int attempt);
  void note_step(const std::string& step);
  std::string step() const;
  /// A checkpoint was written ("epoch 5"); the status record says so.
  void note_checkpoint(const std::string& what);
  void succeeded();
  /// This party failed with `reason` (exit code `exit_code`): records it and, unless the cause is
  /// a peer's failure the channel knows of (then that one is relayed) or `tell_peers` is false (a
  /// SharedVerdict), tells every peer. Returns for the caller to exit; if the control thread is
  /// already ending the process, never returns.
  void failed(const std::string& reason, int exit_code, bool tell_peers = true);

 private:
  void control_loop();
  bool begin_end();  ///< the first caller wins the right to end the process
  [[noreturn]] void end_process(int code);
  void save_status();  // mu_ held, status_ set
  void record(const std::string& state, const std::string& step, const std::string& reason, int code, long cause);
  void abort_peers(long party, const std::string& step, const std::string& reason);

  const Job& job_;
  const long self_;
  std::chrono::steady_clock::time_point deadline_;
  int pipe_[2] = {-1, -1};
  std::thread th_;
  std::atomic<bool> stop_{false}, ending_{false};
  mutable std::mutex mu_;  // step_, status_
  std::string step_ = "start";
  std::optional<PartyStatus> status_;
  std::string status_path_;
  std::mutex ch_mu_;  // ch_
  TlsChannel* ch_ = nullptr;
};

/// Reports this party's step to the process's RunControl (no-op without one).
void note_step(const std::string& step);
/// Reports a checkpoint to the process's RunControl (no-op without one).
void note_checkpoint(const std::string& what);

}  // namespace fatectl::fed
