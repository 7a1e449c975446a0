#include "fatectl/spec/source_check.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "fatectl/core/yaml.h"

namespace fatectl::spec {
namespace {

Location loc(const std::string& file, int line, int col) { return Location{file, line, col}; }

Location loc(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return Location{file, 0, 0};
  return Location{file, m.line + 1, m.column + 1};
}

// ---- encoding ------------------------------------------------------------------------

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not valid UTF-8.
size_t utf8_len(const std::string& s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  unsigned cp;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

// Finds the first byte that cannot appear in a YAML text file. Returns false if found.
bool check_encoding(const std::string& text, const std::string& file, std::vector<Diagnostic>& errors) {
  int line = 1, col = 1;
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 byte order mark
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = utf8_len(text, i);
    bool bad = n == 0 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F;
    if (bad) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "binary or non-UTF-8 data (byte 0x%02X); a cluster spec must be a UTF-8 YAML text file", c);
      errors.push_back({loc(file, line, col), "", buf});
      return false;
    }
    if (c == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += n;
  }
  return true;
}

// ---- lines and indentation ----------------------------------------------------------------

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      if (!cur.empty() && cur.back() == '\r') cur.pop_back();
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) lines.push_back(cur);
  return lines;
}

// Leading whitespace width, counting a tab as one column (we only compare lines with each other).
size_t indent_of(const std::string& l) {
  size_t i = 0;
  while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
  return i;
}

bool blank_or_comment(const std::string& l) {
  size_t i = indent_of(l);
  return i == l.size() || l[i] == '#';
}

// "  - name: x" -> "name"; "  key: v" -> "key"; otherwise "".
std::string key_on_line(const std::string& l) {
  size_t i = indent_of(l);
  while (i < l.size() && (l[i] == '-' || l[i] == ' ' || l[i] == '\t')) ++i;
  size_t start = i;
  char quote = 0;
  if (i < l.size() && (l[i] == '"' || l[i] == '\'')) quote = l[i++], start = i;
  while (i < l.size()) {
    if (quote ? l[i] == quote : (l[i] == ':' && (i + 1 == l.size() || l[i + 1] == ' ' || l[i + 1] == '\t'))) {
      std::string k = l.substr(start, i - start);
      while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
      if (quote) return (i + 1 < l.size() && l[i + 1] == ':') ? k : "";
      return k;
    }
    ++i;
  }
  return "";
}

// Lines inside block scalars (| or >), which may legally start with tabs after their indent.
std::vector<bool> block_scalar_lines(const std::vector<std::string>& lines) {
  std::vector<bool> in(lines.size(), false);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    size_t end = l.find(" #");
    std::string body = l.substr(0, end);
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t')) body.pop_back();
    if (body.empty()) continue;
    // header ends with | or > plus optional chomping/indent indicators
    size_t j = body.size();
    while (j > 0 && (body[j - 1] == '-' || body[j - 1] == '+' || (body[j - 1] >= '1' && body[j - 1] <= '9'))) --j;
    if (j == 0 || (body[j - 1] != '|' && body[j - 1] != '>')) continue;
    if (j >= 2 && body[j - 2] != ' ' && body[j - 2] != ':' && body[j - 2] != '-') continue;
    size_t base = indent_of(l);
    size_t k = i + 1;
    for (; k < lines.size(); ++k) {
      if (blank_or_comment(lines[k]) && lines[k].find_first_not_of(" \t") == std::string::npos) {
        in[k] = true;
        continue;
      }
      // content lines are indented more than the header line (spaces only count)
      size_t sp = 0;
      while (sp < lines[k].size() && lines[k][sp] == ' ') ++sp;
      if (sp <= base) break;
      in[k] = true;
    }
    i = k - 1;
  }
  return in;
}

