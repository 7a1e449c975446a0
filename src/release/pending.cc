#include "fatectl/release/pending.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::release {
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (f) std::getline(f, line);
  return line;
}

/// Fields of /proc/PID/stat after the command name: [0] is the state, [19] the start time (field
/// 22, clock ticks since boot). Empty when unreadable.
std::vector<std::string> stat_fields(long pid) {
  std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  size_t close = stat.rfind(')');  // the command name may hold spaces and parentheses
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream in(stat.substr(close + 1));
  std::string field;
  while (out.size() < 20 && in >> field) out.push_back(field);
  return out;
}

/// The start time of a stat_fields() result ("" when unknown).
std::string start_time_of(const std::vector<std::string>& stat) { return stat.size() == 20 ? stat[19] : ""; }

/// A zombie (killed, not yet reaped: its parent died too and PID 1 of a container does not reap)
/// still answers kill(pid, 0), yet it will never write again.
bool is_zombie(const std::vector<std::string>& stat) { return !stat.empty() && (stat[0] == "Z" || stat[0] == "X"); }

std::string this_host() {
  char b[256] = {0};
  if (::gethostname(b, sizeof b - 1) != 0) return "unknown";
  return b;
}

std::string ago(std::chrono::seconds s) {
  long v = static_cast<long>(s.count());
  if (v < 120) return std::to_string(v) + "s";
  if (v < 7200) return std::to_string(v / 60) + "m";
  return std::to_string(v / 3600) + "h";
}

}  // namespace

Holder Holder::self() {
  Holder h;
  h.host = this_host();
  h.pid = static_cast<long>(::getpid());
  h.pid_start = start_time_of(stat_fields(h.pid));
  h.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
  h.heartbeat = kube::format_rfc3339(std::chrono::system_clock::now());
  return h;
}

std::chrono::seconds stale_after() {
  // FATECTL_STALE_AFTER (seconds) exists for tests; the default suits a slow API server.
  if (const char* e = std::getenv("FATECTL_STALE_AFTER")) {
    long v = std::atol(e);
    if (v >= 1 && v <= 86400) return std::chrono::seconds(v);
  }
  return std::chrono::seconds(120);
}

std::chrono::seconds heartbeat_interval() {
  return std::max(std::chrono::seconds(1), stale_after() / 8);
}

bool is_pending(const std::string& status) {
  return status == kPendingInstall || status == kPendingUpgrade || status == kPendingRollback;
}

bool holder_gone(const Holder& h, std::chrono::system_clock::time_point now, std::string& why) {
  std::string who = "the fatectl process (pid " + std::to_string(h.pid) + " on " + (h.host.empty() ? "?" : h.host) + ")";
  if (h.empty()) {
    why = "it records no process (written by an older fatectl)";
    // Without a holder only the age can tell: treat it like a silent heartbeat.
  }
  Holder me = Holder::self();
  if (!h.empty() && h.host == me.host && !h.boot_id.empty() && h.boot_id == me.boot_id) {
    bool running = h.pid > 0 && (::kill(static_cast<pid_t>(h.pid), 0) == 0 || errno == EPERM);
    auto stat = stat_fields(h.pid);  // one read of /proc/PID/stat for both checks
    if (running && !is_zombie(stat) && (h.pid_start.empty() || start_time_of(stat) == h.pid_start)) return false;
    why = who + " is gone";
    return true;
  }
  if (!h.empty() && h.host == me.host && !h.boot_id.empty() && h.boot_id != me.boot_id) {
    why = who + " is gone (the machine has rebooted since)";
    return true;
  }
  std::chrono::system_clock::time_point beat{};
  try {
    if (!h.heartbeat.empty()) beat = kube::parse_rfc3339(h.heartbeat);
  } catch (const Error&) {
  }
  auto silent = std::chrono::duration_cast<std::chrono::seconds>(now - beat);
  if (beat != std::chrono::system_clock::time_point{} && silent <= stale_after()) return false;
  if (!h.empty())
    why = who + " has not shown a sign of life for " +
          (beat == std::chrono::system_clock::time_point{} ? std::string("ever") : ago(silent));
  return true;
}

std::string settle_stale(Store& store, std::vector<Record>& history, std::string* busy) {
  if (history.empty() || !is_pending(history.back().status)) return "";
  Record& r = history.back();
  auto now = std::chrono::system_clock::now();
  std::string why;
  if (!holder_gone(r.holder, now, why)) {
    if (busy)
      *busy = "fatectl (pid " + std::to_string(r.holder.pid) + " on " + r.holder.host + ") is still working on revision " +
              std::to_string(r.revision) + " (" + r.status + ", last heartbeat " + r.holder.heartbeat + ")";
    return "";
  }
  // An old revision without a holder is judged by its last update instead.
  if (r.holder.empty()) {
    std::chrono::system_clock::time_point t{};
    try {
      t = kube::parse_rfc3339(r.updated);
    } catch (const Error&) {
    }
    auto age = std::chrono::duration_cast<std::chrono::seconds>(now - t);
    if (t != std::chrono::system_clock::time_point{} && age <= stale_after()) {
      if (busy) *busy = "revision " + std::to_string(r.revision) + " is " + r.status + " (updated " + r.updated + ")";
      return "";
    }
    why = "it records no process and has not changed for " + ago(age);
  }
  std::string was = r.status;
  r.status = kFailed;
  r.description = was + " interrupted: " + why + "; marked failed at " + kube::format_rfc3339(now);
  r.updated = kube::format_rfc3339(now);
  r.holder = Holder{};
  store.save(r);
  std::string note = "revision " + std::to_string(r.revision) + " of '" + r.name + "' was " + was + ", but " + why +
                     ": marked it failed";
  log::warn("{}", note);
  return note;
}

Heartbeat::Heartbeat(Store& store, const Record& pending) : store_(store), rec_(pending) {
  thread_ = std::thread([this] { run(); });
}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    if (cv_.wait_for(l, heartbeat_interval(), [this] { return stop_; })) return;
    rec_.holder.heartbeat = kube::format_rfc3339(std::chrono::system_clock::now());
    l.unlock();
    try {
      store_.save(rec_);
    } catch (const Error& e) {
      log::debug("heartbeat of revision {}: {}", rec_.revision, e.what());
    }
    l.lock();
  }
}

}  // namespace fatectl::release
