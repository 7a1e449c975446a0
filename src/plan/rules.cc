#include "fatectl/plan/rules.h"

#include <algorithm>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/api.h"
#include "fatectl/plan/locate.h"
#include "fatectl/plan/selector.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/validate.h"

namespace fatectl::plan {
namespace {

using kube::F;

const std::set<std::string> kChecks = {"pod-cpu", "pod-memory", "volume-size", "volume-data", "persistence",
                                       "spread",  "replicas",   "external",    "note"};

bool glob(const std::string& pattern, const std::string& s) {
  // '*' only, with one backtracking point: linear in the lengths of pattern and text.
  size_t p = 0, i = 0, star = std::string::npos, mark = 0;
  while (i < s.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pattern.size() && pattern[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string text_of(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : ""; }

/// "python", "spark-worker (2 pods)".
std::string who(const PodSet& s) {
  return s.replicas > 1 ? s.component + " (" + std::to_string(s.replicas) + " pods)" : s.component;
}

struct Checker {
  const Rule& r;
  const RuleInput& in;
  RuleResult& out;

  void add(const std::string& key, const std::string& msg, Level level) {
    Finding f;
    f.rule = r.id;
    f.level = level;
    f.source = r.source;
    f.diag = spec::Diagnostic{locate(in.spec, key), key, msg + " (rule " + r.id + ")"};
    out.findings.push_back(f);
  }

  std::vector<const PodSet*> sets() const {
    std::vector<const PodSet*> v;
    for (const auto& s : in.workloads.sets)
      if (s.replicas > 0 && r.matches(s.component)) v.push_back(&s);
    return v;
  }

  void pod_resource(bool cpu) {
    const std::string res = cpu ? "cpu" : "memory";
    const std::string unit = cpu ? " vCPU" : "";
    for (const PodSet* s : sets()) {
      auto req = s->pod_requests();
      bool set = req.count(res) > 0;
      int64_t have = set ? req[res] : 0;
      bool ok = r.above.empty() ? have >= r.min_value : have > r.above_value;
      if (ok) continue;
      std::string want = r.above.empty() ? "at least " + r.min + unit : "more than " + r.above + unit;
      std::string has = set ? "requests " + (cpu ? format_cpu(have) + " CPU" : format_bytes(have) + " memory") + " per pod"
                            : std::string("sets no ") + (cpu ? "CPU" : "memory") + " request";
      std::string key = s->spec_path + ".resources.requests." + res;
      if (settable(in.spec, key)) {
        std::string suggestion = r.above.empty() ? "set " + key + ": \"" + r.min + "\"" : "raise " + key;
        add(key, who(*s) + " " + has + "; the reference architecture gives it " + want + ": " + suggestion, r.level);
      } else {
        add(s->spec_path, who(*s) + " " + has + " and the chart has no " + s->spec_path +
                              ".resources key to set one: keep " + want + " free for it on its node",
            Level::Note);
      }
    }
  }

  void volume_size() {
    for (const auto& v : in.workloads.volumes) {
      if (!r.matches(v.component) || v.existing || v.size >= r.min_value) continue;
      std::string key = v.spec_path + ".size";
      std::string name = v.template_name.empty() ? "PVC " + v.claim
                                                  : "volume " + v.template_name + " of " + v.component +
                                                        (v.copies > 1 ? " (" + std::to_string(v.copies) + " PVCs)" : "");
      std::string msg = name + " asks " + (v.size_text.empty() ? "no size" : v.size_text) +
                        "; the reference architecture gives every persistent volume at least " + r.min;
      if (settable(in.spec, key)) add(key, msg + ": set " + key + ": " + r.min, r.level);
      else add(v.spec_path, msg + " (the chart has no " + key + " key)", Level::Note);
    }
  }

  void volume_data() {
    if (in.data_size <= 0) {
      out.notes.push_back("rule " + r.id + " not checked: pass --data-size SIZE (the data set this party will hold)");
      return;
    }
    int64_t want = mul_sat(in.data_size, r.factor);
    std::string data = format_bytes(in.data_size), need = format_bytes(want);
    for (const PodSet* s : sets()) {
      std::string key = s->spec_path + ".size";
      if (s->volumes.empty()) {
        add(settable(in.spec, key) ? key : s->spec_path,
            s->component + " keeps its data in an emptyDir (no persistent volume); for a " + data +
                " data set the reference architecture wants a volume of at least " + std::to_string(r.factor) +
                " x " + data + " = " + need + ": set persistence: true and " + key + ": " + need,
            r.level);
        continue;
      }
      for (size_t i : s->volumes) {
        const Volume& v = in.workloads.volumes[i];
        if (v.existing) {
          out.notes.push_back("rule " + r.id + ": " + s->component + " uses the existing claim " + v.claim +
                              ", whose size only the cluster knows: make sure it holds at least " + need);
          continue;
        }
        if (v.size >= want) continue;
        std::string msg = "volume " + (v.template_name.empty() ? v.claim : v.template_name) + " of " + s->component +
                          " asks " + v.size_text + "; for a " + data + " data set the reference architecture wants at least " +
                          std::to_string(r.factor) + " x " + data + " = " + need;
        if (settable(in.spec, key)) add(key, msg + ": set " + key + ": " + need, r.level);
        else add(s->spec_path, msg, Level::Note);
      }
    }
  }

  void persistence() {
    std::vector<std::string> missing;
    std::vector<const PodSet*> missing_sets;
    for (const PodSet* s : sets())
      if (s->volumes.empty() && std::find(missing.begin(), missing.end(), s->component) == missing.end()) {
        missing.push_back(s->component);
        missing_sets.push_back(s);
      }
    if (missing.empty()) return;
    if (value_at(in.spec, "persistence") != "true") {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i)
        list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
      add("persistence",
          "persistence is off: " + list + (missing.size() > 1 ? " keep" : " keeps") +
              " their data in emptyDir volumes and lose it when a pod restarts; the reference architecture's "
              "failure results (a restarted MySQL, HDFS datanode or Pulsar lets a job continue) rest on "
              "persistent volumes: set persistence: true",
          r.level);
      return;
    }
    for (const PodSet* s : missing_sets)
      add(s->spec_path, s->component + " keeps its data in an emptyDir although persistence is on (the chart gives it no volume)",
          Level::Note);
  }

  void spread() {
    for (const PodSet* s : sets()) {
      if (s->replicas < 2 || has_self_anti_affinity(*s)) continue;
      std::string key = s->spec_path + ".affinity";
      add(settable(in.spec, key) ? key : s->spec_path,
          std::to_string(s->replicas) + " " + s->component +
              " pods and nothing keeps them on separate nodes; the reference architecture runs one per worker node: "
              "add a required podAntiAffinity (topologyKey kubernetes.io/hostname, labelSelector fateMoudle: " +
              s->component + ")",
          settable(in.spec, key) ? r.level : Level::Note);
    }
  }

  void replicas() {
    for (const auto& s : in.workloads.sets) {
      if (!r.matches(s.component) || s.replicas >= r.min_value) continue;
      std::string key = s.spec_path + ".replicas";
      std::string msg = s.component + " runs " + std::to_string(s.replicas) + " replica" + (s.replicas == 1 ? "" : "s") +
                        "; it is stateless and the reference architecture replicates it so that a restart does not stop a job";
      if (settable(in.spec, key)) add(key, msg + ": set " + key + ": " + r.min, r.level);
      else add(s.spec_path, msg + " (the chart has no " + key + " key)", Level::Note);
    }
  }

  void external() {
    std::vector<std::string> present;
    for (const PodSet* s : sets())
      if (std::find(present.begin(), present.end(), s->component) == present.end()) present.push_back(s->component);
    if (present.empty()) return;
    std::string list;
    for (size_t i = 0; i < present.size(); ++i) list += (i ? ", " : "") + present[i];
    add("modules", list + " run inside this party and are not highly available; for production point the spec at "
                          "external HA clusters: " + r.advice,
        r.level);
  }
};

bool when_applies(const Rule& r, const spec::ClusterSpec& spec) {
  if (r.when.empty()) return true;
  for (const auto& [key, values] : r.when) {
    std::string v = value_at(spec, key);
    if (!v.empty() && std::find(values.begin(), values.end(), v) != values.end()) return true;
  }
  return false;
}

}  // namespace

bool Rule::matches(const std::string& component) const {
  bool in = false;
  for (const auto& m : match) {
    if (!m.empty() && m[0] == '!') {
      if (glob(m.substr(1), component)) return false;
    } else if (glob(m, component)) {
      in = true;
    }
  }
  return in;
}

static std::vector<Rule> parse_rules_unchecked(const std::string& text, const std::string& name) {
  YAML::Node doc = yaml::parse(text, name);
  std::vector<Rule> out;
  std::set<std::string> ids;
  YAML::Node list = F(doc)["rules"];
  if (!list || !list.IsSequence()) throw invalid_at(yaml::where(list ? list : doc, name), "rules", "a list of rules");
  for (const auto& n : list) {
    Location loc = yaml::where(n, name);
    auto bad = [&](const std::string& key, const std::string& why) { return invalid_at(loc, key, why); };
    if (!n.IsMap()) throw bad("rules", "each rule is a map");
    Rule r;
    r.file = name + ":" + std::to_string(loc.line);
    r.id = text_of(n["id"]);
    r.check = text_of(n["check"]);
    r.source = text_of(n["source"]);
    r.advice = text_of(n["advice"]);
    if (n["chart"]) r.chart = text_of(n["chart"]);
    if (r.id.empty() || !ids.insert(r.id).second) throw bad("id", "missing or duplicate rule id '" + r.id + "'");
    if (!kChecks.count(r.check)) throw bad(r.id + ".check", "unknown check '" + r.check + "'");
    if (r.source.empty()) throw bad(r.id + ".source", "every rule quotes the reference architecture's sentence");
    if (r.chart != "fate" && r.chart != "fate-exchange" && r.chart != "*") throw bad(r.id + ".chart", "fate, fate-exchange or *");
    std::string level = text_of(n["level"]);
    if (level == "note") r.level = Level::Note;
    else if (level != "advice") throw bad(r.id + ".level", "advice or note");
    YAML::Node match = n["match"];
    if (match && match.IsSequence())
      for (const auto& m : match) r.match.push_back(text_of(m));
    if (r.match.empty()) throw bad(r.id + ".match", "a list of components");
    if (YAML::Node when = n["when"]; when && !when.IsNull()) {
      if (!when.IsMap()) throw bad(r.id + ".when", "a map of spec keys to lists of values");
      for (const auto& kv : when) {
        if (!kv.second.IsSequence()) throw bad(r.id + ".when." + text_of(kv.first), "a list of values");
        auto& vals = r.when[text_of(kv.first)];
        for (const auto& v : kv.second) vals.push_back(text_of(v));
      }
    }
    r.min = text_of(n["min"]);
    r.above = text_of(n["above"]);
    std::string unit = r.check == "pod-cpu" ? "cpu" : r.check == "replicas" ? "count" : "memory";
    for (auto [txt, val] : {std::make_pair(&r.min, &r.min_value), std::make_pair(&r.above, &r.above_value)}) {
      if (txt->empty()) continue;
      auto v = parse_resource(unit, *txt);
      if (!v) throw bad(r.id, "'" + *txt + "' is not a quantity");
      *val = *v;
    }
    bool needs_threshold = r.check == "pod-cpu" || r.check == "pod-memory" || r.check == "volume-size" || r.check == "replicas";
    if (needs_threshold && r.min.empty() == r.above.empty()) throw bad(r.id, "needs exactly one of min and above");
    if (r.check == "volume-data") {
      long long f = 0;
      if (!spec::as_integer(n["factor"], f) || f < 1 || f > 1000) throw bad(r.id + ".factor", "an integer 1-1000");
      r.factor = static_cast<int>(f);
    }
    if ((r.check == "external" || r.check == "note") && r.advice.empty()) throw bad(r.id + ".advice", "what to do");
    out.push_back(r);
  }
  if (out.empty()) throw invalid(name + ": no rules");
  return out;
}

std::vector<Rule> parse_rules(const std::string& text, const std::string& name) {
  // Shapes are checked before each loop (iterating a map as a list throws yaml-cpp's InvalidNode);
  // at_edge turns anything a check missed into FILE:LINE:COL, exit 2.
  return yaml::at_edge(name, [&] { return parse_rules_unchecked(text, name); });
}

const std::vector<Rule>& builtin_rules() {
  static const std::vector<Rule> rules = [] {
    const auto& files = render::embedded_files();
    auto it = files.find("plan/rules.yaml");
    if (it == files.end()) throw failed("manifests/plan/rules.yaml is not embedded; this is a fatectl bug");
    return parse_rules(std::string(it->second), "manifests/plan/rules.yaml");
  }();
  return rules;
}

bool has_self_anti_affinity(const PodSet& s) {
  Labels own = labels_of(s.labels);
  for (const auto& t : F(s.pod)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"])
    if (F(t)["topologyKey"].str() == "kubernetes.io/hostname" && selector_matches(F(t)["labelSelector"], own))
      return true;
  return false;
}

RuleResult check_rules(const std::vector<Rule>& rules, const RuleInput& in) {
  RuleResult out;
  std::string chart = in.spec.is_exchange() ? "fate-exchange" : "fate";
  for (const auto& r : rules) {
    if ((r.chart != "*" && r.chart != chart) || !when_applies(r, in.spec)) continue;
    Checker c{r, in, out};
    if (r.check == "pod-cpu") c.pod_resource(true);
    else if (r.check == "pod-memory") c.pod_resource(false);
    else if (r.check == "volume-size") c.volume_size();
    else if (r.check == "volume-data") c.volume_data();
    else if (r.check == "persistence") c.persistence();
    else if (r.check == "spread") c.spread();
    else if (r.check == "replicas") c.replicas();
    else if (r.check == "external") c.external();
    else if (r.check == "note") out.notes.push_back(r.advice + " (rule " + r.id + ")");
  }
  std::stable_sort(out.findings.begin(), out.findings.end(), [](const Finding& a, const Finding& b) {
    if (a.diag.where.line != b.diag.where.line) return a.diag.where.line < b.diag.where.line;
    return a.diag.where.column < b.diag.where.column;
  });
  return out;
}

Finding spread_finding(const Rule& r, const spec::ClusterSpec& spec, const PodSet& set,
                       const std::vector<std::string>& pods, const std::string& node) {
  std::string list;
  for (size_t i = 0; i < pods.size(); ++i) list += (i ? " and " : "") + pods[i];
  std::string key = set.spec_path + ".affinity";
  if (!settable(spec, key)) key = set.spec_path;
  Finding f;
  f.rule = r.id;
  f.level = r.level;
  f.source = r.source;
  f.diag = spec::Diagnostic{locate(spec, key), key,
                            list + " would share node " + node + "; the reference architecture runs one " + set.component +
                                " per worker node: add nodes, or a required podAntiAffinity on kubernetes.io/hostname (rule " +
                                r.id + ")"};
  return f;
}

}  // namespace fatectl::plan
