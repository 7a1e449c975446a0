// `fatectl run --local`: every party of a job as its own process on loopback.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/party.h"

namespace fatectl::fed {
namespace {

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
  char c = 1;
  ssize_t n = ::write(g_signal_pipe[1], &c, 1);
  (void)n;
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string absolute(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  if (!p.empty() && p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd)) return std::string(cwd) + "/" + p;
  return p;
}

/// What a terminal shows of `s` after its carriage returns: the text after the last '\r', without
/// the erase-line sequence a rewritten line starts with.
std::string after_rewrites(const std::string& s) {
  size_t cr = s.rfind('\r');
  std::string t = cr == std::string::npos ? s : s.substr(cr + 1);
  while (t.rfind("\033[K", 0) == 0) t.erase(0, 3);
  return t;
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (fd < 0 || ::bind(fd, (sockaddr*)&a, sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    throw failed(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, (sockaddr*)&a, &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Uses the job's certificates when they exist (issuing missing party certificates if the CA key
/// is there), else creates a throwaway CA for the job's domain inside the run directory.
std::string prepare_certs(const Job& job, const std::string& run_dir) {
  CertDir jd{job.certs_dir};
  if (exists(jd.ca_cert())) {
    std::string dom = ca_domain(job.certs_dir);
    if (dom != job.domain)
      throw invalid(job.file + ": the CA in " + job.certs_dir + " is for domain " + dom + ", the job says " + job.domain);
    for (const auto& p : job.parties) {
      if (exists(jd.party_cert(p.id)) && exists(jd.party_key(p.id))) continue;
      if (!exists(jd.ca_key()))
        throw invalid(jd.party_cert(p.id) + ": missing, and there is no CA key here to issue it (run `fatectl certs issue --party " +
                      std::to_string(p.id) + " --dir " + job.certs_dir + "` where the CA key is)");
      issue_party_cert(job.certs_dir, p.id);
      std::printf("issued a certificate for party %ld in %s\n", p.id, job.certs_dir.c_str());
    }
    return absolute(job.certs_dir);
  }
  std::string dir = run_dir + "/certs";
  init_ca(dir, job.domain, 30);
  for (const auto& p : job.parties) issue_party_cert(dir, p.id, 30);
  std::printf("no CA in %s: created a throwaway federation CA for %s in %s\n", job.certs_dir.c_str(), job.domain.c_str(),
              dir.c_str());
  return dir;
}

struct Child {
  long party;
  std::string label;  ///< "[9999 guest]"
  pid_t pid = -1;
  int out = -1;       ///< read end of its stdout+stderr
  FILE* log = nullptr;
  std::string log_path;
  std::string partial;
  bool rewriting = false;  ///< `partial` is a progress line being rewritten (no newline yet)
  bool running = false;
  int status = -1;    ///< exit status once ended
  std::string how;    ///< "exit 0", "killed by signal 15"
};

}  // namespace

int run_local(const LocalRunOptions& o) {
  Job job = load_job(o.job_file);
  // run directory
  std::string dir = o.run_dir;
  bool made_dir = dir.empty();
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    std::string t = std::string(tmp && *tmp ? tmp : "/tmp") + "/fatectl-run-" + job.id + "-XXXXXX";
    std::vector<char> buf(t.begin(), t.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data())) throw failed(t + ": cannot create a run directory: " + std::strerror(errno));
    dir = buf.data();
  } else if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw failed(dir + ": cannot create the run directory: " + std::strerror(errno));
  }
  dir = absolute(dir);
  // until the job has run, an error removes the directory this call created
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{made_dir ? dir : std::string()};
  std::string certs = prepare_certs(job, dir);
  bool throwaway_ca = certs == dir + "/certs";

  // A copy of the job for the local processes: loopback ports, direct routes, absolute paths.
  YAML::Node d = yaml::clone(job.source);
  d["certificates"] = certs;
  d.remove("routes");
  for (size_t i = 0; i < job.parties.size(); ++i) {
    d["parties"][i]["listen"] = "127.0.0.1:" + std::to_string(free_loopback_port());
    if (!job.parties[i].data.empty()) {
      YAML::Node data(YAML::NodeType::Sequence);
      for (const auto& f : job.parties[i].data) data.push_back(absolute(f));
      d["parties"][i]["data"] = data;
    }
  }
  std::string local_job = dir + "/job.yaml";
  {
    std::ofstream f(local_job);
    f << "# Written by `fatectl run --local` from " << absolute(job.file) << "\n" << yaml::to_yaml(d);
    if (!f) throw failed(local_job + ": cannot write");
  }
  Job check = load_job(local_job);  // the copy must still be a valid job
  (void)check;
  std::printf("run directory: %s (job %s, %zu parties, program %s)\n", dir.c_str(), job.id.c_str(), job.parties.size(),
              job.algorithm.c_str());
  std::fflush(stdout);

  // signals → self-pipe
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw failed("pipe: " + std::string(std::strerror(errno)));
  struct sigaction sa{}, old_int{}, old_term{}, old_hup{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  ::sigaction(SIGHUP, &sa, &old_hup);
  g_signal = 0;

  std::vector<Child> kids;
  static const char* colours[] = {"\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"};
  for (size_t i = 0; i < job.parties.size(); ++i) {
    const PartySpec& p = job.parties[i];
    Child c;
    c.party = p.id;
    std::string plain = "[" + std::to_string(p.id) + " " + role_name(p.role) + "]";
    c.label = o.color ? std::string(colours[i % 6]) + plain + "\033[0m" : plain;
    c.log_path = dir + "/" + std::to_string(p.id) + ".log";
    c.log = std::fopen(c.log_path.c_str(), "w");
    if (!c.log) throw failed(c.log_path + ": cannot write: " + std::strerror(errno));
    kids.push_back(std::move(c));
  }
  auto stop_all = [&](int sig) {
    for (auto& c : kids)
      if (c.running) ::kill(-c.pid, sig);
  };
  // On a terminal a party's progress line is rewritten in place ("\r\033[K..." without a newline;
  // see src/cli/train_progress.h): shown here behind its prefix, erased before the next line.
  const bool terminal = ::isatty(1) == 1;
  bool rewriting = false;  // a rewritten line is on the terminal
  auto end_rewrite = [&] {
    if (rewriting) std::fputs("\r\033[K", stdout);
    rewriting = false;
  };
  for (auto& c : kids) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw failed("pipe: " + std::string(std::strerror(errno)));
    std::vector<std::string> args = {"fatectl"};
    for (const auto& a : o.global_args) args.push_back(a);
    for (const char* a : {"party", "serve", "--job"}) args.push_back(a);
    args.push_back(local_job);
    args.push_back("--party-id");
    args.push_back(std::to_string(c.party));
    args.push_back("--role");
    args.push_back(role_name(job.party(c.party).role));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      stop_all(SIGKILL);
      throw failed("fork: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::setenv("FATECTL_RUN_DIR", dir.c_str(), 1);
      if (terminal) ::setenv("FATECTL_PROGRESS_TTY", "1", 1);  // rewrite progress lines: they reach a terminal here
      ::execv(o.exe.c_str(), argv.data());
      std::fprintf(stderr, "cannot start %s: %s\n", o.exe.c_str(), std::strerror(errno));
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    c.pid = pid;
    c.out = fds[0];
    c.running = true;
    std::fprintf(c.log, "# %s party serve --job %s --party-id %ld (pid %d)\n", o.exe.c_str(), local_job.c_str(), c.party, (int)pid);
    std::fflush(c.log);
  }

  auto emit = [&](Child& c, const std::string& raw) {
    std::string line = after_rewrites(raw);
    if (line.empty() && raw.find('\r') != std::string::npos) return;  // only an erased progress line
    end_rewrite();
    std::fprintf(c.log, "%s\n", line.c_str());
    std::fflush(c.log);
    std::printf("%s %s\n", c.label.c_str(), line.c_str());
    std::fflush(stdout);
  };
  auto drain = [&](Child& c) {
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(c.out, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          if (!c.partial.empty()) emit(c, c.partial);
          c.partial.clear();
          ::close(c.out);
          c.out = -1;
        }
        return;
      }
      c.partial.append(buf, n);
      size_t nl;
      while ((nl = c.partial.find('\n')) != std::string::npos) {
        std::string line = c.partial.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        emit(c, line);
        c.partial.erase(0, nl + 1);
        c.rewriting = false;
      }
      if (c.partial.find('\r') != std::string::npos) c.rewriting = true;
      if (c.rewriting) {  // a progress line rewritten (or erased)
        c.partial = after_rewrites(c.partial);
        end_rewrite();
        if (terminal && !c.partial.empty()) {
          std::printf("\r\033[K%s %s", c.label.c_str(), c.partial.c_str());
          rewriting = true;
        }
        std::fflush(stdout);
      }
      if (n < (ssize_t)sizeof buf) return;
    }
  };

  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + job.timeout;
  int result = 0;
  bool stopping = false;
  Clock::time_point kill_at{};
  Clock::time_point term_at{};  // SIGTERM to the parties still running (after a peer's exit 5)
  std::string reason;
  for (;;) {
    std::vector<pollfd> pf;
    std::vector<Child*> who;
    for (auto& c : kids)
      if (c.out >= 0) { pf.push_back({c.out, POLLIN, 0}); who.push_back(&c); }
    pf.push_back({g_signal_pipe[0], POLLIN, 0});
    ::poll(pf.data(), pf.size(), 200);
    for (size_t i = 0; i < who.size(); ++i)
      if (pf[i].revents) drain(*who[i]);
    if (pf.back().revents & POLLIN) {
      char b[16];
      while (::read(g_signal_pipe[0], b, sizeof b) > 0) {}
      if (!stopping) {
        stopping = true;
        reason = std::string("interrupted (") + strsignal(g_signal) + ")";
        result = 128 + g_signal;
        end_rewrite();
        std::printf("%s: stopping every party\n", reason.c_str());
        std::fflush(stdout);
        stop_all(SIGTERM);
        kill_at = Clock::now() + std::chrono::seconds(5);
      }
    }
    // reap
    for (auto& c : kids) {
      if (!c.running) continue;
      int st = 0;
      pid_t r = ::waitpid(c.pid, &st, WNOHANG);
      if (r != c.pid) continue;
      c.running = false;
      if (c.out >= 0) drain(c);
      if (WIFEXITED(st)) { c.status = WEXITSTATUS(st); c.how = "exit " + std::to_string(c.status); }
      else { c.status = 128 + WTERMSIG(st); c.how = std::string("killed by ") + strsignal(WTERMSIG(st)); }
      if (c.status != 0 && !stopping) {
        stopping = true;
        result = WIFEXITED(st) ? c.status : 1;
        reason = "party " + std::to_string(c.party) + " failed (" + c.how + ")";
        if (WIFEXITED(st) && c.status == (int)ErrorKind::PeerFailed) {
          // It only reported another party's failure: that party is telling the others and ends
          // by itself with its own status; stop whoever is left only after a grace period.
          term_at = Clock::now() + std::chrono::seconds(5);
        } else {
          end_rewrite();
          std::printf("%s: stopping the other parties\n", reason.c_str());
          std::fflush(stdout);
          stop_all(SIGTERM);
          kill_at = Clock::now() + std::chrono::seconds(5);
        }
      } else if (c.status != 0 && result == (int)ErrorKind::PeerFailed && WIFEXITED(st) &&
                 c.status != (int)ErrorKind::PeerFailed && c.status < 128) {
        // The first to exit only reported another party's failure (exit 5): the job's status is
        // the failing party's own.
        result = c.status;
        reason = "party " + std::to_string(c.party) + " failed (" + c.how + ")";
      }
    }
    bool any = false;
    for (auto& c : kids) any = any || c.running || c.out >= 0;
    if (!any) break;
    if (!stopping && Clock::now() > deadline) {
      stopping = true;
      result = 4;
      reason = "job " + job.id + " ran past its timeout of " + format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(job.timeout));
      end_rewrite();
      std::printf("%s: stopping every party\n", reason.c_str());
      std::fflush(stdout);
      stop_all(SIGTERM);
      kill_at = Clock::now() + std::chrono::seconds(5);
    }
    if (term_at != Clock::time_point{} && Clock::now() > term_at) {
      end_rewrite();
      std::printf("%s: stopping the other parties\n", reason.c_str());
      std::fflush(stdout);
      stop_all(SIGTERM);
      term_at = {};
      kill_at = Clock::now() + std::chrono::seconds(5);
    }
    if (stopping && kill_at != Clock::time_point{} && Clock::now() > kill_at) {
      stop_all(SIGKILL);
      kill_at = {};
    }
    // a child whose pipe is closed but which is still running: keep polling for its exit
    bool only_running = true;
    for (auto& c : kids)
      if (c.out >= 0) only_running = false;
    if (only_running) ::usleep(50 * 1000);
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);

  // A run directory we created is ours to clean: all of it after success, the throwaway CA
  // (private keys) after a failure (the logs stay for reading).
  cleanup.dir.clear();
  bool remove_dir = made_dir && result == 0;
  std::printf("%-8s %-8s %-22s %s\n", "PARTY", "ROLE", "RESULT", remove_dir ? "" : "LOG");
  for (auto& c : kids) {
    std::printf("%-8ld %-8s %-22s %s\n", c.party, role_name(job.party(c.party).role), c.how.c_str(),
                remove_dir ? "" : c.log_path.c_str());
    std::fclose(c.log);
    if (o.results) o.results->push_back({c.party, role_name(job.party(c.party).role), c.status, c.how, remove_dir ? "" : c.log_path});
  }
  if (o.run_dir_used) *o.run_dir_used = dir;
  if (result == 0) std::printf("job %s: every party succeeded\n", job.id.c_str());
  else std::printf("job %s: %s (exit %d)\n", job.id.c_str(), reason.c_str(), result);
  std::error_code ec;
  if (remove_dir) {
    std::filesystem::remove_all(dir, ec);
    if (ec) std::printf("could not remove the run directory %s: %s\n", dir.c_str(), ec.message().c_str());
    else std::printf("removed the run directory %s (logs%s); --run-dir DIR keeps them\n", dir.c_str(),
                     throwaway_ca ? ", the throwaway CA" : "");
  } else if (made_dir && throwaway_ca) {
    std::filesystem::remove_all(certs, ec);
    if (!ec) std::printf("removed the throwaway CA %s; the logs stay in %s\n", certs.c_str(), dir.c_str());
  }
  std::fflush(stdout);
  return result;
}

}  // namespace fatectl::fed
