// Hetero (vertical) logistic regression, entry points: training dispatches to the party's role
// (hetero_lr_guest.cc, hetero_lr_host.cc, hetero_lr_arbiter.cc); prediction is here. The files of
// the protocol and its number format: hetero_lr_common.h.
#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/core/yaml.h"
#include "fatectl/he/paillier.h"
#include "fatectl/ml/metrics.h"
#include "fatectl/ml/optimizer.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/wire.h"
#include "hetero_lr_common.h"

namespace fatectl::ml::detail {

using namespace hlr;

void hetero_train(Party& p) {
  std::string role = p.job.role_of(p.self);
  if (role == "guest") guest(p);
  else if (role == "host") host(p);
  else arbiter(p);
}

void hetero_predict(Party& p, const std::string& model_dir) {
  const MlJob& job = p.job;
  std::string role = job.role_of(p.self);
  if (role == "arbiter") return;
  size_t which = job.has_data(p.self, 1) ? 1 : 0;
  YAML::Node m = load_model(model_dir, p.self, role);
  std::vector<double> coef = from_seq(m["coef"]);
  // The preparation fitted in training, applied unchanged: cells before the alignment, scaling after.
  FittedPrep fp = FittedPrep::from_yaml(m["preparation"], model_dir + "/model.json");
  Dataset d = load_for_predict(job, p.self, which, fp);
  check_features(m, d, model_dir + "/model.json");
  if (!fp.cols.empty()) fp.apply_cells(d);
  if (role == "host") {
    Dataset a = host_intersect(p, d, "predict");
    if (!fp.cols.empty()) fp.apply_scale(a);
    std::vector<double> z(a.rows());
    for (size_t i = 0; i < a.rows(); ++i) {
      double s = 0;
      for (size_t j = 0; j < coef.size(); ++j) s += a.row(i)[j] * coef[j];
      z[i] = s;
    }
    p.send(job.guest, "hlr/predict/wx", WireWriter().f64s(z).take());
    return;
  }
  Dataset a = guest_intersect(p, d, "predict");
  if (!fp.cols.empty()) fp.apply_scale(a);
  double b = m["intercept"] ? std::strtod(m["intercept"].Scalar().c_str(), nullptr) : 0.0;
  std::vector<double> z(a.rows(), b);
  for (size_t i = 0; i < a.rows(); ++i)
    for (size_t j = 0; j < coef.size(); ++j) z[i] += a.row(i)[j] * coef[j];
  for (long h : job.hosts) {
    WireReader r(p.recv(h, "hlr/predict/wx"), "wx");
    auto v = r.f64s();
    if (v.size() != z.size()) throw failed("host " + std::to_string(h) + " sent the wrong number of scores");
    for (size_t i = 0; i < z.size(); ++i) z[i] += v[i];
  }
  double thr = m["threshold"] ? m["threshold"].as<double>() : 0.5;
  std::vector<double> scores(z.size());
  for (size_t i = 0; i < z.size(); ++i) scores[i] = sigmoid(z[i]);
  write_predictions(p, a.ids, scores, thr, a.labels);
  p.log("wrote predictions.csv (" + std::to_string(z.size()) + " rows)");
}

}  // namespace fatectl::ml::detail
