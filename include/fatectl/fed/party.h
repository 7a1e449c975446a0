#pragma once
// Running parties: one party in this process (`fatectl party serve`), or every party of a job as
// separate local processes on loopback (`fatectl run --local`).
#include <string>
#include <vector>

namespace fatectl::fed {

/// What `fatectl party serve` needs.
struct ServeOptions {
  std::string job_file;
  long party = 0;
  std::string role;  ///< optional: must match the job file's role for this party
};
/// Loads the job, opens the TLS channel (listening on the party's address), runs the job's
/// program and closes the channel once every frame is acknowledged. Returns the exit status.
/// The job's `timeout` ends the process with exit code 4.
int serve_party(const ServeOptions& o);

/// How one party of a local run ended.
struct LocalPartyResult {
  long party = 0;
  std::string role;
  int status = -1;      ///< exit status (128+signal when killed)
  std::string how;      ///< "exit 0", "killed by Terminated"
  std::string log;      ///< its log file ("" when the run directory was removed)
};

/// What `fatectl run --local` needs.
struct LocalRunOptions {
  std::string job_file;
  std::string run_dir;                  ///< empty: a new directory under $TMPDIR (or /tmp)
  std::string exe = "/proc/self/exe";   ///< the fatectl binary to start per party
  std::vector<std::string> global_args; ///< flags placed before `party serve` (e.g. -v, --no-color)
  bool color = false;                   ///< colour the party prefixes
  std::vector<LocalPartyResult>* results = nullptr;  ///< filled with each party's outcome when set
  std::string* run_dir_used = nullptr;               ///< the run directory (when set)
};
/// Starts every party as a process on 127.0.0.1 with its own port, certificate and log file
/// (under the run directory), forwards their output prefixed with "[party role]", stops them all
/// on SIGINT/SIGTERM, on the first failure or at the job's timeout, and returns the job's exit
/// status (0 when every party succeeded, else the first failing party's status).
/// Without `run_dir` the directory it creates is removed when every party succeeded; after a
/// failure its logs stay but a throwaway CA it made (private keys) is removed. With `run_dir`
/// everything stays.
int run_local(const LocalRunOptions& o);

}  // namespace fatectl::fed
