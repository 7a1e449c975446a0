#pragma once
// Reading job-file parameters with file:line:col errors (private to ml/): numbers, integers,
// booleans, strings, enumerations and unknown-key checks under a key prefix such as
// "algorithm.params.".
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::ml::detail {

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Typed access to one mapping of parameters; every error names file, line, column and key.
struct Reader {
  const std::string& file;
  std::string prefix;

  Error err(const YAML::Node& n, const std::string& key, const std::string& msg) const {
    return invalid_at(yaml::where(n, file), prefix + key, msg);
  }
  double num(const YAML::Node& n, const std::string& key) const {
    auto t = yaml::scalar_type(n);
    if (!n.IsScalar() || (t != yaml::ScalarType::Int && t != yaml::ScalarType::Float))
      throw err(n, key, "expected a number");
    return n.as<double>();
  }
  long integer(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar() || yaml::scalar_type(n) != yaml::ScalarType::Int) throw err(n, key, "expected an integer");
    return n.as<long>();
  }
  bool boolean(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar() || yaml::scalar_type(n) != yaml::ScalarType::Bool) throw err(n, key, "expected true or false");
    return n.as<bool>();
  }
  std::string text(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) throw err(n, key, "expected a string");
    return n.Scalar();
  }
  template <typename E>
  E choice(const YAML::Node& n, const std::string& key, const std::vector<std::pair<std::string, E>>& opts) const {
    std::string v = yaml::scalar_type(n) == yaml::ScalarType::Null ? "none" : lower(text(n, key));
    std::string all;
    for (auto& [name, e] : opts) {
      if (lower(name) == v) return e;
      all += (all.empty() ? "" : ", ") + name;
    }
    throw err(n, key, "unknown value '" + n.Scalar() + "' (one of: " + all + ")");
  }
  void known(const YAML::Node& m, const std::set<std::string>& keys) const {
    for (auto it = m.begin(); it != m.end(); ++it) {
      std::string k = it->first.Scalar();
      if (!keys.count(k)) {
        std::string all;
        for (auto& s : keys) all += (all.empty() ? "" : ", ") + s;
        throw err(it->first, k, "unknown parameter (known: " + all + ")");
      }
    }
  }
};


}  // namespace fatectl::ml::detail
