#pragma once
// YAML helpers shared by every layer: loading with file:line:col errors, scalar typing,
// and emitters for YAML and JSON that keep strings and numbers apart.
//
// Typing rule: yaml-cpp keeps scalars as text. A scalar is a string when it was quoted in its
// source (yaml-cpp tag "!") or when code marked it with set_str()/str(); otherwise it is
// resolved by the YAML 1.2 core schema (null, bool, int, float, else string).
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <initializer_list>
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
/// The largest file read_file() accepts (specs, job files, kubeconfigs, keys, route files).
inline constexpr size_t kMaxInputBytes = 16u << 20;
/// Reads and parses a file ("-" = stdin).
YAML::Node load_file(const std::string& path);
/// Reads a whole file ("-" = stdin); Invalid "PATH: cannot read file" or "PATH: larger than
/// 16 MiB ..." past kMaxInputBytes.
std::string read_file(const std::string& path);

using ::fatectl::one_line;  // core/error.h

/// Rethrows the exception being handled as an Error of `kind` naming `file`: a yaml-cpp
/// exception (operator[] on a scalar, bad conversion, ...) as "FILE:LINE:COL: message",
/// std::length_error / out_of_range / invalid_argument as "FILE: message". Anything else
/// (fatectl::Error, bad_alloc) is rethrown unchanged. Call only inside a catch block.
[[noreturn]] void rethrow_at_edge(const std::string& file, ErrorKind kind = ErrorKind::Invalid);

/// Runs a reader over input from `file` so that no library exception escapes it: what a
/// library throws on hostile input becomes an Error of `kind` naming the file (see above).
template <class F>
auto at_edge(const std::string& file, F&& fn, ErrorKind kind = ErrorKind::Invalid) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (...) {
    rethrow_at_edge(file, kind);
  }
}

/// Location of a node in its source (1-based line and column).
Location where(const YAML::Node& n, const std::string& file);

/// Block-style YAML, one document, ending with a newline.
std::string to_yaml(const YAML::Node& n);
/// JSON; pretty = 2-space indentation, otherwise compact on one line.
std::string to_json(const YAML::Node& n, bool pretty = true);
/// JSON string literal with escapes.
std::string json_quote(std::string_view s);
/// json_quote of at most `max` bytes of `s`, "..." marking a cut: how messages echo a value
/// (hostile input may hold megabytes).
std::string quote_excerpt(std::string_view s, size_t max = 40);

/// The node at `path` below `n` (map keys), or an undefined node (false in a condition) when a
/// step is missing or not a mapping. yaml-cpp's chained n["a"]["b"] throws InvalidNode instead
/// when "a" is missing from a const node.
YAML::Node dig(const YAML::Node& n, std::initializer_list<std::string_view> path);
YAML::Node dig(const YAML::Node& n, const std::vector<std::string>& path);

/// Deep copy (yaml-cpp nodes share by reference).
YAML::Node clone(const YAML::Node& n);

}  // namespace fatectl::yaml
