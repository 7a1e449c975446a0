#pragma once
// The reference architecture's sizing and resilience rules as data (manifests/plan/rules.yaml,
// one line per rule with its source sentence) and their evaluation against a spec's workloads.
#include <map>
#include <string>
#include <vector>

#include "fatectl/plan/workload.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::plan {

/// How much a broken rule weighs: advice fails `plan --strict`; a note never does.
enum class Level { Advice, Note };

/// One rule of the table.
struct Rule {
  std::string id;
  std::string check;                 ///< pod-cpu, pod-memory, volume-size, volume-data, persistence, spread,
                                     ///< replicas, external, note
  std::vector<std::string> match;    ///< component globs; "!x" excludes
  std::string chart = "fate";        ///< fate, fate-exchange or *
  std::map<std::string, std::vector<std::string>> when;  ///< spec key -> values (any one applies)
  std::string min, above;            ///< thresholds as written ("4", "8G")
  int64_t min_value = 0, above_value = 0;  ///< parsed (millicores for CPU checks, units otherwise)
  int factor = 0;                    ///< volume-data: volume >= factor x --data-size
  Level level = Level::Advice;
  std::string advice;                ///< external/note: what to do
  std::string source;                ///< the reference architecture's sentence
  std::string file;                  ///< where it was read (rules.yaml:LINE)

  /// True when the rule covers `component` (globs, exclusions).
  bool matches(const std::string& component) const;
};

/// Parses a rules file; throws Invalid naming `name`:line for an unknown check, a missing
/// source or a bad threshold.
std::vector<Rule> parse_rules(const std::string& text, const std::string& name);
/// The shipped table (manifests/plan/rules.yaml, embedded at build time).
const std::vector<Rule>& builtin_rules();

/// A rule the spec breaks: FILE:LINE:COL: key.path: advice (rule ID).
struct Finding {
  std::string rule;
  Level level = Level::Advice;
  spec::Diagnostic diag;
  std::string source;
  std::string str() const { return diag.str(); }
};

/// What the rules look at.
struct RuleInput {
  const spec::ClusterSpec& spec;
  const Workloads& workloads;
  int64_t data_size = 0;  ///< --data-size in bytes; 0 = not given
};

/// Findings of every rule that the spec breaks (sorted by position), and the notes said once
/// (external HA, what the API cannot show, rules that could not be checked).
struct RuleResult {
  std::vector<Finding> findings;
  std::vector<std::string> notes;
};
RuleResult check_rules(const std::vector<Rule>& rules, const RuleInput& in);

/// The finding of a `spread` rule for pods of `set` that share a node (placement against a
/// cluster): `pods` lists the pods and `node` the node they share.
Finding spread_finding(const Rule& r, const spec::ClusterSpec& spec, const PodSet& set,
                       const std::vector<std::string>& pods, const std::string& node);

/// True when the pod template requires (requiredDuringScheduling) that no two of its own pods
/// share a node (podAntiAffinity on kubernetes.io/hostname selecting its own labels).
bool has_self_anti_affinity(const PodSet& s);

}  // namespace fatectl::plan
