#include "fatectl/ops/route_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::ops {
namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

// After a key's colon at `at`: the end of the line, or blanks and the value (one line; `breaks`
// is the position of the last CR or LF in `b`, or npos).
bool key_rest(const std::string& b, size_t at, size_t breaks, std::string* rest) {
  if (at < b.size() && b[at] != ' ' && b[at] != '\t') return false;
  size_t i = at;
  while (i < b.size() && (b[i] == ' ' || b[i] == '\t')) ++i;
  if (breaks != std::string::npos && breaks >= i) return false;
  if (rest) *rest = b.substr(i);
  return true;
}

// "key: rest" at the start of `body` (indentation already removed). Returns the unquoted key
// and the rest after the colon, or nothing when the line is not a mapping key. A hand-written
// scanner (linear in the line's length): a "double" or 'single' quoted key, or a plain key that
// does not start with an indicator and holds no '#', then optional blanks and ':' followed by
// a blank or the end of the line.
bool match_key(const std::string& body, std::string* key, std::string* rest) {
  std::string b = body;
  if (!b.empty() && b.back() == '\r') b.pop_back();
  if (b.empty()) return false;
  size_t breaks = b.find_last_of("\r\n");
  if (b[0] == '"' || b[0] == '\'') {
    size_t close = b.find(b[0], 1);
    if (close == std::string::npos) return false;
    size_t i = close + 1;
    while (i < b.size() && (b[i] == ' ' || b[i] == '\t')) ++i;
    if (i == b.size() || b[i] != ':' || !key_rest(b, i + 1, breaks, rest)) return false;
    if (key) *key = b.substr(1, close - 1);
    return true;
  }
  if (std::string_view(" \t\n\v\f\r#'\"-[]{}!&*|>%@`,?").find(b[0]) != std::string_view::npos) return false;
  size_t hash = b.find('#', 1);
  for (size_t c = b.find(':', 1); c != std::string::npos; c = b.find(':', c + 1)) {
    if (hash < c) return false;  // a plain key holds no '#'
    if (!key_rest(b, c + 1, breaks, rest)) continue;
    size_t end = c;
    while (end > 1 && (b[end - 1] == ' ' || b[end - 1] == '\t')) --end;
    if (key) *key = b.substr(0, end);
    return true;
  }
  return false;
}

bool is_seq_item(const std::string& line) {
  std::string t = trim(line);
  return t == "-" || t.rfind("- ", 0) == 0;
}

bool is_comment(const std::string& line) {
  std::string t = trim(line);
  return !t.empty() && t[0] == '#';
}

// The value text after a key's colon with any trailing comment removed.
std::string strip_comment(const std::string& rest) {
  std::string t = trim(rest);
  if (!t.empty() && t[0] == '#') return "";
  // a comment starts at " #" outside quotes
  bool sq = false, dq = false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\'' && !dq) sq = !sq;
    else if (c == '"' && !sq) dq = !dq;
    else if (c == '#' && !sq && !dq && i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t')) return trim(t.substr(0, i));
  }
  return t;
}

// The trailing comment of a key line (" # ..."), or "".
std::string trailing_comment(const std::string& rest) {
  std::string t = trim(rest);
  if (!t.empty() && t[0] == '#') return t;
  std::string v = strip_comment(rest);
  std::string r = trim(t.substr(std::min(v.size(), t.size())));
  return r;
}

bool emptyish(const std::string& v) {
  return v.empty() || v == "[]" || v == "{}" || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

}  // namespace

int yaml_indent(const std::string& line) {
  int n = 0;
  while (n < static_cast<int>(line.size()) && line[static_cast<size_t>(n)] == ' ') ++n;
  return n;
}

bool yaml_is_content(const std::string& line) {
  std::string t = trim(line);
  return !t.empty() && t[0] != '#';
}

