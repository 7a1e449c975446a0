// Walks a spec tree against its generation's key tree (schema.cc).
#include "fatectl/spec/validate.h"

#include <algorithm>
#include <cctype>

#include "fatectl/core/yaml.h"
#include "fatectl/spec/suggest.h"

namespace fatectl::spec {

using schema::Kind;
using schema::Shape;

namespace {

constexpr size_t kMaxVisits = 200000;

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

void error(WalkContext& c, const YAML::Node& n, const std::string& path, const std::string& msg) {
  c.report->errors.push_back({where(n, c.file), path, msg});
}

void warning(WalkContext& c, const YAML::Node& n, const std::string& path, const std::string& msg) {
  c.report->warnings.push_back({where(n, c.file), path, msg});
}

/// How a value reads in a message; secrets are never echoed.
std::string got(const YAML::Node& n, bool secret) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  if (secret) return "a value";
  return yaml::quote_excerpt(n.Scalar());
}

bool is_skipped(const WalkContext& c, const std::string& key) {
  return std::find(c.skipped.begin(), c.skipped.end(), key) != c.skipped.end();
}

void check_int_range(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  long long v = 0;
  if (!n.IsScalar() || !as_integer(n, v)) {
    error(c, n, path, "expected " + s.describe() + ", got " + got(n, s.secret));
    return;
  }
  switch (s.kind) {
    case Kind::Int:
      if (v < s.min || v > s.max) error(c, n, path, std::to_string(v) + " is out of range; expected " + s.describe());
      break;
    case Kind::Port:
      if (v < 1 || v > 65535) error(c, n, path, "port " + std::to_string(v) + " is out of range 1-65535");
      break;
    case Kind::NodePort:
      if (v < 30000 || v > 32767)
        error(c, n, path,
              "nodePort " + std::to_string(v) +
                  " is outside the Kubernetes NodePort range 30000-32767; the API server would reject the Service");
      break;
    case Kind::PartyId:
      if (v < 1) error(c, n, path, "party id " + std::to_string(v) + " must be a positive integer");
      break;
    default: break;
  }
}

void check_bool(const YAML::Node& n, const std::string& path, WalkContext& c) {
  if (!n.IsScalar()) {
    error(c, n, path, "expected true or false, got " + got(n, false));
    return;
  }
  yaml::ScalarType t = yaml::scalar_type(n);
  if (t == yaml::ScalarType::Bool) return;
  std::string v = n.Scalar();
  std::string lower = v;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (t == yaml::ScalarType::String && (lower == "true" || lower == "false")) {
    error(c, n, path, "expected true or false, got the quoted string " + got(n, false) + "; remove the quotes");
    return;
  }
  if (lower == "yes" || lower == "no" || lower == "on" || lower == "off" || lower == "y" || lower == "n") {
    error(c, n, path, "expected true or false, got " + got(n, false) + " (a string in YAML 1.2); write true or false");
    return;
  }
  error(c, n, path, "expected true or false, got " + got(n, false));
}

void check_enum(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  if (!n.IsScalar()) {
    error(c, n, path, "expected " + s.describe() + ", got " + got(n, false));
    return;
  }
  const std::string& v = n.Scalar();
  if (std::find(s.values.begin(), s.values.end(), v) != s.values.end()) return;
  std::string hint;
  for (const auto& x : s.values) {
    if (x.size() == v.size() &&
        std::equal(x.begin(), x.end(), v.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      hint = " (did you mean '" + x + "'? values are case-sensitive)";
      break;
    }
  }
  if (hint.empty()) {
    std::string near = nearest(v, s.values);
    if (!near.empty()) hint = " (did you mean '" + near + "'?)";
  }
  error(c, n, path, got(n, false) + " is not allowed; expected " + s.describe() + hint);
}

/// A Kubernetes quantity: [+]?(digits[.digits]|.digits) then an exponent (e3, E-2) or a suffix
/// (Ki Mi Gi Ti Pi Ei m k M G T P E). Hand-written: linear in the value's length.
bool is_quantity(const std::string& v) {
  auto digit = [&](size_t i) { return i < v.size() && v[i] >= '0' && v[i] <= '9'; };
  size_t i = (!v.empty() && v[0] == '+') ? 1 : 0;
  size_t start = i;
  while (digit(i)) ++i;
  bool int_part = i > start;
  if (i < v.size() && v[i] == '.') {
    size_t f = ++i;
    while (digit(i)) ++i;
    if (!int_part && i == f) return false;
  } else if (!int_part) {
    return false;
  }
  std::string_view rest = std::string_view(v).substr(i);
  if (rest.empty()) return true;
  if (rest[0] == 'e' || rest[0] == 'E') {
    size_t j = 1;
    if (j < rest.size() && (rest[j] == '-' || rest[j] == '+')) ++j;
    if (j == rest.size()) return rest == "E";  // "1E" is the exa suffix; "1e" and "1e+" are nothing
    for (; j < rest.size(); ++j)
      if (rest[j] < '0' || rest[j] > '9') return false;
    return true;
  }
  for (const char* suffix : {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P"})
    if (rest == suffix) return true;
  return false;
}

void check_string_like(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  if (!n.IsScalar()) {
    error(c, n, path, "expected " + s.describe() + ", got " + got(n, s.secret));
    return;
  }
  const std::string& v = n.Scalar();
  std::string why;
  if (s.kind == Kind::Host) why = host_problem(v);
  else if (s.kind == Kind::HostPort) why = host_port_problem(v);
  else if (s.kind == Kind::Quantity) {
    if (!is_quantity(v)) why = "is not a Kubernetes quantity (examples: 1Gi, 500Mi, 2M)";
  }
  if (!why.empty()) error(c, n, path, got(n, s.secret) + " " + why);
}

/// How an unknown key reads in a message and its key path: as written when it is a short plain
/// name, else quoted and cut (a hostile key may span lines or hold a megabyte).
std::string key_label(const std::string& name) {
  bool plain = !name.empty() && name.size() <= 64;
  for (char ch : name) plain = plain && std::isprint(static_cast<unsigned char>(ch)) && ch != '\'' && ch != ' ';
  return plain ? name : yaml::quote_excerpt(name);
}

/// An unknown key: error (or warning with --lenient), with the nearest valid key.
void unknown_key(const YAML::Node& key, const std::string& raw_name, const Shape& s, const std::string& path, WalkContext& c) {
  const std::string name = key_label(raw_name);
  const bool plain = name == raw_name;
  const std::string shown = plain ? "'" + name + "'" : name;  // a label that is not plain comes quoted
  std::string msg;
  // Known in another generation?
  for (const auto& f : s.fields) {
    if (f.name == raw_name) {
      msg = shown + " is not a key of chart " + generation_name(c.report->spec.generation) + " (it exists in " +
            schema::gen_label(f.gens) + ")";
      if (!f.moved.empty()) msg += ": " + f.moved;
      break;
    }
  }
  if (msg.empty()) {
    std::vector<std::string> names;
    for (const auto& f : s.fields)
      if (f.gens & c.gen) names.push_back(f.name);
    msg = "unknown key " + shown;
    std::string near = plain ? nearest(name, names) : "";
    if (!near.empty()) msg += " (did you mean '" + near + "'?)";
  }
  if (c.lenient) warning(c, key, join(path, name), msg + "; ignored");
  else
    error(c, key, join(path, name),
          msg + ((c.gen & (schema::G19 | schema::G20)) ? "; --lenient or skippedKeys allows it" : "; --lenient allows it"));
}

void check_map(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  if (!n.IsMap()) {
    error(c, n, path, "expected a mapping of keys, got " + got(n, false));
    return;
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;  // reported by the source scan
    const std::string name = kv.first.Scalar();
    const schema::Field* f = s.field(name, c.gen);
    std::string kp = join(path, name);
    if (!f) {
      if (!is_skipped(c, name)) unknown_key(kv.first, name, s, path, c);
      continue;
    }
    if (is_skipped(c, name) && name != "route_table") {
      // A skipped key keeps its type checks but may hold keys the chart does not document.
      bool was = c.lenient;
      c.lenient = true;
      check_shape(kv.second, *f->shape, kp, c);
      c.lenient = was;
      continue;
    }
    check_shape(kv.second, *f->shape, kp, c);
  }
  for (const auto& f : s.fields) {
    if (!f.required || !(f.gens & c.gen)) continue;
    YAML::Node v = n[f.name];
    if (!v) error(c, n, join(path, f.name), "required key '" + f.name + "' is missing");
    else if (v.IsNull()) error(c, v, join(path, f.name), "required key '" + f.name + "' has no value");
  }
}

void check_map_of(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  if (!n.IsMap()) {
    error(c, n, path, "expected a mapping, got " + got(n, false));
    return;
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) continue;
    const std::string key = kv.first.Scalar();
    std::string kp = join(path, key);
    if (s.key_kind == Kind::PartyId) {
      long long id = 0;
      bool is_default = s.allow_default_key && key == "default";
      if (!is_default && (!as_integer(kv.first, id) || id < 1)) {
        error(c, kv.first, kp,
              "route table key " + got(kv.first, false) + " is not a party id (positive integer)" +
                  (s.allow_default_key ? " or 'default'" : ""));
        continue;
      }
    }
    if (s.resource_names) {
      std::string why = resource_name_problem(key);
      if (!why.empty()) error(c, kv.first, kp, why);
      if (!kv.second.IsDefined() || kv.second.IsNull())
        error(c, kv.first, kp, "resource '" + key + "' has no value; give a quantity such as " +
                                   std::string(key == "cpu" ? "500m or 2" : "4Gi") + ", or remove the key");
      else
        check_shape(kv.second, *s.item, kp, c);
      continue;
    }
    if (s.scalar_map) {
      if (kv.second.IsMap() || kv.second.IsSequence())
        error(c, kv.second, kp, "expected a plain value (string or number), got " + got(kv.second, false));
      continue;
    }
    if (kv.second.IsNull() && s.key_kind == Kind::PartyId) {
      error(c, kv.second, kp, "route for party " + key + " is empty");
      continue;
    }
    check_shape(kv.second, *s.item, kp, c);
  }
}

void check_list(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  if (!n.IsSequence()) {
    error(c, n, path, "expected a list, got " + got(n, false) + (n.IsScalar() ? "; write each item on its own '- ' line" : ""));
    return;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    std::string ip = path + "[" + std::to_string(i) + "]";
    YAML::Node item = n[i];
    if (!item.IsDefined() || item.IsNull()) {
      error(c, item.IsDefined() ? item : n, ip, "empty list item");
      continue;
    }
    check_shape(item, *s.item, ip, c);
  }
}

bool valid_dns_label(const std::string& l) {
  if (l.empty() || l.size() > 63) return false;
  for (char ch : l)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return false;
  return l.front() != '-' && l.back() != '-';
}

bool valid_ipv4(const std::string& h) {
  int parts = 0;
  size_t i = 0;
  while (i <= h.size()) {
    size_t j = h.find('.', i);
    if (j == std::string::npos) j = h.size();
    std::string p = h.substr(i, j - i);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit) || std::stoi(p) > 255) return false;
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

bool looks_ipv4(const std::string& h) {
  return !h.empty() && std::all_of(h.begin(), h.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.'; });
}

bool valid_ipv6(const std::string& h) {
  if (h.size() < 2 || h.find(':') == std::string::npos) return false;
  for (char ch : h)
    if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != ':' && ch != '.') return false;
  return true;
}

}  // namespace

Location where(const YAML::Node& n, const std::string& file) {
  if (!n.IsDefined()) return Location{file, 0, 0};
  return yaml::where(n, file);
}

bool as_integer(const YAML::Node& n, long long& out) {
  if (!n.IsDefined() || !n.IsScalar()) return false;
  const std::string& t = n.Scalar();
  yaml::ScalarType st = yaml::scalar_type(n);
  if (st != yaml::ScalarType::Int) {
    // quoted digits ("9999") are integers to the Go templates that read them
    if (st != yaml::ScalarType::String || t.empty() || !std::all_of(t.begin(), t.end(), ::isdigit)) return false;
  }
  if (t.size() > 18) return false;
  try {
    size_t pos = 0;
    out = std::stoll(t, &pos, 10);
    return pos == t.size();
  } catch (...) {
    return false;
  }
}

/// Why `key` is not a resource name Kubernetes accepts in requests/limits ("" when it is): cpu,
/// memory, ephemeral-storage, hugepages-<quantity>, or <DNS subdomain>/<name> (nvidia.com/gpu).
std::string resource_name_problem(const std::string& key) {
  static const std::vector<std::string> standard = {"cpu", "memory", "ephemeral-storage"};
  if (std::find(standard.begin(), standard.end(), key) != standard.end()) return "";
  if (key.rfind("hugepages-", 0) == 0 && key.size() > 10) {
    std::string size = key.substr(10);
    size_t digits = 0;
    while (digits < size.size() && std::isdigit(static_cast<unsigned char>(size[digits]))) ++digits;
    static const std::vector<std::string> suffixes = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "k", "M", "G", "T", "P", "E"};
    if (size.size() <= 16 && digits > 0 &&
        std::find(suffixes.begin(), suffixes.end(), size.substr(digits)) != suffixes.end())
      return "";
    return "'" + key + "' is not a huge page size (examples: hugepages-2Mi, hugepages-1Gi)";
  }
  size_t slash = key.find('/');
  if (slash != std::string::npos) {
    std::string domain = key.substr(0, slash), name = key.substr(slash + 1);
    bool ok_domain = !domain.empty() && domain.size() <= 253 && domain.find('.') != std::string::npos;
    for (char ch : domain)
      if (!std::islower(static_cast<unsigned char>(ch)) && !std::isdigit(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.')
        ok_domain = false;
    bool ok_name = !name.empty() && name.size() <= 63 && std::isalnum(static_cast<unsigned char>(name.front())) &&
                   std::isalnum(static_cast<unsigned char>(name.back()));
    for (char ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') ok_name = false;
    if (ok_domain && ok_name) return "";
    return "'" + key + "' is not an extended resource name (DOMAIN/NAME with a DNS domain, e.g. nvidia.com/gpu)";
  }
  std::string msg = "unknown resource '" + key + "'";
  std::string near = nearest(key, standard);
  if (near.empty())
    for (const auto& s : standard)
      if (key.size() >= 2 && s.rfind(key, 0) == 0) near = s;  // truncated: "memo"
  if (!near.empty()) msg += " (did you mean '" + near + "'?)";
  return msg + "; expected cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource such as nvidia.com/gpu";
}

std::string host_problem(const std::string& h) {
  if (h.empty()) return "is empty; expected a host name or IP address";
  if (h.find("://") != std::string::npos) return "is a URL; expected a host name or IP address only";
  if (h.find_first_of(" \t/") != std::string::npos) return "is not a host name or IP address";
  size_t colon = h.rfind(':');
  if (colon != std::string::npos && h.find(':') == colon) {
    return "includes a port; write the host here and the port in its own key";
  }
  if (colon != std::string::npos) {
    std::string v6 = h;
    if (v6.front() == '[' && v6.back() == ']') v6 = v6.substr(1, v6.size() - 2);
    return valid_ipv6(v6) ? "" : "is not a host name or IP address";
  }
  if (looks_ipv4(h)) return valid_ipv4(h) ? "" : "is not a valid IPv4 address";
  if (h.size() > 253) return "is longer than 253 characters";
  size_t i = 0;
  while (i <= h.size()) {
    size_t j = h.find('.', i);
    if (j == std::string::npos) j = h.size();
    if (!valid_dns_label(h.substr(i, j - i))) return "is not a valid host name";
    i = j + 1;
  }
  return "";
}

std::string host_port_problem(const std::string& hp) {
  if (hp.find("://") != std::string::npos) return "is a URL; expected host:port only (e.g. 192.168.10.1:30109)";
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos) return "has no port; expected host:port (e.g. 192.168.10.1:30109)";
  std::string host = hp.substr(0, colon), port = hp.substr(colon + 1);
  if (host.empty()) return "has no host; expected host:port";
  if (host.find(':') != std::string::npos) {
    if (host.front() != '[' || host.back() != ']') return "has an IPv6 host without brackets; write [addr]:port";
    host = host.substr(1, host.size() - 2);
    if (!valid_ipv6(host)) return "is not host:port (bad IPv6 address)";
  } else {
    std::string why = host_problem(host);
    if (!why.empty()) return "is not host:port: the host " + why;
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit))
    return "is not host:port: the port must be a number 1-65535";
  int p = std::stoi(port);
  if (p < 1 || p > 65535) return "is not host:port: port " + port + " is out of range 1-65535";
  return "";
}

void check_shape(const YAML::Node& n, const Shape& s, const std::string& path, WalkContext& c) {
  if (++c.visits == kMaxVisits) {
    error(c, n, path, "the spec expands to more than 200000 values (aliases?); this is not a cluster spec");
    return;
  }
  if (c.visits > kMaxVisits) return;
  if (!n.IsDefined() || n.IsNull()) return;  // unset: the chart default applies
  switch (s.kind) {
    case Kind::Any: return;
    case Kind::String:
      if (!n.IsScalar()) error(c, n, path, "expected a string, got " + got(n, s.secret));
      return;
    case Kind::Int:
    case Kind::Port:
    case Kind::NodePort:
    case Kind::PartyId: check_int_range(n, s, path, c); return;
    case Kind::Bool: check_bool(n, path, c); return;
    case Kind::Host:
    case Kind::HostPort:
    case Kind::Quantity: check_string_like(n, s, path, c); return;
    case Kind::Enum: check_enum(n, s, path, c); return;
    case Kind::Map: check_map(n, s, path, c); return;
    case Kind::MapOf: check_map_of(n, s, path, c); return;
    case Kind::List: check_list(n, s, path, c); return;
  }
}

}  // namespace fatectl::spec
