// The prediction output every protocol writes: predictions.csv (id,label,score) and, when the
// data has labels, predict-metrics.json with FATE's metrics.
#include <cstdio>
#include <sstream>

#include "fatectl/core/yaml.h"
#include "fatectl/ml/metrics.h"
#include "protocols.h"

namespace fatectl::ml::detail {

void write_predictions(Party& p, const std::vector<std::string>& ids, const std::vector<double>& scores,
                       double threshold, const std::vector<double>& labels) {
  std::ostringstream out;
  out << "id,label,score\n";
  for (size_t i = 0; i < scores.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", scores[i]);
    out << ids[i] << "," << (scores[i] > threshold ? 1 : 0) << "," << buf << "\n";
  }
  p.write_file("predictions.csv", out.str());
  if (labels.empty()) return;
  YAML::Node metrics;
  metrics["predict"] = evaluate(labels, scores, threshold).to_yaml();
  p.write_file("predict-metrics.json", yaml::to_json(metrics) + "\n");
}

}  // namespace fatectl::ml::detail
