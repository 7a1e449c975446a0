#include "fatectl/ml/sample_weight.h"

#include <cmath>

#include "fatectl/core/yaml.h"
#include "param_reader.h"

namespace fatectl::ml {

using detail::lower;
using detail::Reader;

namespace {

void read_class_weight(const Reader& r, const YAML::Node& v, const std::string& key, SampleWeightParams& p) {
  p.where = yaml::where(v, r.file);
  if (yaml::scalar_type(v) == yaml::ScalarType::Null) {
    p.class_weight = SampleWeightParams::Mode::None;
    return;
  }
  if (v.IsScalar()) {
    if (lower(v.Scalar()) != "balanced") throw r.err(v, key, "expected 'balanced' or {0: weight, 1: weight}");
    p.class_weight = SampleWeightParams::Mode::Balanced;
    return;
  }
  if (!v.IsMap()) throw r.err(v, key, "expected 'balanced' or {0: weight, 1: weight}");
  p.class_weight = SampleWeightParams::Mode::Given;
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string label = it->first.Scalar();
    const YAML::Node w = it->second;
    double x = r.num(w, key + "." + label);
    if (!(x > 0) || !std::isfinite(x)) throw r.err(w, key + "." + label, "a class weight must be a positive number");
    if (label == "0" || label == "-1") p.w0 = x;
    else if (label == "1") p.w1 = x;
    else throw r.err(it->first, key + "." + label, "binary labels are 0 and 1 (-1 is read as 0)");
  }
}

}  // namespace

SampleWeightParams SampleWeightParams::parse(const YAML::Node& params, const std::string& file) {
  SampleWeightParams p;
  if (!params || !params.IsMap()) return p;
  Reader top{file, "algorithm.params."};
  if (YAML::Node cw = params["class_weight"]) read_class_weight(top, cw, "class_weight", p);
  if (YAML::Node sw = params["sample_weight"]) {
    Reader r{file, "algorithm.params.sample_weight."};
    if (!sw.IsMap()) throw top.err(sw, "sample_weight", "expected a mapping {class_weight, sample_weight_name, normalize}");
    r.known(sw, {"class_weight", "sample_weight_name", "normalize", "need_run"});
    if (params["class_weight"] && sw["class_weight"])
      throw r.err(sw["class_weight"], "class_weight", "given twice (also algorithm.params.class_weight)");
    bool need_run = true;
    for (auto it = sw.begin(); it != sw.end(); ++it) {
      std::string k = it->first.Scalar();
      const YAML::Node v = it->second;
      if (k == "class_weight") read_class_weight(r, v, k, p);
      else if (k == "sample_weight_name") {
        if (yaml::scalar_type(v) == yaml::ScalarType::Null) continue;
        p.sample_weight_name = r.text(v, k);
        if (p.sample_weight_name.empty()) throw r.err(v, k, "expected a column name");
        p.where = yaml::where(v, file);
      } else if (k == "normalize") p.normalize = r.boolean(v, k);
      else if (k == "need_run") need_run = r.boolean(v, k);
    }
    if (!need_run) p = SampleWeightParams{};
  }
  return p;
}

YAML::Node WeightSummary::to_yaml() const {
  YAML::Node n;
  n["weight_mode"] = mode;
  if (mode == "class weight") {
    n["class_weight"]["0"] = w0;
    n["class_weight"]["1"] = w1;
  }
  return n;
}

std::vector<double> sample_weights(const SampleWeightParams& p, const Dataset& d, const StatSum& sum,
                                   WeightSummary* summary) {
  WeightSummary s;
  std::vector<double> w;
  if (!p.sample_weight_name.empty()) {
    s.mode = "sample weight name";
    if (d.weights.size() != d.rows()) throw failed("internal: the weight column was not loaded");
    w = d.weights;
    if (p.normalize) {
      double local = 0;
      for (double x : w) local += x;
      auto g = sum({local, static_cast<double>(d.rows())}, "sample weight sum");
      if (!(g[0] > 0)) throw invalid(d.file + ": " + p.sample_weight_name + ": the sample weights add up to 0");
      double base = g[0] / g[1];
      for (double& x : w) x /= base;
    }
  } else if (p.class_weight != SampleWeightParams::Mode::None) {
    s.mode = "class weight";
    if (!d.has_labels()) throw failed("internal: class weights need labels");
    if (p.class_weight == SampleWeightParams::Mode::Balanced) {
      double pos = 0;
      for (double y : d.labels) pos += (y == 1);
      auto g = sum({pos, static_cast<double>(d.rows()) - pos}, "label counts");
      if (g[0] <= 0 || g[1] <= 0)
        throw invalid(d.file + ": class_weight: balanced needs both labels in the training data (positives " +
                      std::to_string(static_cast<long>(g[0])) + ", negatives " + std::to_string(static_cast<long>(g[1])) + ")");
      double n = g[0] + g[1];
      s.w1 = n / (2 * g[0]);
      s.w0 = n / (2 * g[1]);
    } else {
      s.w0 = p.w0;
      s.w1 = p.w1;
    }
    w.reserve(d.rows());
    for (double y : d.labels) w.push_back(y == 1 ? s.w1 : s.w0);
  } else {
    s.mode = "none";
  }
  if (summary) *summary = s;
  return w;
}

void scale_to_mean_one(std::vector<double>& w) {
  double t = 0;
  for (double x : w) t += x;
  if (!(t > 0)) throw invalid("sample weights add up to 0");
  double f = static_cast<double>(w.size()) / t;
  for (double& x : w) x *= f;
}

}  // namespace fatectl::ml
