// add-party / remove-party edits of the federation file, through ops' line-level YAML editor.
#include "fatectl/federation/edit.h"

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ops/route_file.h"
#include "fatectl/spec/validate.h"

namespace fatectl::federation {

namespace {

/// The index of party `id` in the parsed `parties:` list, or -1.
int index_of(const std::string& text, const std::string& file, long id) {
  YAML::Node root = yaml::parse(text, file);
  YAML::Node parties = root.IsMap() ? root["parties"] : YAML::Node();
  if (!parties.IsDefined() || !parties.IsSequence()) return -1;
  for (size_t i = 0; i < parties.size(); ++i) {
    long long v = 0;
    if (parties[i].IsMap() && spec::as_integer(parties[i]["id"], v) && v == id) return static_cast<int>(i);
  }
  return -1;
}

ops::YamlTextEditor::Block parties_block(const ops::YamlTextEditor& ed, const std::string& file) {
  auto b = ed.find({"parties"});
  if (!b) throw invalid(file + ": parties: no `parties:` list to edit");
  if (b->inline_value)
    throw invalid(file + ":" + std::to_string(b->key_line + 1) +
                  ": parties: the list is written in flow style ([...]); write one `- id: ...` entry per line to let "
                  "add-party and remove-party edit it");
  return *b;
}

}  // namespace

std::string append_party(const std::string& text, const std::string& file, const PartyEntry& e) {
  if (index_of(text, file, e.id) >= 0) throw invalid(file + ": party " + std::to_string(e.id) + " is already a member");
  ops::YamlTextEditor ed(text);
  ops::YamlTextEditor::Block b = parties_block(ed, file);
  auto items = ed.items(b);
  int indent = ed.item_indent(b, true);
  std::string pad(static_cast<size_t>(indent), ' ');
  std::vector<std::string> lines{pad + "- id: " + std::to_string(e.id)};
  auto add = [&](const char* key, const std::string& v) {
    if (!v.empty()) lines.push_back(pad + "  " + key + ": " + ops::yaml_scalar(v));
  };
  add("name", e.name);
  add("namespace", e.namespace_);
  add("context", e.context);
  add("spec", e.spec);
  add("chartVersion", e.chart_version);
  add("computing", e.computing);
  add("storage", e.storage);
  add("address", e.address);
  int at = items.empty() ? (b.last >= 0 ? b.last + 1 : b.key_line + 1) : items.back().last + 1;
  ed.insert(at, lines);
  std::string out = ed.text();
  if (index_of(out, file, e.id) < 0) throw invalid(file + ": the new entry for party " + std::to_string(e.id) + " does not read back; add it by hand");
  return out;
}

std::string drop_party(const std::string& text, const std::string& file, long id) {
  int i = index_of(text, file, id);
  if (i < 0) throw invalid(file + ": party " + std::to_string(id) + " is not in parties:");
  ops::YamlTextEditor ed(text);
  ops::YamlTextEditor::Block b = parties_block(ed, file);
  auto items = ed.items(b);
  if (static_cast<size_t>(i) >= items.size()) throw invalid(file + ": cannot find party " + std::to_string(id) + "'s lines; remove it by hand");
  ed.erase(items[static_cast<size_t>(i)].head, items[static_cast<size_t>(i)].last);
  std::string out = ed.text();
  if (index_of(out, file, id) >= 0) throw invalid(file + ": party " + std::to_string(id) + " is still there after the edit; remove it by hand");
  return out;
}

}  // namespace fatectl::federation
