// Loading and validating the federation file: raw-text checks, the key tree (with the nearest key
// for a typo), then the federation as a whole -- unique party ids and namespaces, the engine every
// party shares, and each site's own spec against the federation (sites.cc).
#include "fatectl/federation/federation.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>

#include "fatectl/core/yaml.h"
#include "fatectl/federation/sites.h"
#include "fatectl/spec/schema.h"
#include "fatectl/spec/source_check.h"
#include "fatectl/spec/validate.h"

namespace fatectl::federation {

using spec::schema::Field;
using spec::schema::Kind;
using spec::schema::Shape;
using spec::schema::ShapeP;

const Party* Federation::party(long id) const {
  for (const auto& p : parties)
    if (p.id == id) return &p;
  return nullptr;
}

std::string Federation::member_list() const {
  std::string s;
  for (const auto& p : parties) s += (s.empty() ? "" : ", ") + std::to_string(p.id);
  return s.empty() ? "none" : s;
}

std::string party_fqdn(const Federation& f, long party) { return std::to_string(party) + "." + f.domain; }

namespace {

// ---- the key tree ----------------------------------------------------------------------------

ShapeP shape(Kind k) {
  auto s = std::make_shared<Shape>();
  s->kind = k;
  return s;
}
Field field(const std::string& name, ShapeP s, bool required = false) {
  Field f;
  f.name = name;
  f.shape = std::move(s);
  f.required = required;
  return f;
}
ShapeP map(std::vector<Field> fields) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::Map;
  s->fields = std::move(fields);
  return s;
}
ShapeP one_of(std::vector<std::string> v) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::Enum;
  s->values = std::move(v);
  return s;
}
ShapeP list_of(ShapeP item) {
  auto s = std::make_shared<Shape>();
  s->kind = Kind::List;
  s->item = std::move(item);
  return s;
}

std::vector<Field> site_fields() {
  return {field("name", shape(Kind::String)),    field("namespace", shape(Kind::String)),
          field("context", shape(Kind::String)), field("spec", shape(Kind::String)),
          field("chartVersion", shape(Kind::String)), field("address", shape(Kind::Host))};
}

const Shape& file_shape() {
  static const ShapeP root = [] {
    auto party = site_fields();
    party.insert(party.begin(), field("id", shape(Kind::PartyId), true));
    party.push_back(field("computing", one_of({"Eggroll", "Spark", "Spark_local"})));
    party.push_back(field("storage", one_of({"Eggroll", "HDFS", "LocalFS", "Hive"})));
    party.push_back(field("modules", list_of(shape(Kind::String))));
    auto days = shape(Kind::Int);
    std::const_pointer_cast<Shape>(days)->min = 1;
    std::const_pointer_cast<Shape>(days)->max = 36500;
    return map({field("federation", shape(Kind::String), true), field("domain", shape(Kind::Host)),
                field("engine", shape(Kind::String), true), field("chartVersion", shape(Kind::String)),
                field("registry", shape(Kind::String)),
                field("pullPolicy", one_of({"Always", "IfNotPresent", "Never"})),
                field("certificates", map({field("dir", shape(Kind::String)), field("days", days)})),
                field("exchange", map(site_fields()), true), field("parties", list_of(map(party)), true)});
  }();
  return *root;
}

// ---- helpers ---------------------------------------------------------------------------------

bool dns_label(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  return std::isalnum(static_cast<unsigned char>(s.front())) && std::isalnum(static_cast<unsigned char>(s.back()));
}

bool chart_version_ok(const std::string& v) {
  if (v.size() < 6 || v.size() > 12 || v[0] != 'v') return false;
  int dots = 0;
  bool digit = false;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] == '.') {
      if (!digit) return false;
      ++dots;
      digit = false;
    } else if (std::isdigit(static_cast<unsigned char>(v[i]))) {
      digit = true;
    } else {
      return false;
    }
  }
  return dots == 2 && digit;
}

std::string folder_of(const std::string& path) {
  if (path == "-" || path.empty()) return ".";
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || dir == ".") return p;
  return dir + "/" + p;
}

