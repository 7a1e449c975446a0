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

/// Where one image is used: the workload and container, and the module it belongs to.
struct ImageUse {
  std::string image;
  std::string module;
  std::string workload;   ///< "Deployment/traffic-server"
  std::string container;
};
/// Every container's image, in render order (an image used twice appears twice).
std::vector<ImageUse> image_uses(const spec::ClusterSpec& spec, const RenderOptions& opts = {});
/// The tag of an image reference ("" when it has none; a digest reference returns "@digest").
std::string image_tag(const std::string& image);
/// True when the reference can change under the same name: no tag, or the tag `latest`
/// (a digest, @sha256:..., never floats).
bool floating_tag(const std::string& image);
/// One warning per image with a floating tag, at the spec key that sets its tag when the spec
/// has one (`<module>.imageTag`, `imageTag`), else naming the key that would pin it.
std::vector<spec::Diagnostic> floating_image_warnings(const spec::ClusterSpec& spec, const RenderOptions& opts = {});

/// The files under manifests/, embedded at build time (path relative to manifests/).
const std::map<std::string, std::string_view>& embedded_files();

}  // namespace fatectl::render