void check_tabs(const std::string& text, const std::string& file, std::vector<Diagnostic>& errors) {
  auto lines = split_lines(text);
  auto in_block = block_scalar_lines(lines);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (in_block[i]) continue;
    const std::string& l = lines[i];
    size_t ind = indent_of(l);
    size_t tab = l.find('\t');
    if (tab == std::string::npos || tab >= ind || ind == l.size()) continue;  // no tab in the indent, or blank
    if (l[ind] == '#') continue;                                              // comment lines are harmless
    errors.push_back({loc(file, static_cast<int>(i + 1), static_cast<int>(tab + 1)),
                      indent_path(text, static_cast<int>(i + 1)),
                      "tab character in indentation; YAML indents with spaces only"});
  }
}

// ---- event scan: syntax, duplicate keys, depth ---------------------------------------------

struct TooDeep {};
struct TooManyAliases {};

/// Walks parser events keeping the key path, and records duplicate keys with both positions.
class Scanner : public YAML::EventHandler {
 public:
  Scanner(const std::string& file, std::vector<Diagnostic>& errors) : file_(file), errors_(errors) {}

  std::string path() const {
    std::string p = full_path();
    return p.size() > 120 ? p.substr(0, 117) + "..." : p;
  }

  std::string full_path() const {
    std::string p;
    for (const auto& f : stack_) {
      if (f.is_map) {
        if (f.expect_value && !f.key.empty()) p += (p.empty() ? "" : ".") + f.key;
      } else {
        p += "[" + std::to_string(f.index) + "]";
      }
    }
    return p;
  }

