// Loading a cluster spec: raw-text checks, chart and generation, the key tree, the rules.
#include "fatectl/spec/cluster_spec.h"

#include <algorithm>

#include "fatectl/core/yaml.h"
#include "fatectl/spec/schema.h"
#include "fatectl/spec/source_check.h"
#include "fatectl/spec/suggest.h"
#include "fatectl/spec/validate.h"

namespace fatectl::spec {

bool ClusterSpec::has_module(const std::string& m) const {
  return std::find(modules.begin(), modules.end(), m) != modules.end();
}

std::string Diagnostic::str() const {
  std::string s = where.str() + ": ";
  if (!key_path.empty()) s += one_line(key_path, 120) + ": ";
  return s + one_line(message, std::string::npos);
}

YAML::Node Diagnostic::to_yaml() const {
  YAML::Node n;
  n["file"] = yaml::str(where.file);
  n["line"] = where.line;
  n["column"] = where.column;
  n["key"] = yaml::str(key_path);
  n["message"] = yaml::str(message);
  return n;
}

std::string generation_name(Generation g) {
  switch (g) {
    case Generation::Fate16: return "fate v1.6.x";
    case Generation::Fate19: return "fate v1.9-v1.11";
    case Generation::Fate20: return "fate v2.0.x";
    case Generation::Exchange: return "fate-exchange";
  }
  return "?";
}

namespace {

const char* kSupported = "fate v1.6.x, v1.9.x-v1.11.x, v2.0.x; fate-exchange v1.6.x-v1.11.x";

/// "v1.11.2" (the v optional here, checked by the caller): three numbers of 1-3 digits. A
/// hand-written scanner, so a chartVersion of any length is refused in linear time.
bool parse_chart_version(const std::string& v, bool& has_v, int& major, int& minor) {
  size_t i = 0;
  has_v = !v.empty() && v[0] == 'v';
  if (has_v) ++i;
  int nums[3];
  for (int k = 0; k < 3; ++k) {
    if (k > 0) {
      if (i >= v.size() || v[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    int x = 0;
    while (i < v.size() && i - start < 3 && v[i] >= '0' && v[i] <= '9') x = x * 10 + (v[i++] - '0');
    if (i == start) return false;
    nums[k] = x;
  }
  major = nums[0];
  minor = nums[1];
  return i == v.size();
}

/// Reads chartName/chartVersion and picks the generation. False when it cannot.
bool pick_generation(Report& r) {
  ClusterSpec& s = r.spec;
  const YAML::Node& root = s.root;
  auto err = [&](const YAML::Node& n, const std::string& path, const std::string& msg) {
    r.errors.push_back({where(n.IsDefined() ? n : root, s.file), path, msg});
  };
  YAML::Node chart = root["chartName"], version = root["chartVersion"];
  bool ok = true;
  if (!chart.IsDefined() || chart.IsNull()) {
    err(chart, "chartName", "required key 'chartName' is missing (fate for a party, fate-exchange for an exchange)");
    ok = false;
  } else if (!chart.IsScalar()) {
    err(chart, "chartName", "expected fate or fate-exchange, got a " + std::string(chart.IsMap() ? "mapping" : "list"));
    ok = false;
  } else {
    s.chart_name = chart.Scalar();
    if (s.chart_name != "fate" && s.chart_name != "fate-exchange") {
      std::string msg = "chart " + yaml::quote_excerpt(s.chart_name) + " is not supported (fatectl deploys fate and fate-exchange)";
      std::string near = nearest(s.chart_name, {"fate", "fate-exchange"});
      if (!near.empty()) msg += "; did you mean '" + near + "'?";
      err(chart, "chartName", msg);
      ok = false;
    }
  }
  if (!version.IsDefined() || version.IsNull()) {
    err(version, "chartVersion", "required key 'chartVersion' is missing (e.g. v1.11.2)");
    return false;
  }
  if (!version.IsScalar()) {
    err(version, "chartVersion", "expected a chart version such as v1.11.2");
    return false;
  }
  s.chart_version = version.Scalar();
  bool has_v = false;
  int major = 0, minor = 0;
  if (!parse_chart_version(s.chart_version, has_v, major, minor)) {
    err(version, "chartVersion",
        yaml::quote_excerpt(s.chart_version) + " is not a chart version; write vMAJOR.MINOR.PATCH, e.g. v1.11.2");
    return false;
  }
  if (!has_v) {
    err(version, "chartVersion", "chart versions start with 'v': write v" + s.chart_version);
    return false;
  }
  if (!ok) return false;
  bool supported = true;
  if (s.chart_name == "fate-exchange") {
    s.generation = Generation::Exchange;
    supported = major == 1 && minor >= 6 && minor <= 11;
  } else if (major == 1 && minor == 6) {
    s.generation = Generation::Fate16;
  } else if (major == 1 && minor >= 9 && minor <= 11) {
    s.generation = Generation::Fate19;
  } else if (major == 2 && minor == 0) {
    s.generation = Generation::Fate20;
  } else {
    supported = false;
  }
  if (!supported) {
    err(version, "chartVersion",
        "chart " + s.chart_name + " " + s.chart_version + " is not supported (supported: " + kSupported + ")");
    return false;
  }
  return true;
}

void fill_basics(Report& r) {
  ClusterSpec& s = r.spec;
  const YAML::Node& root = s.root;
  auto text = [&](const char* k) {
    YAML::Node n = root[k];
    return n.IsDefined() && n.IsScalar() ? n.Scalar() : std::string();
  };
  s.name = text("name");
  s.namespace_ = text("namespace");
  long long id = 0;
  if (as_integer(root["partyId"], id)) s.party_id = static_cast<long>(id);
  YAML::Node sk = root["skippedKeys"];
  if (s.generation != Generation::Fate16 && s.generation != Generation::Exchange && sk.IsDefined() && sk.IsSequence())
    for (const auto& k : sk)
      if (k.IsScalar()) s.skipped_keys.push_back(k.Scalar());
}

bool by_position(const Diagnostic& a, const Diagnostic& b) {
  if (a.where.line != b.where.line) return a.where.line < b.where.line;
  return a.where.column < b.where.column;
}

}  // namespace

Report check(const std::string& text, const std::string& name, const LoadOptions& opts) {
  Report r;
  r.spec.file = name;
  auto finish = [&r]() -> Report {
    std::stable_sort(r.errors.begin(), r.errors.end(), by_position);
    std::stable_sort(r.warnings.begin(), r.warnings.end(), by_position);
    for (const auto& w : r.warnings) r.spec.warnings.push_back(w.str());
    return r;
  };

  SourceFacts facts = check_source(text, name, r.errors);
  if (!facts.parse_ok) return finish();
  if (facts.empty) {
    r.errors.push_back({Location{name, 1, 1}, "",
                        "the file is empty; expected a cluster spec (a mapping with name, namespace, chartName, "
                        "chartVersion, partyId and modules)"});
    return finish();
  }
  try {
    r.spec.root = YAML::Load(text);
  } catch (const YAML::Exception& e) {  // the event scan accepted it, so this is unexpected
    Location l{name, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    r.errors.push_back({l, "", "YAML syntax error: " + e.msg});
    return finish();
  }
  const YAML::Node& root = r.spec.root;
  if (!root.IsMap()) {
    r.errors.push_back({where(root, name), "",
                        std::string("a cluster spec is a mapping of keys (name: ..., chartName: ...), not a ") +
                            (root.IsSequence() ? "list" : "single value")});
    return finish();
  }
  // What a library throws on a tree the checks did not foresee is reported like any other
  // finding (FILE:LINE:COL: message, exit 2), never escapes as a crash or exit 1.
  try {
    if (!pick_generation(r)) return finish();
    fill_basics(r);

    WalkContext ctx;
    ctx.file = name;
    ctx.gen = schema::gen_bit(r.spec.generation);
    ctx.lenient = opts.lenient;
    ctx.skipped = r.spec.skipped_keys;
    ctx.report = &r;
    check_shape(root, schema::root_for(r.spec.generation), "", ctx);
    check_rules(r, opts);
  } catch (const YAML::Exception& e) {
    Location l{name, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    r.errors.push_back({l, "", "cannot read this value: " + yaml::one_line(e.msg)});
  } catch (const std::length_error& e) {
    r.errors.push_back({Location{name, 0, 0}, "", "a value is too large to check"});
  } catch (const std::logic_error& e) {  // out_of_range, invalid_argument (stoi and friends)
    r.errors.push_back({Location{name, 0, 0}, "", "a value is out of range"});
  }
  return finish();
}

Report check_file(const std::string& path, const LoadOptions& opts) {
  std::string text;
  try {
    text = yaml::read_file(path);
  } catch (const Error& e) {
    Report r;
    r.spec.file = path;
    std::string msg = e.what();
    bool too_large = msg.find(": larger than ") != std::string::npos;
    r.errors.push_back({Location{path == "-" ? std::string("<stdin>") : path, 0, 0}, "",
                        too_large ? msg.substr(msg.find(": larger than ") + 2)
                                  : "cannot read the file (does it exist, and may you read it?)"});
    return r;
  }
  return check(text, path == "-" ? std::string("<stdin>") : path, opts);
}

ClusterSpec parse(const std::string& text, const std::string& name, const LoadOptions& opts) {
  Report r = check(text, name, opts);
  if (!r.ok()) throw Error(ErrorKind::Invalid, r.errors.front().str());
  return std::move(r.spec);
}

ClusterSpec load(const std::string& path, const LoadOptions& opts) {
  Report r = check_file(path, opts);
  if (!r.ok()) throw Error(ErrorKind::Invalid, r.errors.front().str());
  return std::move(r.spec);
}

}  // namespace fatectl::spec
