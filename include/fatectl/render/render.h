#pragma once
// Rendering: a validated ClusterSpec to every Kubernetes object KubeFATE's chart creates.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fatectl/spec/cluster_spec.h"

namespace fatectl::render {

/// Choices that depend on the target cluster rather than the spec.
struct RenderOptions {
  std::string kube_version;  ///< e.g. "1.31"; empty = current. < 1.25 keeps PodSecurityPolicy,
                             ///< otherwise Pod Security Admission labels on the Namespace.
  std::string registry;      ///< overrides the spec's registry when non-empty
};

/// One rendered object with the module it belongs to (for progress and status per module).
struct Object {
  std::string module;  ///< e.g. "python", "mysql", "trafficServer"; "" for shared objects
  YAML::Node node;     ///< apiVersion, kind, metadata, ...
  std::string kind() const;
  std::string name() const;
  std::string namespace_() const;
};

/// Every object of every module listed in the spec, in apply order: Namespace, RBAC,
/// Secrets and ConfigMaps, PVCs, Services, workloads, Ingress.
std::vector<Object> render(const spec::ClusterSpec& spec, const RenderOptions& opts = {});

/// Every image reference the rendered workloads use (sorted, unique).
std::vector<std::string> images(const spec::ClusterSpec& spec, const RenderOptions& opts = {});

/// The files under manifests/, embedded at build time (path relative to manifests/).
const std::map<std::string, std::string_view>& embedded_files();

}  // namespace fatectl::render
