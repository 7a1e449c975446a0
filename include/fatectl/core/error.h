#pragma once
// Errors as values with a kind that maps to the process exit code in one place.
#include <stdexcept>
#include <string>

namespace fatectl {

/// What went wrong, coarse enough to choose an exit code (see README "Exit codes").
enum class ErrorKind {
  Failed = 1,       ///< the operation ran and failed
  Invalid = 2,      ///< usage error or invalid input (spec, job file, flags)
  Unreachable = 3,  ///< cluster unreachable or refused (401/403, TLS, connection)
  Timeout = 4,      ///< a wait ran past its deadline
  PeerFailed = 5,   ///< another party of a federated job failed or stopped answering (fed/)
};

/// The exception every layer throws; the message is one line meant for the operator.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

/// Where something is in an input file: "FILE:LINE:COL" (1-based; 0 = unknown).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string str() const;
};

/// Invalid input at a location, e.g. "cluster.yaml:12:5: python.typo: unknown key (did you mean 'type'?)".
Error invalid_at(const Location& where, const std::string& key_path, const std::string& message);

/// Thrown by a command that finished without an error message but wants a non-zero exit
/// (e.g. `cluster diff` found changes): main.cc exits with `code`.
struct ExitCode {
  int code;
};

inline Error failed(const std::string& m) { return Error(ErrorKind::Failed, m); }
inline Error invalid(const std::string& m) { return Error(ErrorKind::Invalid, m); }
inline Error unreachable(const std::string& m) { return Error(ErrorKind::Unreachable, m); }
inline Error timed_out(const std::string& m) { return Error(ErrorKind::Timeout, m); }
inline Error peer_failed(const std::string& m) { return Error(ErrorKind::PeerFailed, m); }

}  // namespace fatectl
