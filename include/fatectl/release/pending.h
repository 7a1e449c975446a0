#pragma once
// Pending revisions: which fatectl process holds one (host, pid, its start time, a heartbeat it
// refreshes while it works), whether that process is still alive, and what the next command
// does when it is not (the revision is marked failed and the operator is told).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fatectl/release/record.h"

namespace fatectl::release {

/// How long a heartbeat may be silent before a holder on another machine counts as gone.
std::chrono::seconds stale_after();
/// How often a running operation refreshes its heartbeat (stale_after() / 8, at least 1 s).
std::chrono::seconds heartbeat_interval();

/// Whether the holder of a pending revision is gone: on this host (same boot), its pid no longer
/// runs the process that wrote it; elsewhere, its heartbeat is older than stale_after(). Sets
/// `why` to a sentence naming the process.
bool holder_gone(const Holder& h, std::chrono::system_clock::time_point now, std::string& why);

/// True for pending-install, pending-upgrade and pending-rollback.
bool is_pending(const std::string& status);

/// Marks the newest revision failed when it is pending and its holder is gone, updates
/// `history` and returns a one-line note for the operator ("" when nothing was stale).
/// When the holder is alive, `busy` receives a description of the running operation.
std::string settle_stale(Store& store, std::vector<Record>& history, std::string* busy = nullptr);

/// Refreshes the heartbeat of a pending revision from a background thread until stopped.
class Heartbeat {
 public:
  Heartbeat(Store& store, const Record& pending);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;
  /// Stops the thread (idempotent); call before saving the revision's final state.
  void stop();

 private:
  void run();
  Store& store_;
  Record rec_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace fatectl::release