std::string yaml_scalar(const std::string& s) {
  YAML::Node n = yaml::str(s);
  YAML::Node m;
  m["v"] = n;
  std::string out = yaml::to_yaml(m);  // "v: <scalar>\n"
  std::string v = out.substr(out.find(':') + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return trim(v);
}

YamlTextEditor::YamlTextEditor(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      lines_.push_back(text.substr(pos));
      final_newline_ = false;
      break;
    }
    lines_.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

std::string YamlTextEditor::text() const {
  std::string o;
  for (size_t i = 0; i < lines_.size(); ++i) {
    o += lines_[i];
    if (i + 1 < lines_.size() || final_newline_) o += '\n';
  }
  return o;
}

YamlTextEditor::Block YamlTextEditor::describe(int key_line) const {
  Block b;
  b.key_line = key_line;
  const std::string& l = line(key_line);
  b.key_indent = yaml_indent(l);
  std::string rest;
  match_key(l.substr(static_cast<size_t>(b.key_indent)), nullptr, &rest);
  b.inline_value = !strip_comment(rest).empty();
  if (b.inline_value) return b;
  for (int j = key_line + 1; j < line_count(); ++j) {
    const std::string& s = line(j);
    if (!yaml_is_content(s)) continue;
    int ind = yaml_indent(s);
    if (trim(s) == "---" || trim(s) == "...") break;
    if (ind > b.key_indent || (ind == b.key_indent && is_seq_item(s))) {
      if (b.first < 0) {
        b.first = key_line + 1;
        b.child_indent = ind;
      }
      b.last = j;
    } else {
      break;
    }
  }
  return b;
}

std::optional<YamlTextEditor::Block> YamlTextEditor::find_in(int first, int last, int indent,
                                                             const std::string& key) const {
  for (int j = first; j <= last && j < line_count(); ++j) {
    const std::string& s = line(j);
    if (!yaml_is_content(s) || yaml_indent(s) != indent) continue;
    std::string k;
    if (match_key(s.substr(static_cast<size_t>(indent)), &k, nullptr) && k == key) return describe(j);
  }
  return std::nullopt;
}

std::optional<YamlTextEditor::Block> YamlTextEditor::find(const std::vector<std::string>& path) const {
  // the document's top level: indent of its first content line
  int top = -1;
  for (int j = 0; j < line_count(); ++j) {
    std::string t = trim(line(j));
    if (!yaml_is_content(line(j)) || t == "---" || t[0] == '%') continue;
    top = yaml_indent(line(j));
    break;
  }
  if (top < 0 || path.empty()) return std::nullopt;
  std::optional<Block> b = find_in(0, line_count() - 1, top, path[0]);
  for (size_t i = 1; b && i < path.size(); ++i) {
    if (b->inline_value || b->first < 0) return std::nullopt;
    b = find_in(b->first, b->last, b->child_indent, path[i]);
  }
  return b;
}

std::vector<YamlTextEditor::Item> YamlTextEditor::items(const Block& b) const {
  std::vector<Item> out;
  if (b.inline_value || b.first < 0) return out;
  int prev_last = b.key_line;
  for (int j = b.first; j <= b.last; ++j) {
    const std::string& s = line(j);
    if (!yaml_is_content(s)) continue;
    if (yaml_indent(s) != b.child_indent) {
      if (!out.empty()) out.back().last = j;
      continue;
    }
    Item it;
    if (!is_seq_item(s)) {
      if (!match_key(s.substr(static_cast<size_t>(b.child_indent)), &it.key, nullptr)) {
        if (!out.empty()) out.back().last = j;
        continue;
      }
    }
    if (!out.empty()) prev_last = out.back().last;
    it.start = it.last = j;
    it.head = j;
    while (it.head - 1 > prev_last && is_comment(line(it.head - 1)) &&
           yaml_indent(line(it.head - 1)) == b.child_indent)
      --it.head;
    out.push_back(it);
  }
  return out;
}

void YamlTextEditor::replace(int first, int last, const std::vector<std::string>& lines) {
  lines_.erase(lines_.begin() + first, lines_.begin() + last + 1);
  lines_.insert(lines_.begin() + first, lines.begin(), lines.end());
}

void YamlTextEditor::insert(int at, const std::vector<std::string>& lines) {
  if (at >= line_count() && !final_newline_ && !lines_.empty()) final_newline_ = true;
  lines_.insert(lines_.begin() + at, lines.begin(), lines.end());
}

void YamlTextEditor::erase(int first, int last) { lines_.erase(lines_.begin() + first, lines_.begin() + last + 1); }

void YamlTextEditor::set_inline(const Block& b, const std::string& value) {
  const std::string& l = line(b.key_line);
  std::string key;
  std::string rest;
  match_key(l.substr(static_cast<size_t>(b.key_indent)), &key, &rest);
  std::string comment = trailing_comment(rest);
  // keep the key exactly as written: everything up to and including the colon
  size_t colon = l.size() - rest.size();
  std::string head = l.substr(0, colon);
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.pop_back();
  std::string nl = head + (value.empty() ? "" : " " + value) + (comment.empty() ? "" : "  " + comment);
  if (!b.inline_value && b.first >= 0) erase(b.first, b.last);
  lines_[static_cast<size_t>(b.key_line)] = nl;
}

int YamlTextEditor::item_indent(const Block& b, bool sequence) const {
  if (!b.inline_value && b.child_indent >= 0) return b.child_indent;
  return sequence ? b.key_indent : b.key_indent + 2;
}

YamlTextEditor::Block YamlTextEditor::ensure_block(const std::vector<std::string>& path) {
  std::vector<std::string> sofar;
  std::optional<Block> parent;
  for (size_t i = 0; i < path.size(); ++i) {
    sofar.push_back(path[i]);
    std::optional<Block> b = find(sofar);
    if (!b) {
      int indent = 0, at = line_count();
      if (parent) {
        indent = parent->child_indent >= 0 && !parent->inline_value ? parent->child_indent : parent->key_indent + 2;
        at = parent->last >= 0 ? parent->last + 1 : parent->key_line + 1;
      } else {
        // top level: after the last content line of the document
        int lastc = -1;
        for (int j = 0; j < line_count(); ++j)
          if (yaml_is_content(line(j))) lastc = j;
        at = lastc + 1;
        if (lastc >= 0) {
          int top = 0;
          for (int j = 0; j < line_count(); ++j)
            if (yaml_is_content(line(j)) && trim(line(j)) != "---") {
              top = yaml_indent(line(j));
              break;
            }
          indent = top;
        }
      }
      insert(at, {std::string(static_cast<size_t>(indent), ' ') + yaml_scalar(path[i]) + ":"});
      b = describe(at);
    } else if (b->inline_value) {
      std::string rest;
      const std::string& l = line(b->key_line);
      match_key(l.substr(static_cast<size_t>(b->key_indent)), nullptr, &rest);
      std::string v = strip_comment(rest);
      if (i + 1 < path.size() && !emptyish(v)) {
        std::string where = std::to_string(b->key_line + 1);
        throw invalid("line " + where + ": " + path[i] +
                      ": written in flow style; rewrite it in block style (one key per line) so it can be edited");
      }
      set_inline(*b, "");
      b = describe(b->key_line);
    }
    parent = b;
  }
  return *parent;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  std::string target = path;
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) target = resolved;
  std::string dir = ".";
  size_t slash = target.rfind('/');
  std::string base = target;
  if (slash != std::string::npos) {
    dir = target.substr(0, slash);
    if (dir.empty()) dir = "/";
    base = target.substr(slash + 1);
  }
  std::string tmpl = dir + "/." + base + ".fatectl-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) throw failed(path + ": cannot create a temporary file beside it: " + std::strerror(errno));
  std::string tmp(buf.data());
  struct stat st {};
  mode_t mode = 0644;
  if (::stat(target.c_str(), &st) == 0) mode = st.st_mode & 07777;
  ::fchmod(fd, mode);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw failed(path + ": write failed: " + std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw failed(path + ": write failed: " + std::strerror(e));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw failed(path + ": cannot replace the file: " + std::strerror(e));
  }
}

}  // namespace fatectl::ops
