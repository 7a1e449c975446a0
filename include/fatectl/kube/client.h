#pragma once
// The HTTP client for one API server: libcurl handles reused per thread, TLS and credentials
// from the resolved kubeconfig, retries with backoff on transient failures, discovery cache.
#include <curl/curl.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::kube {

/// One HTTP request to the API server (path is relative to the server URL, with its query).
struct Request {
  std::string method = "GET";
  std::string path;
  std::string body;
  std::string content_type;  ///< default application/json when body is non-empty
  std::string accept = "application/json";
  long timeout_s = 60;
  bool retry = true;  ///< retry connection failures, 429 and 5xx
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
  bool ok() const { return status >= 200 && status < 300; }
  /// The body parsed as JSON (yaml-cpp; quoted strings stay strings). Null node when empty.
  YAML::Node json() const;
  /// The message of a Kubernetes Status body, or the status line when there is none.
  std::string message() const;
  /// Status.reason ("NotFound", "AlreadyExists", ...), or "".
  std::string reason() const;
};

/// Retry and timeout policy.
struct ClientOptions {
  int max_attempts = 6;           ///< per request, counting the first
  double backoff_base_s = 0.2;    ///< first retry waits up to this (full jitter), doubling
  double backoff_cap_s = 5.0;     ///< ... up to this
  double retry_after_cap_s = 30;  ///< longest Retry-After honoured
  long connect_timeout_s = 10;
};

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

  /// Sends a request with retries; throws Unreachable on connection/TLS failure after the last
  /// attempt. Returns every HTTP response (4xx/5xx included) for the caller to judge.
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
  Response perform_once(CURL* h, const Request& r, const std::string& auth, CURLcode& rc, std::string& err);

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
};

/// Parses JSON text into a node (quoted strings stay strings), decoding what yaml-cpp cannot:
/// UTF-16 surrogate pairs and "\\/". Throws Invalid naming `name`.
YAML::Node parse_json(std::string_view text, const std::string& name);

/// Percent-encodes a query value.
std::string url_escape(const std::string& s);

/// Turns a failed response into an Error naming what was attempted: `verb` ("create", "get",
/// "patch"...), `what` (e.g. "deployments 'python' in namespace 'fate-9999'"). 401/403 name the
/// identity; 5xx and 429 say the server kept failing.
Error api_error(const Client& c, const Response& r, const std::string& verb, const std::string& what);

}  // namespace fatectl::kube
