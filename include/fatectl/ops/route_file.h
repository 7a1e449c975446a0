#pragma once
// Line-level editing of a YAML spec file: rewrite one block (a route table, an item of it) and
// leave every other byte — comments, key order, blank lines, quoting — as the operator wrote it.
#include <optional>
#include <string>
#include <vector>

namespace fatectl::ops {

/// A YAML document held as text lines, with the few structural edits route tables need.
/// It understands block mappings and block sequences written with spaces (what KubeFATE
/// specs use); callers re-parse the result to check the edit (see routes.cc).
class YamlTextEditor {
 public:
  /// Where a mapping key and its value sit in the text (0-based line numbers).
  struct Block {
    int key_line = -1;     ///< line of "key:"
    int key_indent = 0;    ///< column of the key
    bool inline_value = false;  ///< value written on the key's line (scalar, flow, null-with-text)
    int first = -1;        ///< first line of a block value (after the key line); -1 = none
    int last = -1;         ///< last content line of the block value; -1 = none (empty/null value)
    int child_indent = -1; ///< indent of the value's first content line; -1 = none
  };
  /// One item of a block sequence or one entry of a block mapping.
  struct Item {
    std::string key;  ///< mapping entry key (unquoted); empty for sequence items
    int head = 0;     ///< first line, including comment lines directly above it
    int start = 0;    ///< line of "- " or "key:"
    int last = 0;     ///< last content line
  };

  YamlTextEditor(const std::string& text);

  /// The key path (e.g. {"trafficServer", "route_table", "sni"}) in the document, if present.
  std::optional<Block> find(const std::vector<std::string>& path) const;
  /// The items of the block sequence (or entries of the block mapping) that is `b`'s value.
  std::vector<Item> items(const Block& b) const;

  /// Replaces lines [first, last] with `lines`.
  void replace(int first, int last, const std::vector<std::string>& lines);
  /// Inserts `lines` before line `at` (at == line_count() appends).
  void insert(int at, const std::vector<std::string>& lines);
  /// Removes lines [first, last].
  void erase(int first, int last);

  /// Makes sure the key path exists with a block value, creating missing keys at the end of
  /// their parent (2 spaces deeper than the parent, or the parent's existing child indent).
  /// An inline value (e.g. "sni: []") is dropped, keeping the key line's trailing comment;
  /// the caller then inserts the items. Returns the block.
  Block ensure_block(const std::vector<std::string>& path);
  /// Sets an inline value on the key line of `b` (e.g. "[]"), dropping its block lines.
  void set_inline(const Block& b, const std::string& value);

  /// The indentation new items of `b` get: the existing items', else the key's indent for a
  /// sequence (KubeFATE style "sni:\n- fqdn: ...") or key + 2 for a mapping.
  int item_indent(const Block& b, bool sequence) const;

  int line_count() const { return static_cast<int>(lines_.size()); }
  const std::string& line(int i) const { return lines_[static_cast<size_t>(i)]; }
  std::string text() const;

 private:
  std::optional<Block> find_in(int first, int last, int indent, const std::string& key) const;
  Block describe(int key_line) const;
  std::vector<std::string> lines_;
  bool final_newline_ = true;
};

/// Indentation (leading spaces) of a line, and whether it holds YAML content (not blank,
/// not a comment).
int yaml_indent(const std::string& line);
bool yaml_is_content(const std::string& line);

/// A scalar written for a YAML file: plain when it reads back as the same string, else
/// double-quoted.
std::string yaml_scalar(const std::string& s);

/// Writes `text` to `path` atomically: a temporary file in the same directory (keeping the
/// original's permission bits), fsync, then rename over the target. A symlink is followed.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace fatectl::ops