struct Reader {
  Report& r;
  const std::string& file;
  const YAML::Node& root;
  void error(const YAML::Node& n, const std::string& path, const std::string& msg) {
    r.errors.push_back({spec::where(n.IsDefined() ? n : root, file), path, msg});
  }
  std::string text(const YAML::Node& map, const char* key) {
    if (!map.IsDefined() || !map.IsMap()) return "";
    YAML::Node n = map[key];
    return n.IsDefined() && n.IsScalar() ? n.Scalar() : "";
  }
};

void read_site(Reader& rd, const YAML::Node& n, const std::string& key, const std::string& dir, Site& s) {
  s.key = key;
  s.where = spec::where(n, rd.file);
  s.name = rd.text(n, "name");
  s.namespace_ = rd.text(n, "namespace");
  s.context = rd.text(n, "context");
  s.spec_key = rd.text(n, "spec");
  s.spec_file = resolve(dir, s.spec_key);
  s.chart_version = rd.text(n, "chartVersion");
  s.address = rd.text(n, "address");
  if (!s.name.empty() && !dns_label(s.name, 53))
    rd.error(n["name"], key + ".name",
             "release name " + yaml::json_quote(s.name) +
                 " must be a DNS-1123 label: lower-case letters, digits and '-', at most 53 characters");
  if (!s.namespace_.empty() && !dns_label(s.namespace_, 63))
    rd.error(n["namespace"], key + ".namespace",
             "namespace " + yaml::json_quote(s.namespace_) +
                 " must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters");
  if (n.IsMap() && n["context"].IsDefined() && s.context.empty())
    rd.error(n["context"], key + ".context", "context is empty; name a context of your kubeconfig, or leave the key out");
  if (!s.chart_version.empty() && !chart_version_ok(s.chart_version))
    rd.error(n["chartVersion"], key + ".chartVersion",
             yaml::json_quote(s.chart_version) + " is not a chart version; write vMAJOR.MINOR.PATCH, e.g. v1.11.2");
}

