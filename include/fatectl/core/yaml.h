#pragma once
// YAML helpers shared by every layer: loading with file:line:col errors, scalar typing,
// and emitters for YAML and JSON that keep strings and numbers apart.
//
// Typing rule: yaml-cpp keeps scalars as text. A scalar is a string when it was quoted in its
// source (yaml-cpp tag "!") or when code marked it with set_str()/str(); otherwise it is
// resolved by the YAML 1.2 core schema (null, bool, int, float, else string).
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "fatectl/core/error.h"

namespace fatectl::yaml {

enum class ScalarType { Null, Bool, Int, Float, String };

/// Type of a scalar node under the rule above.
ScalarType scalar_type(const YAML::Node& n);
/// Type a plain (unquoted) scalar text resolves to.
ScalarType resolve_plain(std::string_view text);

/// A scalar node holding `value` that always emits as a string ("9999" stays "9999").
YAML::Node str(const std::string& value);
/// Marks an existing scalar node as a string.
void set_str(YAML::Node n);

/// Parses text (YAML or JSON); errors become ErrorKind::Invalid naming `name:line:col`.
YAML::Node parse(std::string_view text, const std::string& name);
/// Parses every document of a multi-document stream.
std::vector<YAML::Node> parse_all(std::string_view text, const std::string& name);
/// Feeds every document of `text` to `handler` (yaml-cpp's event API) and returns how many
/// there were. Unlike a bare HandleNextDocument loop it always ends: input on which yaml-cpp
/// stops advancing (a lone ',') throws YAML::ParserException at that character.
int for_each_document(std::string_view text, YAML::EventHandler& handler);
/// Reads and parses a file ("-" = stdin).
YAML::Node load_file(const std::string& path);
std::string read_file(const std::string& path);

/// Location of a node in its source (1-based line and column).
Location where(const YAML::Node& n, const std::string& file);

/// Block-style YAML, one document, ending with a newline.
std::string to_yaml(const YAML::Node& n);
/// JSON; pretty = 2-space indentation, otherwise compact on one line.
std::string to_json(const YAML::Node& n, bool pretty = true);
/// JSON string literal with escapes.
std::string json_quote(std::string_view s);

/// Deep copy (yaml-cpp nodes share by reference).
YAML::Node clone(const YAML::Node& n);

}  // namespace fatectl::yaml
