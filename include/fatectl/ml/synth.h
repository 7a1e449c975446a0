#pragma once
// Synthetic, reproducible data sets for demos and tests: a credit-card-fraud–like table (the
// reference architecture's showcase workload) split between banks, each with a training and a
// validation file. Same seed, same bytes.
#include <cstdint>
#include <string>
#include <vector>

namespace fatectl::ml {

/// What to generate.
struct FraudSynthOptions {
  long rows = 284807;            ///< all banks together (the public fraud set's size)
  uint64_t seed = 7;
  double positive_rate = 0.0017; ///< share of fraud rows (label Class = 1)
  int banks = 2;
  double validate_fraction = 0.2;
  std::string out_dir;
};

/// One file written.
struct SynthFile {
  std::string path;
  long rows = 0, positives = 0, missing_cells = 0;
};

/// Writes <out_dir>/bank_<a,b,…>_{train,validate}.csv: columns Time (seconds over two days),
/// V1…V28 (principal-component-like, standard deviations from about 2 down to 0.3), Amount
/// (log-normal, up to 25,691.16), Class (0/1); no id column. Fraud rows are shifted on some
/// components (V3, V4, V7, V10, V11, V12, V14, V16, V17), pay other amounts and cluster at night.
/// About 0.5 % of Amount, 1 % of V5, 0.3 % of V22 and 0.2 % of Time cells are empty, and 0.1 %
/// of V9 cells hold the sentinel -999. Bank a gets ~60 % of the rows, the others share the rest.
std::vector<SynthFile> synth_fraud(const FraudSynthOptions& o);

}  // namespace fatectl::ml
