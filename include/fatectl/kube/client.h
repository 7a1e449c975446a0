#pragma once
// The HTTP client for one API server: libcurl handles reused per thread, TLS and credentials
// from the resolved kubeconfig, retries with backoff on transient failures, discovery cache.
// Every request ends by the client's Deadline and reads at most its size limit (see docs/kube.md
// "Limits").
#include <curl/curl.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/kube/deadline.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::kube {

inline constexpr uint64_t kMiB = 1024 * 1024;
/// The most bytes (after decompression) fatectl reads for one object, discovery or /version.
inline constexpr uint64_t kMaxObjectBytes = 16 * kMiB;
/// ... for one page of a list (a longer list is read page by page with limit/continue).
inline constexpr uint64_t kMaxListPageBytes = 64 * kMiB;
/// ... for a container's log lines.
inline constexpr uint64_t kMaxLogBytes = 1 * kMiB;
/// The most JSON values (objects, arrays, keys, scalars) parsed from one response: yaml-cpp
/// spends about 500 bytes on each, so this keeps one parsed response near 120 MiB.
inline constexpr uint64_t kMaxJsonValues = 250'000;

/// The API server's answer broke one of fatectl's limits: too large, too slow, a list without
/// end (exit 3, like an unreachable server: the cluster gives no usable answer).
class BadAnswer : public Error {
 public:
  explicit BadAnswer(const std::string& m) : Error(ErrorKind::Unreachable, m) {}
};

/// The API server sent more than a limit allows for one response. Lists catch it to read
/// smaller pages.
class ResponseTooLarge : public BadAnswer {
 public:
  explicit ResponseTooLarge(const std::string& m) : BadAnswer(m) {}
};

/// One HTTP request to the API server (path is relative to the server URL, with its query).
struct Request {
  std::string method = "GET";
  std::string path;
  std::string body;
  std::string content_type;  ///< default application/json when body is non-empty
  std::string accept = "application/json";
  long timeout_s = 0;  ///< a limit of its own, below the client's Deadline (0 = none)
  bool retry = true;  ///< retry connection failures, 429 and 5xx
  uint64_t max_bytes = kMaxObjectBytes;  ///< the most body bytes read (after decompression)
  std::string what;  ///< what is asked for, for messages ("one list of secrets"); "" = the path
  /// A GET of `path`.
  static Request get(std::string path) {
    Request r;
    r.path = std::move(path);
    return r;
  }
};

/// An HTTP response, whatever its status (connection failures throw instead).
struct Response {
  long status = 0;
  std::string body;
  std::string retry_after;
  std::string content_type;
  std::string what;  ///< the request's `what` (for messages)
  bool ok() const { return status >= 200 && status < 300; }
  /// The body parsed as JSON (yaml-cpp; quoted strings stay strings). Null node when empty.
  /// More than kMaxJsonValues values throws ResponseTooLarge.
  YAML::Node json() const;
  /// The message of a Kubernetes Status body, or the status line when there is none.
  std::string message() const;
  /// Status.reason ("NotFound", "AlreadyExists", ...), or "".
  std::string reason() const;
};

/// Retry, timeout and slowness policy.
struct ClientOptions {
  int max_attempts = 6;           ///< per request, counting the first
  double backoff_base_s = 0.2;    ///< first retry waits up to this (full jitter), doubling
  double backoff_cap_s = 5.0;     ///< ... up to this
  long connect_timeout_s = 10;    ///< connect + TLS handshake of one attempt (within the deadline)
  /// Once the server starts answering, fewer than low_speed_bytes in any low_speed_window_s
  /// ends the request (a trickling response).
  uint64_t low_speed_bytes = 1024;
  long low_speed_window_s = 10;
  /// Bounds every request, retry and Retry-After wait (the command's, set by the CLI).
  Deadline deadline = Deadline::process_default();
};

/// What one attempt read and why it stopped (defined in client.cc).
struct Transfer;

/// How the API server identifies itself (/version).
struct ServerVersion {
  int major = 1;
  int minor = 0;
  std::string git_version;
  std::string minor_str() const { return std::to_string(major) + "." + std::to_string(minor); }
};

