#pragma once
// Before an install applies anything: the Secrets its pods need to start (certificates the
// operator provides, e.g. traffic-server-cert, pulsar-cert) must exist or be rendered, else the
// pods wait in ContainerCreating with nothing said.
#include <string>
#include <vector>

#include "fatectl/kube/apply.h"
#include "fatectl/kube/client.h"

namespace fatectl::ops {

/// A Secret a pod template needs and who needs it.
struct SecretUse {
  std::string ns, name;
  std::string user;  ///< "Deployment/traffic-server (volume traffic-server-cert-file)"
};

/// Secrets the pod templates of `objects` need (secret volumes, projected secrets, env
/// secretKeyRef and envFrom secretRef that are not optional), one entry per Secret.
std::vector<SecretUse> secrets_needed(const std::vector<kube::Manifest>& objects);

/// Throws Failed naming every needed Secret that is neither among `objects` nor in the cluster
/// (and how to create it); does nothing when all exist.
void check_mounted_secrets(kube::Client& c, const std::vector<kube::Manifest>& objects);

}  // namespace fatectl::ops
