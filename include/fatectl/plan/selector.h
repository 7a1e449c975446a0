#pragma once
// Kubernetes label selectors, node selector terms, taints and tolerations as the scheduler
// evaluates them.
#include <yaml-cpp/yaml.h>

#include <map>
#include <string>

namespace fatectl::plan {

using Labels = std::map<std::string, std::string>;

/// A labels map from an object's metadata.labels (or any string map).
Labels labels_of(const YAML::Node& map);
/// metav1.LabelSelector (matchLabels + matchExpressions In/NotIn/Exists/DoesNotExist) against
/// labels. An empty selector matches everything; a null one matches nothing.
bool selector_matches(const YAML::Node& selector, const Labels& labels);
/// One NodeSelectorTerm (matchExpressions In/NotIn/Exists/DoesNotExist/Gt/Lt on labels;
/// matchFields on metadata.name) against a node.
bool node_term_matches(const YAML::Node& term, const Labels& labels, const std::string& node_name);
/// The pod's nodeSelector and required node affinity (any one term) against a node.
bool node_matches_pod(const YAML::Node& pod_spec, const Labels& labels, const std::string& node_name);
/// True when one of the pod's tolerations tolerates the taint.
bool tolerates(const YAML::Node& pod_spec, const std::string& key, const std::string& value,
               const std::string& effect);

}  // namespace fatectl::plan
