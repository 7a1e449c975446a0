#pragma once
// `federation provision`: the air-gapped path, where no one holds every kubeconfig. From the
// federation file it writes one kit per site into a directory -- the site's finished spec, its
// certificate and key (0600), the CA certificate, its Secrets and a README with the commands that
// site runs. The CA key stays in the certificates directory. Re-running after an edit rewrites only
// the files that changed and says what each site must re-apply.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "fatectl/federation/federation.h"
#include "fatectl/federation/sites.h"

namespace fatectl::federation {

/// Settings of a provision run.
struct ProvisionOptions {
  std::string out;       ///< the kits' directory
  bool dry_run = false;  ///< report what would change, write nothing
};

/// One file of a kit, before it is written.
struct KitFile {
  std::string name;     ///< relative to the kit ("cluster.yaml", "secrets/pulsar-cert.yaml")
  std::string content;
  bool secret = false;  ///< key material: written 0600
};

/// A site's kit.
struct Kit {
  std::string site;   ///< "exchange", "party-9999"
  std::string title;  ///< "the Exchange", "party 9999"
  std::vector<KitFile> files;
};

/// What happened to one site's kit.
struct KitChange {
  std::string site;
  std::string state;                ///< "new", "changed", "unchanged", "removed"
  std::vector<std::string> files;   ///< files written (or removed)
  std::vector<std::string> reapply; ///< what that site runs now
};

/// The outcome of a run.
struct ProvisionReport {
  std::string out;
  std::vector<KitChange> sites;
  int written = 0;
};

/// The NodePorts chosen for each site ("exchange", "party-9999").
using SitePins = std::map<std::string, NodePortPins>;

/// The kits of a federation. Issues the certificates it lacks into the CA directory (once per
/// party), unless `issue` is false: then a missing certificate is an empty file in the kit.
std::vector<Kit> build_kits(const Federation& f, const SitePins& pins, bool issue = true);

/// Writes (or, with dry_run, compares) the kits under o.out. Throws Invalid when the CA directory
/// lies inside a kit, or a needed address is missing.
ProvisionReport provision(const Federation& f, const ProvisionOptions& o);

YAML::Node provision_report_yaml(const ProvisionReport& r);

}  // namespace fatectl::federation
