#pragma once
// kubeconfig loading with kubectl's rules: which files, how they merge, which context wins,
// and what the chosen context's cluster and user say about reaching the API server.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fatectl::kube {

/// An exec credential plugin (users[].user.exec): a program that prints an ExecCredential.
struct ExecPlugin {
  std::string api_version;  ///< client.authentication.k8s.io/v1 or /v1beta1
  std::string command;      ///< resolved against the kubeconfig's folder when it holds a '/'
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string install_hint;
  std::string base_dir;  ///< folder of the kubeconfig file that defined it
};

/// Credentials an exec plugin returned, valid until `expires` (never when unset).
struct ExecCredential {
  std::string token;
  std::string client_cert_data;
  std::string client_key_data;
  std::optional<std::chrono::system_clock::time_point> expires;
};

/// Everything needed to talk to one API server as one identity: the resolved context.
struct Config {
  std::string context;       ///< context name ("" for in-cluster)
  std::string cluster_name;  ///< clusters[].name
  std::string user_name;     ///< users[].name
  std::string namespace_ = "default";
  std::string source;  ///< the file(s) it came from, for messages

  std::string server;  ///< https://host:port[/prefix]
  std::string ca_data; ///< PEM of certificate-authority(-data); empty = system trust
  bool insecure = false;
  std::string tls_server_name;
  std::string proxy_url;

  std::string client_cert_data;  ///< PEM
  std::string client_key_data;   ///< PEM
  std::string token;
  std::string token_file;  ///< re-read on every request that needs it (rotated SA tokens)
  std::string username;
  std::string password;
  std::optional<ExecPlugin> exec;

  /// "user 'alice' of context 'prod'" — which identity a refused request used.
  std::string identity() const;
};

/// Where to look: --kubeconfig and --context as given on the command line (both optional).
struct LoadOptions {
  std::string kubeconfig;  ///< a single file; empty = $KUBECONFIG list, else ~/.kube/config
  std::string context;     ///< empty = current-context
};

/// Loads and resolves the context (see docs/kube.md "kubeconfig"). With no kubeconfig file at
/// all, falls back to the in-pod service account (KUBERNETES_SERVICE_HOST + token + CA).
/// Throws Invalid naming the file, context and field on any problem.
Config load_config(const LoadOptions& opts);

/// Resolves from texts already read: each pair is (file path, file text), first file wins.
Config resolve_config(const std::vector<std::pair<std::string, std::string>>& files, const std::string& context);

/// The in-pod configuration from a service-account folder (token, ca.crt, namespace) and
/// KUBERNETES_SERVICE_HOST/PORT.
Config in_cluster_config(const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

/// Runs an exec plugin and parses its ExecCredential (throws Unreachable naming the plugin).
ExecCredential run_exec_plugin(const ExecPlugin& plugin, const std::string& context);

/// Parses what an exec plugin printed (an ExecCredential JSON object of `api_version`);
/// throws Unreachable naming `what` (the plugin) on anything else.
ExecCredential parse_exec_credential(std::string_view text, const std::string& api_version, const std::string& what);
/// Caches one exec credential until it expires (thread-safe).
class CredentialCache {
 public:
  /// Returns the cached credential, running the plugin when none is cached, it has expired,
  /// or `refresh` is set (after a 401).
  ExecCredential get(const ExecPlugin& plugin, const std::string& context, bool refresh = false);
  int runs() const { return runs_; }

 private:
  std::mutex mu_;
  std::optional<ExecCredential> cached_;
  int runs_ = 0;
};

/// RFC 3339 timestamp to a time point (throws Invalid).
std::chrono::system_clock::time_point parse_rfc3339(const std::string& s);
/// Now (or `t`) as RFC 3339 UTC with seconds, e.g. "2026-11-30T04:50:00Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);

/// Base64 (standard alphabet, padded).
std::string base64_encode(std::string_view in);
/// Base64 decode; whitespace ignored; throws Invalid on bad input.
std::string base64_decode(std::string_view in);

}  // namespace fatectl::kube
