#include "fatectl/core/yaml.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
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

bool matches_float(std::string_view t) {
  static const std::regex re(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  static const std::regex special(R"(^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$)");
  std::string s(t);
  return std::regex_match(s, re) || std::regex_match(s, special);
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

std::string json_number(std::string_view t, ScalarType type) {
  std::string s(t);
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  if (type == ScalarType::Int) {
    size_t i = (s[0] == '-') ? 1 : 0;
    while (i + 1 < s.size() && s[i] == '0') s.erase(i, 1);
    return s;
  }
  if (s.find("inf") != std::string::npos || s.find("Inf") != std::string::npos ||
      s.find("INF") != std::string::npos || s.find("nan") != std::string::npos ||
      s.find("NaN") != std::string::npos || s.find("NAN") != std::string::npos)
    return "null";
  static const std::regex json_re(R"(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(s, json_re)) return s;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", std::strtod(s.c_str(), nullptr));
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
        o << (plain_safe(k) ? k : double_quoted(k)) << ':';
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
      o << pad << (int_key || plain_safe(k) ? k : double_quoted(k)) << ':';
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
    emit_value(o, n, indent, true);
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

static Error parse_error(const YAML::Exception& e, const std::string& name) {
  Location l{name, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
  return invalid_at(l, "", e.msg);
}

YAML::Node parse(std::string_view text, const std::string& name) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw parse_error(e, name);
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
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw invalid(path + ": cannot read file");
  ss << f.rdbuf();
  return ss.str();
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

std::string to_yaml(const YAML::Node& n) {
  std::ostringstream o;
  if (n.IsScalar() || n.IsNull() || !n.IsDefined() || n.size() == 0) {
    if (n.IsMap()) return "{}\n";
    if (n.IsSequence()) return "[]\n";
    emit_value(o, n, 0, true);
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

YAML::Node clone(const YAML::Node& n) { return YAML::Clone(n); }

}  // namespace fatectl::yaml
