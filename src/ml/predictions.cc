// The prediction input and output every protocol shares: the data to score (with the model's
// preparation markers) and predictions.csv with FATE's columns id, label, predict_result,
// predict_score, plus predict-metrics.json with FATE's evaluation when the data has labels.
#include <cstdio>
#include <sstream>

#include "fatectl/core/yaml.h"
#include "fatectl/ml/evaluation.h"
#include "protocols.h"

namespace fatectl::ml::detail {

Dataset load_for_predict(const MlJob& job, long party, size_t which, const FittedPrep& fp) {
  DataSpec spec = job.data_spec(party, which);
  spec.missing_values.clear();
  spec.missing_ok = nullptr;
  allow_missing(fp, spec);
  spec.weight_required = false;
  if (!spec.with_label) return load_csv(spec);
  try {
    return load_csv(spec);
  } catch (const Error& e) {
    // Prediction data may come without labels: try again only when the label column is missing.
    DataSpec nolabel = spec;
    nolabel.with_label = false;
    Dataset d = load_csv(nolabel);
    bool has_label_col = false;
    for (auto& f : d.feature_names) has_label_col |= f == spec.label_column;
    if (has_label_col) throw;
    return d;
  }
}

void write_predictions(Party& p, const std::vector<std::string>& ids, const std::vector<double>& scores,
                       double threshold, const std::vector<double>& labels) {
  const bool with_label = !labels.empty();
  std::ostringstream out;
  out << (with_label ? "id,label,predict_result,predict_score\n" : "id,predict_result,predict_score\n");
  for (size_t i = 0; i < scores.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", scores[i]);
    out << ids[i] << ",";
    if (with_label) out << (labels[i] == 1 ? 1 : 0) << ",";
    out << (scores[i] > threshold ? 1 : 0) << "," << buf << "\n";
  }
  p.write_file("predictions.csv", out.str());
  if (!with_label) return;
  YAML::Node metrics;
  metrics["predict"] = evaluation_yaml(labels, scores, threshold);
  p.write_file("predict-metrics.json", yaml::to_json(metrics) + "\n");
}

}  // namespace fatectl::ml::detail
