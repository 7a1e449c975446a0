#include "fatectl/ml/intersect_params.h"

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::ml {

IntersectParams IntersectParams::parse(const YAML::Node& params, const std::string& file) {
  IntersectParams ip;
  if (!params || !params.IsMap()) return ip;
  auto err = [&](const YAML::Node& n, const std::string& key, const std::string& msg) {
    return invalid_at(yaml::where(n, file), "algorithm.params." + key, msg);
  };
  if (YAML::Node v = params["intersect_method"]) {
    std::string m = v.IsScalar() ? v.Scalar() : "";
    for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (m == "rsa" || m == "dh")
      throw err(v, "intersect_method",
                "'" + m + "' is FATE's, not fatectl's: use ecdh (the default; as private as FATE's RSA and DH PSI and "
                "several times faster, docs/psi.md)");
    if (m != "ecdh" && m != "raw") throw err(v, "intersect_method", "unknown value '" + v.Scalar() + "' (one of: ecdh, raw)");
    ip.method = m;
  }
  if (YAML::Node v = params["min_intersect_rows"]) {
    if (!v.IsScalar() || yaml::scalar_type(v) != yaml::ScalarType::Int || v.as<long>() < 0)
      throw err(v, "min_intersect_rows", "expected a whole number of rows >= 0");
    ip.min_rows = v.as<long>();
  }
  if (YAML::Node v = params["min_intersect_ratio"]) {
    auto t = yaml::scalar_type(v);
    if (!v.IsScalar() || (t != yaml::ScalarType::Int && t != yaml::ScalarType::Float) || v.as<double>() < 0 ||
        v.as<double>() > 1)
      throw err(v, "min_intersect_ratio", "expected a fraction of the guest's rows in [0, 1]");
    ip.min_ratio = v.as<double>();
  }
  if (YAML::Node v = params["allow_host_label_column"]) {
    if (!v.IsScalar() || yaml::scalar_type(v) != yaml::ScalarType::Bool)
      throw err(v, "allow_host_label_column", "expected true or false");
    ip.allow_host_label_column = v.as<bool>();
  }
  return ip;
}

}  // namespace fatectl::ml