/// What discovery says about one kind: its REST resource name and scope.
struct ResourceInfo {
  std::string group;    ///< "" for the core group
  std::string version;  ///< v1, ...
  std::string resource; ///< plural, e.g. deployments
  std::string kind;
  bool namespaced = true;
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

/// Counters for diagnostics and tests.
struct ClientStats {
  std::atomic<int> requests{0};
  std::atomic<int> retries{0};
};

/// A client for the API server of one resolved kubeconfig context. Thread-safe.
class Client {
 public:
  explicit Client(Config cfg, ClientOptions opts = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Config& config() const { return cfg_; }
  ClientStats& stats() { return stats_; }
  const Deadline& deadline() const { return opts_.deadline; }

  /// While alive, requests may run up to Deadline::kGrace past the command's deadline: for
  /// recording a failure and explaining a timeout after the deadline passed.
  class Grace {
   public:
    explicit Grace(Client& c) : c_(c) { ++c_.grace_; }
    ~Grace() { --c_.grace_; }
    Grace(const Grace&) = delete;
    Grace& operator=(const Grace&) = delete;

   private:
    Client& c_;
  };
  /// The window of one request starting now (honours an active Grace).
  Deadline::Window request_window() const { return opts_.deadline.request(grace_ > 0); }

  /// Sends a request with retries; throws Unreachable on connection/TLS failure after the last
  /// attempt, Timeout (exit 4) when the deadline passes (no answer, Retry-After beyond it),
  /// ResponseTooLarge / Unreachable when the answer breaks a limit (size, trickle). Returns
  /// every HTTP response (4xx/5xx included) for the caller to judge.
  Response send(const Request& r);
  /// GET returning parsed JSON; non-2xx throws (see api_error).
  YAML::Node get_json(const std::string& path);

  /// Server version (cached).
  ServerVersion version();
  /// Maps apiVersion+kind to its resource via discovery (cached per group-version).
  /// Throws Failed when the server does not serve that kind.
  ResourceInfo resource_for(const std::string& api_version, const std::string& kind);

  /// Full URL of a path on this server (server URL may carry a path prefix).
  std::string url(const std::string& path) const;
  /// Sets TLS, proxy and client-certificate options on a handle (used by exec, too).
  void setup_connection(CURL* h, bool tunnel_proxy = false);
  /// The Authorization header value ("Bearer ...", "Basic ...") or "" for none / cert auth.
  std::string authorization(bool refresh = false);
  /// The URL host:port part that exec connects to (honours tls-server-name).
  std::string connect_url() const;

 private:
  CURL* acquire();
  void release(CURL* h);
  Response perform_once(CURL* h, const Request& r, const std::string& auth, const Deadline::Window& w, Transfer& t);

  Config cfg_;
  ClientOptions opts_;
  ClientStats stats_;
  CredentialCache creds_;
  std::mutex mu_;
  std::vector<CURL*> free_;
  std::mutex disc_mu_;
  std::map<std::string, std::vector<ResourceInfo>> discovered_;  // group-version -> resources
  std::unique_ptr<ServerVersion> version_;
  std::string host_, port_;  // of the server URL
  curl_slist* connect_to_ = nullptr;  // tls-server-name -> real host
  std::atomic<int> grace_{0};
};

/// Parses JSON text into a node (quoted strings stay strings), decoding what yaml-cpp cannot:
/// UTF-16 surrogate pairs and "\\/". Throws Invalid naming `name`, ResponseTooLarge when the text
/// holds more than `max_values` values (counted before parsing).
YAML::Node parse_json(std::string_view text, const std::string& name, uint64_t max_values = kMaxJsonValues);
/// How many values (objects, arrays, keys, scalars) JSON text holds, counting at most up to
/// `stop_after` + 1.
uint64_t json_values(std::string_view text, uint64_t stop_after);

/// Percent-encodes a query value.
std::string url_escape(const std::string& s);

/// Turns a failed response into an Error naming what was attempted: `verb` ("create", "get",
/// "patch"...), `what` (e.g. "deployments 'python' in namespace 'fate-9999'"). 401/403 name the
/// identity; 5xx and 429 say the server kept failing.
Error api_error(const Client& c, const Response& r, const std::string& verb, const std::string& what);

}  // namespace fatectl::kube
