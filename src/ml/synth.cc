#include "fatectl/ml/synth.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "fatectl/core/error.h"
#include "fatectl/ml/rng.h"

namespace fatectl::ml {

std::vector<SynthFile> synth_fraud(const FraudSynthOptions& o) {
  if (o.rows < 100 || o.rows > 100'000'000) throw invalid("--rows must be between 100 and 100000000");
  if (!(o.positive_rate > 0 && o.positive_rate < 0.5)) throw invalid("--positive-rate must be in (0, 0.5)");
  if (o.banks < 1 || o.banks > 26) throw invalid("--banks must be between 1 and 26");
  if (!(o.validate_fraction >= 0 && o.validate_fraction < 1)) throw invalid("--validate must be in [0, 1)");
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) throw failed(o.out_dir + ": cannot create the directory: " + ec.message());

  // Component standard deviations fall like a PCA spectrum; fraud shifts in units of them.
  double sd[29], shift[29] = {0};
  for (int j = 1; j <= 28; ++j) sd[j] = 2.0 * std::pow(0.935, j - 1);
  const std::pair<int, double> shifts[] = {{14, -1.7}, {12, -1.4}, {10, -1.3}, {17, -1.5}, {4, 1.2},
                                           {11, 1.1},   {3, -1.0}, {16, -0.9},  {7, -0.8}};
  for (auto [j, s] : shifts) shift[j] = s;

  struct Out {
    SynthFile info;
    std::ofstream f;
  };
  std::vector<std::unique_ptr<Out>> files;
  std::string header = "Time";
  for (int j = 1; j <= 28; ++j) header += ",V" + std::to_string(j);
  header += ",Amount,Class\n";
  for (int b = 0; b < o.banks; ++b)
    for (const char* part : {"train", "validate"}) {
      if (std::string(part) == "validate" && o.validate_fraction == 0) continue;
      auto out = std::make_unique<Out>();
      out->info.path = o.out_dir + "/bank_" + std::string(1, static_cast<char>('a' + b)) + "_" + part + ".csv";
      out->f.open(out->info.path, std::ios::trunc);
      if (!out->f) throw failed(out->info.path + ": cannot write");
      out->f << header;
      files.push_back(std::move(out));
    }
  Rng r(o.seed, "synth/fraud");
  std::string line;
  char buf[64];
  for (long i = 0; i < o.rows; ++i) {
    // Where the row goes: bank a ~60 %, the rest evenly; then train or validate.
    double u = r.uniform();
    int bank = o.banks == 1 || u < 0.6 ? 0 : 1 + static_cast<int>((u - 0.6) / 0.4 * (o.banks - 1));
    if (bank >= o.banks) bank = o.banks - 1;
    bool validate = o.validate_fraction > 0 && r.uniform() < o.validate_fraction;
    Out& out = *files[static_cast<size_t>(bank) * (o.validate_fraction > 0 ? 2 : 1) + (validate ? 1 : 0)];
    const bool fraud = r.uniform() < o.positive_rate;
    line.clear();
    // Time: seconds over two days; half of the frauds between 1 and 5 a.m.
    double t = r.uniform() * 172800.0;
    if (fraud && r.uniform() < 0.5) t = (r.uniform() < 0.5 ? 0 : 86400.0) + 3600.0 + r.uniform() * 4 * 3600.0;
    bool miss_t = r.uniform() < 0.002;
    if (!miss_t) {
      std::snprintf(buf, sizeof buf, "%.0f", std::floor(t));
      line += buf;
    } else ++out.info.missing_cells;
    for (int j = 1; j <= 28; ++j) {
      double z = r.normal();
      double v = fraud ? (shift[j] + z * (shift[j] != 0 ? 1.6 : 1.0)) * sd[j] : z * sd[j];
      line += ',';
      if ((j == 5 && r.uniform() < 0.01) || (j == 22 && r.uniform() < 0.003)) {
        ++out.info.missing_cells;
        continue;
      }
      if (j == 9 && r.uniform() < 0.001) {
        line += "-999";
        continue;
      }
      std::snprintf(buf, sizeof buf, "%.6f", v);
      line += buf;
    }
    // Amount: log-normal; frauds either tiny test charges or larger ones.
    double a = fraud ? (r.uniform() < 0.3 ? 0.5 + r.uniform() * 2 : std::exp(4.6 + 1.1 * r.normal()))
                     : std::exp(3.4 + 1.25 * r.normal());
    a = std::min(a, 25691.16);
    line += ',';
    if (r.uniform() < 0.005) ++out.info.missing_cells;
    else {
      std::snprintf(buf, sizeof buf, "%.2f", a);
      line += buf;
    }
    line += fraud ? ",1\n" : ",0\n";
    out.f << line;
    ++out.info.rows;
    out.info.positives += fraud;
  }
  std::vector<SynthFile> result;
  for (auto& f : files) {
    f->f.flush();
    if (!f->f) throw failed(f->info.path + ": write failed (disk full?)");
    result.push_back(f->info);
  }
  return result;
}

}  // namespace fatectl::ml
