#pragma once
// Reading job-file parameters with file:line:col errors (private to ml/): numbers, integers,
// booleans, strings, enumerations and unknown-key checks under a key prefix such as
// "algorithm.params.".
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
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
  // Numbers are converted here, range-checked, never with yaml-cpp's as<T>() (whose "bad
  // conversion" would escape as a library exception on 1e999 or 99999999999999999999).
  double num(const YAML::Node& n, const std::string& key) const {
    auto t = yaml::scalar_type(n);
    if (!n.IsScalar() || (t != yaml::ScalarType::Int && t != yaml::ScalarType::Float))
      throw err(n, key, "expected a number");
    std::string s = n.Scalar();
    if (!s.empty() && s[0] == '+') s.erase(0, 1);
    double v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v))
      throw err(n, key, "expected a finite number, got " + yaml::quote_excerpt(n.Scalar()));
    return v;
  }
  long integer(const YAML::Node& n, const std::string& key, long lo = std::numeric_limits<long>::min(),
               long hi = std::numeric_limits<long>::max()) const {
    if (!n.IsScalar() || yaml::scalar_type(n) != yaml::ScalarType::Int) throw err(n, key, "expected an integer");
    std::string s = n.Scalar();
    if (!s.empty() && s[0] == '+') s.erase(0, 1);
    long v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < lo || v > hi)
      throw err(n, key,
                (lo == std::numeric_limits<long>::min() && hi == std::numeric_limits<long>::max()
                     ? std::string("expected an integer that fits in 64 bits")
                     : "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]") +
                    ", got " + yaml::quote_excerpt(n.Scalar()));
    return v;
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
