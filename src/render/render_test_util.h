#pragma once
// Shared by the render tests: finding objects and reading generated config files, wherever the
// rendering put them (a ConfigMap, or the Secret of the same name when the file holds a password).
#include <string>
#include <vector>

#include "fatectl/render/render.h"

namespace fatectl::render::test {

/// The object of `kind` named `name`, or nullptr.
inline const Object* find_object(const std::vector<Object>& objs, const std::string& kind, const std::string& name) {
  for (const auto& o : objs)
    if (o.kind() == kind && o.name() == name) return &o;
  return nullptr;
}

/// File `key` of ConfigMap `name`, else of Secret `name` (stringData); "" when neither has it.
inline std::string config_file(const std::vector<Object>& objs, const std::string& name, const std::string& key) {
  if (const Object* cm = find_object(objs, "ConfigMap", name))
    if (cm->node["data"] && cm->node["data"][key]) return cm->node["data"][key].Scalar();
  if (const Object* s = find_object(objs, "Secret", name))
    if (s->node["stringData"] && s->node["stringData"][key]) return s->node["stringData"][key].Scalar();
  return "";
}

}  // namespace fatectl::render::test