  int documents = 0;
  bool root_is_null = true;
  std::vector<Diagnostic> pending;  ///< findings that only count if the whole text parses
  YAML::Mark last_open;
  YAML::Mark second_doc;

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents;
    if (documents == 2) second_doc = mark;
    stack_.clear();
    aliases_ = 0;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { scalar(mark, "", true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (++aliases_ > kMaxAliases) throw TooManyAliases{};
    scalar(mark, "*alias@" + std::to_string(mark.pos), false);  // never a duplicate of anything
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t, const std::string& value) override {
    (void)tag;
    scalar(mark, value, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    open(mark, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    open(mark, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool is_map = false;
    bool expect_value = false;  // map: the next node is the value of `key`
    bool complex_key = false;   // map: the key being read is a collection
    std::string key;
    int index = 0;  // sequence: index of the next item
    std::map<std::string, YAML::Mark> seen;
  };

  static std::string normalize(const std::string& k) {
    // 9999, "9999" and 09999 name the same party in a route table
    size_t i = 0;
    while (i < k.size() && k[i] >= '0' && k[i] <= '9') ++i;
    if (!k.empty() && i == k.size()) {
      size_t z = k.find_first_not_of('0');
      return z == std::string::npos ? "0" : k.substr(z);
    }
    return k;
  }

  void scalar(const YAML::Mark& mark, const std::string& value, bool is_null) {
    if (stack_.empty()) {
      root_is_null = is_null;
      return;
    }
    Frame& f = stack_.back();
    if (f.is_map && !f.expect_value) {
      std::string k = is_null ? "" : value;
      std::string norm = normalize(k);
      auto it = f.seen.find(norm);
      if (it != f.seen.end()) {
        std::string p = path();
        std::string full = p.empty() ? k : p + "." + k;
        errors_.push_back({loc(file_, mark), full,
                           "duplicate key '" + k + "' (first at line " + std::to_string(it->second.line + 1) +
                               "); YAML keeps only one of them, so one setting would be lost"});
      } else {
        f.seen.emplace(norm, mark);
      }
      f.key = k;
      f.expect_value = true;
      return;
    }
    done();
  }

  void open(const YAML::Mark& mark, bool is_map) {
    if (stack_.empty()) root_is_null = false;
    if (!stack_.empty() && stack_.back().is_map && !stack_.back().expect_value) {
      stack_.back().complex_key = true;
      pending.push_back({loc(file_, mark), path(), "a mapping key must be a plain value, not a list or mapping"});
    }
    last_open = mark;
    if (static_cast<int>(stack_.size()) >= kMaxNesting) throw TooDeep{};
    Frame f;
    f.is_map = is_map;
    stack_.push_back(std::move(f));
  }

  void close() {
    if (!stack_.empty()) stack_.pop_back();
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    if (f.is_map && !f.expect_value && f.complex_key) {
      f.complex_key = false;
      f.key = "?";
      f.expect_value = true;
      return;
    }
    done();
  }

  // A complete node was read as the value of the top frame.
  void done() {
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    if (f.is_map) {
      f.expect_value = false;
    } else {
      ++f.index;
    }
  }

  const std::string& file_;
  std::vector<Diagnostic>& errors_;
  std::vector<Frame> stack_;
  int aliases_ = 0;
};

}  // namespace

// Leading spaces only: a tab ends the count (used to guess parents of a tab-indented line).
static size_t spaces_of(const std::string& l) {
  size_t i = 0;
  while (i < l.size() && l[i] == ' ') ++i;
  return i;
}

std::string indent_path(const std::string& text, int line) {
  auto lines = split_lines(text);
  if (line < 1 || line > static_cast<int>(lines.size())) return "";
  std::vector<std::string> parts;
  size_t i = static_cast<size_t>(line - 1);
  std::string k = key_on_line(lines[i]);
  if (!k.empty()) parts.push_back(k);
  size_t ind = spaces_of(lines[i]);
  while (i > 0 && ind > 0) {
    --i;
    if (blank_or_comment(lines[i])) continue;
    size_t d = spaces_of(lines[i]);
    if (d < ind) {
      std::string pk = key_on_line(lines[i]);
      if (!pk.empty()) parts.push_back(pk);
      ind = d;
    }
  }
  std::string p;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) p += (p.empty() ? "" : ".") + *it;
  return p;
}

SourceFacts check_source(const std::string& text, const std::string& file, std::vector<Diagnostic>& errors) {
  SourceFacts facts;
  size_t before = errors.size();
  if (text.size() > kMaxSpecBytes) {
    errors.push_back({loc(file, 1, 1), "", "file is larger than 16 MiB; this is not a cluster spec"});
    return facts;
  }
  if (!check_encoding(text, file, errors)) return facts;
  check_tabs(text, file, errors);

  Scanner scan(file, errors);
  try {
    yaml::for_each_document(text, scan);
    facts.parse_ok = true;
    errors.insert(errors.end(), scan.pending.begin(), scan.pending.end());
  } catch (const TooDeep&) {
    errors.push_back({loc(file, scan.last_open), scan.path(),
                      "nesting deeper than " + std::to_string(kMaxNesting) + " levels; this is not a cluster spec"});
  } catch (const TooManyAliases&) {
    errors.push_back({loc(file, scan.last_open), scan.path(),
                      "more than " + std::to_string(kMaxAliases) + " aliases; this is not a cluster spec"});
  } catch (const YAML::Exception& e) {
    // A tab error already explains most syntax errors on the same spot; keep both (the tab first).
    std::string path = scan.path();
    Location l = loc(file, e.mark);
    if (path.empty() && l.line > 0) path = indent_path(text, l.line);
    bool tab_here = false;  // the tab error on this line already says what is wrong
    for (size_t i = before; i < errors.size(); ++i)
      if (errors[i].where.line == l.line && errors[i].message.rfind("tab character", 0) == 0) tab_here = true;
    if (!tab_here)
      errors.push_back({l, path, "YAML syntax error: " + e.msg + " (is the file truncated or mis-indented?)"});
  }
  if (facts.parse_ok) {
    if (scan.documents == 0 || (scan.documents == 1 && scan.root_is_null)) facts.empty = true;
    if (scan.documents > 1)
      errors.push_back({loc(file, scan.second_doc), "",
                        "more than one YAML document (---); a cluster spec is a single document"});
  }
  (void)before;
  return facts;
}

}  // namespace fatectl::spec