void read_engine(Reader& rd, Federation& f) {
  YAML::Node e = rd.root["engine"];
  if (!e.IsDefined() || !e.IsScalar()) return;  // missing: the key tree said so
  std::string v = e.Scalar();
  static const std::vector<std::string> ok = {kEnginePulsar, kEngineEggroll, kEngineOSX};
  if (std::find(ok.begin(), ok.end(), v) != ok.end()) {
    f.engine = v;
    return;
  }
  if (v == "RabbitMQ") {
    rd.error(e, "engine",
             "RabbitMQ federations connect parties directly; a fate-exchange routes Pulsar (Traffic Server and "
             "nginx) or Eggroll/OSX (rollsite): use engine Pulsar, Eggroll or OSX");
    return;
  }
  std::string hint;
  for (const auto& x : ok) {
    if (x.size() == v.size() &&
        std::equal(x.begin(), x.end(), v.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      hint = " (did you mean '" + x + "'? values are case-sensitive)";
  }
  rd.error(e, "engine", yaml::json_quote(v) + " is not a federation engine; expected Pulsar, Eggroll or OSX" + hint);
}

/// The federation-wide checks once every entry is read and each site's spec is known.
void check_whole(Reader& rd, Federation& f, const YAML::Node& parties, const CheckOptions& o) {
  std::map<long, size_t> seen;
  std::map<std::pair<std::string, std::string>, std::string> used;  // (context, namespace) -> site
  auto use = [&](const Site& s, const std::string& label, const YAML::Node& n) {
    auto key = std::make_pair(s.context, s.namespace_);
    auto [it, fresh] = used.emplace(key, label);
    if (!fresh)
      rd.error(n, s.key + ".namespace",
               label + " and " + it->second + " both use namespace '" + s.namespace_ + "' in " +
                   (s.context.empty() ? std::string("the current context") : "context '" + s.context + "'") +
                   "; give each site its own namespace");
  };
  // A spec file's own problems come first, at its own FILE:LINE:COL.
  auto spec_file_ok = [&](const Site& s) {
    if (s.spec_file.empty()) return true;
    spec::Report sr = spec::check_file(s.spec_file);
    rd.r.errors.insert(rd.r.errors.end(), sr.errors.begin(), sr.errors.end());
    rd.r.warnings.insert(rd.r.warnings.end(), sr.warnings.begin(), sr.warnings.end());
    return sr.ok();
  };
  long exchange_party = 1;
  if (spec_file_ok(f.exchange)) try {
    StartSpec ex = exchange_start(f);
    exchange_party = ex.spec.party_id;
    if (f.exchange.name.empty()) f.exchange.name = ex.spec.name;
    if (f.exchange.namespace_.empty()) f.exchange.namespace_ = ex.spec.namespace_;
    std::vector<spec::Diagnostic> d;
    check_exchange_spec(f, ex.spec, d);
    rd.r.errors.insert(rd.r.errors.end(), d.begin(), d.end());
  } catch (const Error& e) {
    rd.r.errors.push_back({f.exchange.where, f.exchange.spec_key.empty() ? "exchange" : "exchange.spec", e.what()});
  }
  use(f.exchange, "the Exchange", rd.root["exchange"]);
  if (o.need_addresses && f.exchange.address.empty())
    rd.error(rd.root["exchange"], "exchange.address",
             "provision needs the address the parties reach the Exchange at (a node IP or load balancer); "
             "`federation up` discovers it instead");
  for (size_t i = 0; i < f.parties.size(); ++i) {
    Party& p = f.parties[i];
    YAML::Node pn = parties[i];
    auto [it, fresh] = seen.emplace(p.id, i);
    if (!fresh) {
      rd.error(pn["id"], p.key + ".id",
               "party " + std::to_string(p.id) + " is listed twice (also parties[" + std::to_string(it->second) +
                   "] at line " + std::to_string(f.parties[it->second].where.line) + ")");
      continue;
    }
    if (p.id == exchange_party)
      rd.error(pn["id"], p.key + ".id",
               "party id " + std::to_string(p.id) + " is the Exchange's own partyId; give the party another id");
    if (!spec_file_ok(p)) continue;
    try {
      StartSpec s = party_start(f, p);
      if (p.name.empty()) p.name = s.spec.name;
      if (p.namespace_.empty()) p.namespace_ = s.spec.namespace_;
      std::vector<spec::Diagnostic> d;
      check_party_spec(f, p, s.spec, d);
      rd.r.errors.insert(rd.r.errors.end(), d.begin(), d.end());
    } catch (const Error& e) {
      rd.r.errors.push_back({p.where, p.spec_key.empty() ? p.key : p.key + ".spec", e.what()});
      continue;
    }
    use(p, "party " + std::to_string(p.id), pn);
    if (o.need_addresses && p.address.empty())
      rd.error(pn, p.key + ".address",
               "provision needs the address the Exchange reaches party " + std::to_string(p.id) +
                   " at (a node IP or load balancer of its cluster); `federation up` discovers it instead");
  }
}

bool by_position(const spec::Diagnostic& a, const spec::Diagnostic& b) {
  if (a.where.file != b.where.file) return a.where.file < b.where.file;
  if (a.where.line != b.where.line) return a.where.line < b.where.line;
  return a.where.column < b.where.column;
}

}  // namespace

Report check(const std::string& text, const std::string& path, const CheckOptions& o) {
  Report r;
  Federation& f = r.fed;
  f.file = path == "-" ? "<stdin>" : path;
  f.dir = folder_of(path);
  f.text = text;
  const std::string& file = f.file;
  auto finish = [&r]() -> Report {
    std::stable_sort(r.errors.begin(), r.errors.end(), by_position);
    std::stable_sort(r.warnings.begin(), r.warnings.end(), by_position);
    return std::move(r);
  };
  spec::SourceFacts facts = spec::check_source(text, file, r.errors);
  if (!facts.parse_ok) return finish();
  if (facts.empty) {
    r.errors.push_back({Location{file, 1, 1}, "",
                        "the file is empty; expected a federation (federation, domain, engine, exchange and parties)"});
    return finish();
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.errors.push_back({Location{file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1},
                        "", "YAML syntax error: " + e.msg});
    return finish();
  }
  if (!root.IsMap()) {
    r.errors.push_back({spec::where(root, file), "",
                        "a federation file is a mapping of keys (federation: ..., engine: ..., parties: ...)"});
    return finish();
  }
  if (root["chartName"].IsDefined()) {
    r.errors.push_back({spec::where(root["chartName"], file), "chartName",
                        "this is a KubeFATE cluster spec, not a federation file; name it as a party's `spec:` in "
                        "the federation file (see docs/federation.md)"});
    return finish();
  }
  spec::Report walk;
  spec::WalkContext ctx;
  ctx.file = file;
  ctx.gen = spec::schema::GX;
  ctx.lenient = o.lenient;
  ctx.report = &walk;
  spec::check_shape(root, file_shape(), "", ctx);
  r.errors = walk.errors;
  r.warnings = walk.warnings;

  Reader rd{r, file, root};
  f.name = rd.text(root, "federation");
  if (!f.name.empty() && !dns_label(f.name, 40))
    rd.error(root["federation"], "federation",
             "federation name " + yaml::json_quote(f.name) +
                 " must be lower-case letters, digits and '-', at most 40 characters (it names objects)");
  if (!rd.text(root, "domain").empty()) f.domain = rd.text(root, "domain");
  read_engine(rd, f);
  if (!rd.text(root, "chartVersion").empty()) {
    f.chart_version = rd.text(root, "chartVersion");
    if (!chart_version_ok(f.chart_version))
      rd.error(root["chartVersion"], "chartVersion",
               yaml::json_quote(f.chart_version) + " is not a chart version; write vMAJOR.MINOR.PATCH, e.g. v1.11.2");
  }
  f.registry = rd.text(root, "registry");
  f.pull_policy = rd.text(root, "pullPolicy");
  YAML::Node certs = root["certificates"];
  f.cert_dir = resolve(f.dir, rd.text(certs, "dir").empty() ? std::string("pki") : rd.text(certs, "dir"));
  long long days = 0;
  if (certs.IsMap() && spec::as_integer(certs["days"], days) && days >= 1 && days <= 36500)
    f.cert_days = static_cast<int>(days);
  YAML::Node ex = root["exchange"];
  if (ex.IsMap()) read_site(rd, ex, "exchange", f.dir, f.exchange);
  YAML::Node parties = root["parties"];
  bool parties_ok = parties.IsSequence();
  if (parties_ok) {
    for (size_t i = 0; i < parties.size(); ++i) {
      YAML::Node pn = parties[i];
      if (!pn.IsMap()) {
        parties_ok = false;
        continue;
      }
      Party p;
      read_site(rd, pn, "parties[" + std::to_string(i) + "]", f.dir, p);
      long long id = 0;
      if (!spec::as_integer(pn["id"], id) || id < 1 || id > 2147483647LL) {
        parties_ok = false;  // the key tree reported it
        continue;
      }
      p.id = static_cast<long>(id);
      p.computing = rd.text(pn, "computing");
      p.storage = rd.text(pn, "storage");
      if (pn["modules"].IsSequence())
        for (const auto& m : pn["modules"])
          if (m.IsScalar()) p.modules.push_back(m.Scalar());
      f.parties.push_back(p);
    }
    if (parties.size() == 0)
      rd.error(parties, "parties", "a federation needs at least one party (two for a job)");
  }
  // The whole federation is checked only when every entry could be read: the rules below assume
  // the engine and each party's id are known.
  if (r.errors.empty() && parties_ok && ex.IsMap() && !f.engine.empty()) check_whole(rd, f, parties, o);
  return finish();
}

Report check_file(const std::string& path, const CheckOptions& o) {
  std::string text;
  try {
    text = yaml::read_file(path);
  } catch (const Error&) {
    Report r;
    r.fed.file = path;
    r.errors.push_back({Location{path, 0, 0}, "", "cannot read the file (does it exist, and may you read it?)"});
    return r;
  }
  if (text.size() > spec::kMaxSpecBytes) {
    Report r;
    r.fed.file = path;
    r.errors.push_back({Location{path, 1, 1}, "", "the file is larger than 16 MiB; this is not a federation file"});
    return r;
  }
  return check(text, path, o);
}

Federation load(const std::string& path, const CheckOptions& o) {
  Report r = check_file(path, o);
  if (!r.ok()) throw Error(ErrorKind::Invalid, r.errors.front().str());
  return std::move(r.fed);
}

}  // namespace fatectl::federation
