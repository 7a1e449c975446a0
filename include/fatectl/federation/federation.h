#pragma once
// The federation file: one YAML file naming a federation, its domain, the federation engine every
// party shares, the Exchange and every party (id, namespace, the spec it starts from or the chart
// version and engines for fatectl's defaults, the kubeconfig context that reaches it, the address
// the others reach it at). Loading is as strict as `cluster validate` (FILE:LINE:COL, the nearest
// key, exit 2) and checks the federation as a whole. See docs/federation.md.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::federation {

/// Federation engines a fate-exchange routes: Pulsar (Traffic Server SNI tunnels + nginx),
/// Eggroll and OSX (the Exchange's rollsite).
inline constexpr const char* kEnginePulsar = "Pulsar";
inline constexpr const char* kEngineEggroll = "Eggroll";
inline constexpr const char* kEngineOSX = "OSX";

/// What parties and the Exchange have in common in the file.
struct Site {
  std::string name;        ///< release name (default fate-<id> / fate-exchange, or the spec's)
  std::string namespace_;  ///< namespace (default the spec's, else fate-<id> / fate-exchange)
  std::string context;     ///< kubeconfig context ("" = the current one)
  std::string spec_file;   ///< the KubeFATE spec it starts from, resolved against the file's folder ("" = defaults)
  std::string spec_key;    ///< the spec path as written (for messages)
  std::string chart_version;  ///< for generated specs
  std::string address;     ///< host the others reach it at ("" = discovered from its Services)
  Location where;          ///< of the entry
  std::string key;         ///< "exchange" or "parties[2]"
};

/// parties[i].
struct Party : Site {
  long id = 0;
  std::string computing;  ///< generated specs: Spark_local (Pulsar) or Eggroll by default
  std::string storage;
  std::vector<std::string> modules;  ///< generated specs: replaces the engine's default modules
};

/// exchange.
struct Exchange : Site {};

/// The whole file.
struct Federation {
  std::string file;  ///< path as given
  std::string dir;   ///< its folder (relative paths in the file are resolved against it)
  std::string text;  ///< the source
  std::string name;
  std::string domain = "fate.org";
  std::string engine;                    ///< kEnginePulsar | kEngineEggroll | kEngineOSX
  std::string chart_version = "v1.11.2";  ///< default for parties without a spec
  std::string registry;                  ///< generated specs' image registry ("" = Docker Hub)
  std::string pull_policy;               ///< generated specs' pullPolicy ("" = IfNotPresent)
  std::string cert_dir;                  ///< the federation CA and issued certificates (resolved)
  int cert_days = 825;
  Exchange exchange;
  std::vector<Party> parties;

  const Party* party(long id) const;
  /// "9999, 10000, 10001".
  std::string member_list() const;
  bool pulsar() const { return engine == kEnginePulsar; }
};

/// Everything validation found (federation file and the spec files it names).
struct Report {
  Federation fed;
  std::vector<spec::Diagnostic> errors;
  std::vector<spec::Diagnostic> warnings;
  bool ok() const { return errors.empty(); }
};

/// Options of a check.
struct CheckOptions {
  bool lenient = false;     ///< unknown keys are warnings
  bool need_addresses = false;  ///< provision: every party and the Exchange must give `address`
};

/// Validates federation text (`path` names it and anchors relative paths). Never throws for bad
/// input; every problem is a Diagnostic with FILE:LINE:COL and its key path.
Report check(const std::string& text, const std::string& path, const CheckOptions& o = {});
/// check() of a file (an unreadable file is one error).
Report check_file(const std::string& path, const CheckOptions& o = {});
/// Loads a valid federation; throws Invalid with the first error ("FILE:LINE:COL: key: message").
Federation load(const std::string& path, const CheckOptions& o = {});

/// "<party>.<domain>".
std::string party_fqdn(const Federation& f, long party);

}  // namespace fatectl::federation
