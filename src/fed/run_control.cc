// RunControl: the supervision of one party process (see run_control.h) — signals through a
// self-pipe, a control thread for the deadline and for peer failures, status records, aborts.
#include "fatectl/fed/run_control.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/fed/tls_channel.h"

namespace fatectl::fed {

namespace {

std::atomic<RunControl*> g_current{nullptr};
int g_pipe_w = -1;
volatile sig_atomic_t g_stopping = 0;
struct sigaction g_old_int{}, g_old_term{};

// Async-signal-safe: write(2) and _exit(2) only.
void on_signal(int sig) {
  if (g_stopping) ::_exit(128 + sig);  // a second signal: no more waiting
  g_stopping = 1;
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t n = ::write(g_pipe_w, &b, 1);
  (void)n;
  errno = saved;
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a signal";
  }
}

}  // namespace

RunControl::RunControl(const Job& job, long self)
    : job_(job), self_(self), deadline_(std::chrono::steady_clock::now() + job.timeout) {
  if (g_current.load()) throw fatectl::failed("internal: a second RunControl in one process");
  if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw fatectl::failed(std::string("pipe: ") + std::strerror(errno));
  g_pipe_w = pipe_[1];
  g_stopping = 0;
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &g_old_int);
  ::sigaction(SIGTERM, &sa, &g_old_term);
  g_current = this;
  th_ = std::thread([this] { control_loop(); });
}

RunControl::~RunControl() {
  stop_ = true;
  wake();
  if (th_.joinable()) th_.join();
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  g_current = nullptr;
  g_pipe_w = -1;
  ::close(pipe_[0]);
  ::close(pipe_[1]);
}

RunControl* RunControl::current() { return g_current.load(); }

void RunControl::attach(TlsChannel* ch) {
  std::lock_guard<std::mutex> l(ch_mu_);
  ch_ = ch;
}

void RunControl::wake() {
  unsigned char b = 0;
  ssize_t n = ::write(pipe_[1], &b, 1);
  (void)n;
}

void RunControl::keep_status(const std::string& path, const std::string& role, int attempt) {
  std::lock_guard<std::mutex> l(mu_);
  PartyStatus s;
  s.job = job_.id;
  s.party = self_;
  s.role = role;
  s.state = "running";
  s.step = step_;
  s.attempt = attempt;
  s.started = s.updated = utc_now();
  status_ = s;
  status_path_ = path;
  save_status();
}

void RunControl::save_status() {
  status_->updated = utc_now();
  try {
    write_party_status(status_path_, *status_);
  } catch (const Error& e) {  // the run goes on without its record
    log::warn("party {}: {}", self_, e.what());
  }
}

void RunControl::note_step(const std::string& step) {
  std::lock_guard<std::mutex> l(mu_);
  step_ = step;
}

std::string RunControl::step() const {
  std::lock_guard<std::mutex> l(mu_);
  return step_;
}

void RunControl::note_checkpoint(const std::string& what) {
  std::lock_guard<std::mutex> l(mu_);
  if (!status_) return;
  status_->checkpoint = what;
  status_->step = step_;
  save_status();
}

void RunControl::record(const std::string& state, const std::string& step, const std::string& reason, int code, long cause) {
  std::lock_guard<std::mutex> l(mu_);
  if (!status_) return;
  status_->state = state;
  status_->step = step;
  status_->reason = reason;
  status_->exit_code = code;
  status_->cause_party = cause;
  save_status();
}

void RunControl::succeeded() { record("succeeded", step(), "", 0, 0); }

bool RunControl::begin_end() {
  bool expected = false;
  if (!ending_.compare_exchange_strong(expected, true)) return false;
  g_stopping = 1;  // a signal from now on ends the process at once
  return true;
}

void RunControl::end_process(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(code);
}

void RunControl::abort_peers(long party, const std::string& step, const std::string& reason) {
  std::lock_guard<std::mutex> l(ch_mu_);
  if (!ch_) return;
  PeerFailure f;
  f.party = party;
  f.step = step;
  f.reason = reason;
  f.reported_by = self_;
  try {
    ch_->abort(f, std::min<std::chrono::milliseconds>(job_.transport.close_timeout, std::chrono::seconds(5)));
  } catch (const std::exception& e) {
    log::debug("party {}: telling the peers failed: {}", self_, e.what());
  }
}

void RunControl::failed(const std::string& reason, int exit_code, bool tell_peers) {
  if (!begin_end()) {
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));  // the control thread ends the process
  }
  std::optional<PeerFailure> peer;
  {
    std::lock_guard<std::mutex> l(ch_mu_);
    if (ch_) peer = ch_->peer_failure();
  }
  if (peer) {  // a consequence of a peer's failure: pass that on
    record("failed", step(), peer->message(), exit_code, peer->party);
    abort_peers(peer->party, peer->step, peer->reason);
    return;
  }
  record("failed", step(), reason, exit_code, 0);
  if (tell_peers) abort_peers(self_, step(), reason);
}

void RunControl::control_loop() {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    int ms = (int)std::max<long long>(0, std::min<long long>(left.count(), 1000));
    pollfd p{pipe_[0], POLLIN, 0};
    ::poll(&p, 1, ms);
    if (stop_) return;
    int sig = 0;
    unsigned char buf[64];
    for (ssize_t n; (n = ::read(pipe_[0], buf, sizeof buf)) > 0;)
      for (ssize_t i = 0; i < n; ++i)
        if (buf[i]) sig = buf[i];
    if (ending_) continue;  // the main thread is ending the process
    if (sig) {
      if (!begin_end()) continue;
      std::string reason = std::string("stopped by ") + signal_name(sig);
      log::error("party {}: {} at {}", self_, reason, step());
      record("failed", step(), reason, 128 + sig, 0);
      abort_peers(self_, step(), reason);
      end_process(128 + sig);
    }
    std::optional<PeerFailure> f;
    {
      std::lock_guard<std::mutex> l(ch_mu_);
      if (ch_) f = ch_->peer_failure();
    }
    if (f) {
      if (!begin_end()) continue;
      std::string msg = f->message();
      if (f->reported_by != f->party && f->reported_by != self_) msg += " (reported by party " + std::to_string(f->reported_by) + ")";
      log::error("{}", msg);
      record("failed", step(), msg, (int)ErrorKind::PeerFailed, f->party);
      abort_peers(f->party, f->step, f->reason);
      end_process((int)ErrorKind::PeerFailed);
    }
    if (std::chrono::steady_clock::now() >= deadline_) {
      if (!begin_end()) continue;
      std::string reason = "the job ran past its timeout of " +
                           format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(job_.timeout));
      log::error("party {}: job {} ran past its timeout of {}", self_, job_.id,
                 format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(job_.timeout)));
      record("failed", step(), reason, (int)ErrorKind::Timeout, 0);
      abort_peers(self_, step(), reason);
      end_process((int)ErrorKind::Timeout);
    }
  }
}

void note_step(const std::string& step) {
  if (RunControl* rc = RunControl::current()) rc->note_step(step);
}

void note_checkpoint(const std::string& what) {
  if (RunControl* rc = RunControl::current()) rc->note_checkpoint(what);
}

}  // namespace fatectl::fed
