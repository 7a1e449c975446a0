#include "fatectl/core/yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fatectl::yaml {
namespace {

bool is_string_tag(const std::string& tag) { return tag == "!" || tag == "tag:yaml.org,2002:str"; }

bool matches_int(std::string_view t) {
  size_t i = (t.size() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (i >= t.size()) return false;
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// Hand-written scanners (linear, no recursion) for the number forms below; a regex matcher recurses
// once per character and overflows the stack on long scalars.
size_t digits(std::string_view t, size_t i) {
  while (i < t.size() && digit(t[i])) ++i;
  return i;
}

// [eE][-+]?[0-9]+ at i, or nothing; returns the end (i when there is no exponent, npos if bad).
size_t exponent(std::string_view t, size_t i) {
  if (i == t.size() || (t[i] != 'e' && t[i] != 'E')) return i;
  size_t j = i + 1;
  if (j < t.size() && (t[j] == '-' || t[j] == '+')) ++j;
  size_t k = digits(t, j);
  return k == j ? std::string_view::npos : k;
}

// YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, .inf, .nan
bool matches_float(std::string_view t) {
  size_t i = (t.size() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  std::string_view rest = t.substr(i);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF") return true;
  if (rest == ".nan" || rest == ".NaN" || rest == ".NAN") return i == 0;
  if (i < t.size() && t[i] == '.') {
    size_t j = digits(t, i + 1);
    if (j == i + 1) return false;
    i = j;
  } else {
    size_t j = digits(t, i);
    if (j == i) return false;
    i = j;
    if (i < t.size() && t[i] == '.') i = digits(t, i + 1);
  }
  return exponent(t, i) == t.size();
}

// JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?
bool matches_json_number(std::string_view t) {
  size_t i = (t.size() && t[0] == '-') ? 1 : 0;
  if (i == t.size() || !digit(t[i])) return false;
  if (t[i] == '0') ++i;
  else i = digits(t, i);
  if (i < t.size() && t[i] == '.') {
    size_t j = digits(t, i + 1);
    if (j == i + 1) return false;
    i = j;
  }
  return exponent(t, i) == t.size();
}

// Plain scalars that YAML 1.1 readers (go-yaml v2, used by Kubernetes tooling) take as bools.
bool yaml11_bool(std::string_view t) {
  static const char* words[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                "on", "On", "ON", "off", "Off", "OFF"};
  for (auto w : words)
    if (t == w) return true;
  return false;
}

bool plain_safe(std::string_view s) {
  if (s.empty()) return false;
  if (resolve_plain(s) != ScalarType::String || yaml11_bool(s)) return false;
  if (s.front() == ' ' || s.back() == ' ') return false;
  // a first byte >= 0x80 could read as a byte-order mark (FE FF, FF FE, EF BB BF) at the start
  // of a document: quote it
  if (static_cast<unsigned char>(s.front()) >= 0x80) return false;
  // "..." (and "---") at the start of a line end (start) a document
  if (s.substr(0, 3) == "..." || s.substr(0, 3) == "---") return false;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) {
    // "-foo" is fine as long as it is not "- " or "-" alone; keep it simple and quote.
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c < 0x20 || c == 0x7f) return false;
    if (c == ':' && (i + 1 == s.size() || s[i + 1] == ' ')) return false;
    if (c == '#' && i > 0 && s[i - 1] == ' ') return false;
  }
  return true;
}

std::string double_quoted(std::string_view s) { return json_quote(s); }

// A YAML number as a JSON number, in time linear in its length.
std::string json_number(std::string_view t, ScalarType type) {
  if (!t.empty() && t[0] == '+') t.remove_prefix(1);
  if (type == ScalarType::Int) {
    size_t sign = (!t.empty() && t[0] == '-') ? 1 : 0;
    size_t z = sign;
    while (z + 1 < t.size() && t[z] == '0') ++z;  // leading zeros go, the last digit stays
    return std::string(t.substr(0, sign)) + std::string(t.substr(z));
  }
  if (t.find("inf") != std::string::npos || t.find("Inf") != std::string::npos ||
      t.find("INF") != std::string::npos || t.find("nan") != std::string::npos ||
      t.find("NaN") != std::string::npos || t.find("NAN") != std::string::npos)
    return "null";
  if (matches_json_number(t)) return std::string(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", std::strtod(std::string(t).c_str(), nullptr));
  return buf;
}

void emit_scalar_json(std::ostream& o, const YAML::Node& n) {
  ScalarType t = scalar_type(n);
  switch (t) {
    case ScalarType::Null: o << "null"; break;
    case ScalarType::Bool: {
      const std::string& v = n.Scalar();
      o << ((v == "true" || v == "True" || v == "TRUE") ? "true" : "false");
      break;
    }
    case ScalarType::Int:
    case ScalarType::Float: o << json_number(n.Scalar(), t); break;
    case ScalarType::String: o << json_quote(n.Scalar()); break;
  }
}

void emit_json(std::ostream& o, const YAML::Node& n, bool pretty, int depth) {
  auto nl = [&](int d) {
    if (pretty) o << '\n' << std::string(2 * d, ' ');
  };
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null: o << "null"; return;
    case YAML::NodeType::Scalar: emit_scalar_json(o, n); return;
    case YAML::NodeType::Sequence: {
      if (n.size() == 0) { o << "[]"; return; }
      o << '[';
      bool first = true;
      for (const auto& e : n) {
        if (!first) o << ',';
        first = false;
        nl(depth + 1);
        emit_json(o, e, pretty, depth + 1);
      }
      nl(depth);
      o << ']';
      return;
    }
    case YAML::NodeType::Map: {
      if (n.size() == 0) { o << "{}"; return; }
      o << '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) o << ',';
        first = false;
        nl(depth + 1);
        o << json_quote(kv.first.Scalar()) << (pretty ? ": " : ":");
        emit_json(o, kv.second, pretty, depth + 1);
      }
      nl(depth);
      o << '}';
      return;
    }
  }
}

std::string yaml_scalar(const YAML::Node& n) {
  ScalarType t = scalar_type(n);
  const std::string& v = n.Scalar();
  if (n.IsNull()) return "null";
  if (t != ScalarType::String) {
    if (t == ScalarType::Null) return "null";
    return v;
  }
  return plain_safe(v) ? v : double_quoted(v);
}

bool literal_ok(const std::string& v) {
  if (v.find('\n') == std::string::npos) return false;
  if (v.front() == ' ' || v.front() == '\n') return false;
  for (unsigned char c : v)
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
  if (v.size() >= 2 && v[v.size() - 1] == '\n' && v[v.size() - 2] == '\n') return false;
  // trailing spaces before a newline are kept by literal blocks, so they are fine
  return true;
}

void emit_literal(std::ostream& o, const std::string& v, int indent) {
  bool ends_nl = !v.empty() && v.back() == '\n';
  o << (ends_nl ? "|" : "|-") << '\n';
  std::string pad(indent, ' ');
  size_t start = 0;
  std::string body = ends_nl ? v.substr(0, v.size() - 1) : v;
  while (true) {
    size_t end = body.find('\n', start);
    std::string line = body.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (line.empty()) o << '\n';
    else o << pad << line << '\n';
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

void emit_yaml(std::ostream& o, const YAML::Node& n, int indent);

// "key:" — or, for a key longer than YAML's 1024-character limit on implicit keys, the explicit
// form "? key" then ":" on the next line at `pad`.
void emit_key(std::ostream& o, const std::string& shown, const std::string& pad) {
  if (shown.size() <= 1000) o << shown << ':';
  else o << "? " << shown << '\n' << pad << ':';
}

// Emits the value part after "key:" or "-" (the caller has written the marker).
void emit_value(std::ostream& o, const YAML::Node& v, int indent, bool after_dash) {
  if (v.IsMap() && v.size() > 0) {
    if (after_dash) {
      // "- key: value" with further keys aligned under the first
      bool first = true;
      for (const auto& kv : v) {
        if (!first) o << std::string(indent, ' ');
        first = false;
        std::string k = kv.first.Scalar();
        emit_key(o, plain_safe(k) ? k : double_quoted(k), std::string(indent, ' '));
        emit_value(o, kv.second, indent + 2, false);
      }
      return;
    }
    o << '\n';
    emit_yaml(o, v, indent);
    return;
  }
  if (v.IsSequence() && v.size() > 0) {
    if (after_dash) {
      emit_yaml(o, v, indent);  // nested sequence starts on the same line is awkward; new lines
      return;
    }
    o << '\n';
    emit_yaml(o, v, indent - 2 < 0 ? 0 : indent - 2 + 2);
    return;
  }
  if (!after_dash) o << ' ';
  if (v.IsMap()) { o << "{}\n"; return; }
  if (v.IsSequence()) { o << "[]\n"; return; }
  if (v.IsScalar() && scalar_type(v) == ScalarType::String && literal_ok(v.Scalar())) {
    emit_literal(o, v.Scalar(), indent);
    return;
  }
  o << (v.IsScalar() ? yaml_scalar(v) : std::string("null")) << '\n';
}

void emit_yaml(std::ostream& o, const YAML::Node& n, int indent) {
  std::string pad(indent, ' ');
  if (n.IsMap()) {
    for (const auto& kv : n) {
      std::string k = kv.first.Scalar();
      // integer keys parsed from plain YAML (tag "?", e.g. party ids in route tables) stay
      // integers; every other key is a string
      bool int_key = kv.first.Tag() == "?" && resolve_plain(k) == ScalarType::Int;
      o << pad;
      emit_key(o, int_key || plain_safe(k) ? k : double_quoted(k), pad);
      emit_value(o, kv.second, indent + 2, false);
    }
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      o << pad << "- ";
      if (e.IsSequence() && e.size() > 0) {
        o << '\n';
        emit_yaml(o, e, indent + 2);
      } else {
        emit_value(o, e, indent + 2, true);
      }
    }
  } else {
    // a scalar document: a literal block's lines are indented, so none reads as "---" or "..."
    emit_value(o, n, indent + 2, true);
  }
}

}  // namespace

ScalarType resolve_plain(std::string_view t) {
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return ScalarType::Null;
  if (t == "true" || t == "True" || t == "TRUE" || t == "false" || t == "False" || t == "FALSE")
    return ScalarType::Bool;
  if (matches_int(t)) return ScalarType::Int;
  if (matches_float(t)) return ScalarType::Float;
  return ScalarType::String;
}

ScalarType scalar_type(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return ScalarType::Null;
  if (!n.IsScalar()) return ScalarType::String;
  if (is_string_tag(n.Tag())) return ScalarType::String;
  return resolve_plain(n.Scalar());
}

YAML::Node str(const std::string& value) {
  YAML::Node n(value);
  n.SetTag("!");
  return n;
}

void set_str(YAML::Node n) {
  if (n.IsScalar()) n.SetTag("!");
}


void rethrow_at_edge(const std::string& file, ErrorKind kind) {
  try {
    throw;
  } catch (const YAML::Exception& e) {
    Location l{file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
    throw Error(kind, l.str() + ": " + one_line(e.msg, 200));
  } catch (const std::length_error& e) {
    throw Error(kind, file + ": input too large (" + one_line(e.what(), 200) + ")");
  } catch (const std::out_of_range& e) {
    throw Error(kind, file + ": a value is out of range (" + one_line(e.what(), 200) + ")");
  } catch (const std::invalid_argument& e) {
    throw Error(kind, file + ": a value is not valid (" + one_line(e.what(), 200) + ")");
  }
}

static Error parse_error(const YAML::Exception& e, const std::string& name) {
  Location l{name, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
  return invalid_at(l, "", one_line(e.msg, 200));
}

YAML::Node parse(std::string_view text, const std::string& name) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw parse_error(e, name);
  } catch (...) {
    rethrow_at_edge(name);
  }
}

namespace {

/// Passes events through to another handler, remembering where the last document started.
class ProgressHandler : public YAML::EventHandler {
 public:
  explicit ProgressHandler(YAML::EventHandler& inner) : inner_(inner) {}
  YAML::Mark doc_start;
  bool started = false;
  void OnDocumentStart(const YAML::Mark& m) override {
    doc_start = m;
    started = true;
    inner_.OnDocumentStart(m);
  }
  void OnDocumentEnd() override { inner_.OnDocumentEnd(); }
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { inner_.OnNull(m, a); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override { inner_.OnAlias(m, a); }
  void OnScalar(const YAML::Mark& m, const std::string& t, YAML::anchor_t a, const std::string& v) override {
    inner_.OnScalar(m, t, a, v);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string& t, YAML::anchor_t a, YAML::EmitterStyle::value s) override {
    inner_.OnSequenceStart(m, t, a, s);
  }
  void OnSequenceEnd() override { inner_.OnSequenceEnd(); }
  void OnMapStart(const YAML::Mark& m, const std::string& t, YAML::anchor_t a, YAML::EmitterStyle::value s) override {
    inner_.OnMapStart(m, t, a, s);
  }
  void OnMapEnd() override { inner_.OnMapEnd(); }

 private:
  YAML::EventHandler& inner_;
};

/// Discards events.
struct NullHandler : YAML::EventHandler {
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

int for_each_document(std::string_view text, YAML::EventHandler& handler) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  ProgressHandler h(handler);
  int docs = 0;
  bool have_last = false;
  int last_pos = 0;
  while (parser.HandleNextDocument(h)) {
    // yaml-cpp's parser does not advance past a flow indicator outside a flow collection
    // (a lone ',' or ']'): the same document would start at the same place forever.
    if (h.started && have_last && h.doc_start.pos == last_pos) {
      std::string c = h.doc_start.pos >= 0 && static_cast<size_t>(h.doc_start.pos) < text.size()
                          ? std::string(1, text[static_cast<size_t>(h.doc_start.pos)])
                          : std::string("?");
      throw YAML::ParserException(h.doc_start, "unexpected '" + c + "' outside a flow collection ([...] or {...})");
    }
    have_last = h.started;
    last_pos = h.doc_start.pos;
    h.started = false;
    ++docs;
  }
  return docs;
}

std::vector<YAML::Node> parse_all(std::string_view text, const std::string& name) {
  try {
    NullHandler none;
    for_each_document(text, none);  // refuses what would make LoadAll loop forever
    return YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    throw parse_error(e, name);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream f;
  std::istream* in = &std::cin;
  if (path != "-") {
    f.open(path, std::ios::binary);
    if (!f) throw invalid(path + ": cannot read file");
    in = &f;
  }
  // Read at most kMaxInputBytes + 1: a larger file (or an endless stream) is refused, never
  // held in memory whole.
  std::string out;
  char buf[65536];
  while (*in) {
    in->read(buf, sizeof buf);
    out.append(buf, static_cast<size_t>(in->gcount()));
    if (out.size() > kMaxInputBytes)
      throw invalid((path == "-" ? std::string("<stdin>") : path) + ": larger than " + std::to_string(kMaxInputBytes >> 20) +
                    " MiB, the largest input file fatectl reads (see docs/limits.md)");
  }
  if (in->bad()) throw invalid(path + ": cannot read file");
  return out;
}

YAML::Node load_file(const std::string& path) { return parse(read_file(path), path); }

Location where(const YAML::Node& n, const std::string& file) {
  YAML::Mark m = n.Mark();
  if (m.is_null()) return Location{file, 0, 0};
  return Location{file, m.line + 1, m.column + 1};
}

std::string json_quote(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

std::string quote_excerpt(std::string_view s, size_t max) {
  if (s.size() <= max) return json_quote(s);
  size_t cut = max > 3 ? max - 3 : max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
  std::string q = json_quote(s.substr(0, cut));
  q.insert(q.size() - 1, "...");
  return q;
}

std::string to_yaml(const YAML::Node& n) {
  std::ostringstream o;
  if (n.IsScalar() || n.IsNull() || !n.IsDefined() || n.size() == 0) {
    if (n.IsMap()) return "{}\n";
    if (n.IsSequence()) return "[]\n";
    emit_value(o, n, 2, true);  // a literal block at the root still needs indented lines
    return o.str();
  }
  emit_yaml(o, n, 0);
  return o.str();
}

std::string to_json(const YAML::Node& n, bool pretty) {
  std::ostringstream o;
  emit_json(o, n, pretty, 0);
  if (pretty) o << '\n';
  return o.str();
}

namespace {
template <class Path>
YAML::Node dig_path(const YAML::Node& n, const Path& path) {
  YAML::Node cur = n;
  for (const auto& k : path) {
    if (!cur || !cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& c = cur;  // const: a missing key must not be created
    YAML::Node next = c[std::string(k)];
    if (!next) return YAML::Node(YAML::NodeType::Undefined);
    cur.reset(next);
  }
  return cur;
}
}  // namespace

YAML::Node dig(const YAML::Node& n, std::initializer_list<std::string_view> path) { return dig_path(n, path); }
YAML::Node dig(const YAML::Node& n, const std::vector<std::string>& path) { return dig_path(n, path); }

YAML::Node clone(const YAML::Node& n) { return YAML::Clone(n); }

}  // namespace fatectl::yaml
