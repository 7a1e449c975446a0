#pragma once
// Certificates for the Pulsar-over-Exchange TLS path that KubeFATE leaves to the operator: the
// `traffic-server-cert` Secret for the Exchange and a `pulsar-cert` Secret per party, all signed
// by one federation CA (fed/'s CA directory layout).
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

namespace fatectl::ops {

/// Label on objects fatectl makes outside a release (value: the command, e.g. "certs exchange"),
/// so that `cluster uninstall` knows them as fatectl's own: kept, or deleted with --purge.
inline constexpr const char* kMadeByLabel = "fatectl.io/made-by";

/// What `fatectl certs exchange` is asked for.
struct ExchangeCertsOptions {
  std::string dir = "exchange-certs";  ///< CA (ca.crt/ca.key, created if missing) and issued files
  std::string domain = "fate.org";
  std::vector<long> parties;
  std::string exchange_namespace = "fate-exchange";
  std::map<long, std::string> party_namespaces;  ///< default "fate-<party>"
  int days = 825;
  bool force = false;  ///< re-issue certificates that exist
};

/// One Secret to create, with the files it was made from.
struct ExchangeSecret {
  std::string name, namespace_;
  std::string subject;  ///< of the certificate inside
  YAML::Node object;    ///< the Secret (data base64)
  std::string file;     ///< where its manifest was written (0600)
};

/// Creates (or reuses) the CA, issues proxy.<domain> and <party>.<domain> certificates, and
/// writes one Secret manifest per Secret under <dir>/secrets/ (mode 0600). Key material is
/// registered with log::add_secret.
std::vector<ExchangeSecret> make_exchange_certs(const ExchangeCertsOptions& o);

/// Applies the Secrets with server-side apply through the kubeconfig context. A namespace that
/// does not exist is created with `create_namespace`, else nothing is applied and the error names
/// it. Returns what was done ("namespace/fate-10000 created", "Secret fate-exchange/traffic-server-cert");
/// a failure part-way throws naming what was applied before it.
std::vector<std::string> apply_exchange_secrets(const std::vector<ExchangeSecret>& s, const std::string& kubeconfig,
                                                const std::string& context, bool create_namespace = false);

}  // namespace fatectl::ops
