// fatectl data synth: reproducible synthetic data sets for demos and tests (the fraud workload).
#include <memory>

#include "commands.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/ml/synth.h"

namespace fatectl::cli {

void add_data_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* data = root.add_subcommand("data", "Data sets for training demos and tests");
  data->require_subcommand(1);
  auto o = std::make_shared<ml::FraudSynthOptions>();
  auto kind = std::make_shared<std::string>("fraud");
  CLI::App* s = data->add_subcommand("synth", "Generate a credit-card-fraud-like data set split between banks");
  s->add_option("--kind", *kind, "what to generate (fraud)")->check(CLI::IsMember({"fraud"}))->capture_default_str();
  s->add_option("--out", o->out_dir, "directory for the CSV files")->required();
  s->add_option("--rows", o->rows, "rows over all banks")->capture_default_str();
  s->add_option("--seed", o->seed, "seed (same seed, same files)")->capture_default_str();
  s->add_option("--positive-rate", o->positive_rate, "share of fraud rows")->capture_default_str();
  s->add_option("--banks", o->banks, "how many banks share the rows (bank a gets 60 %)")->capture_default_str();
  s->add_option("--validate", o->validate_fraction, "share of each bank's rows in its validation file")->capture_default_str();
  s->footer(
      "Writes OUT/bank_a_train.csv, OUT/bank_a_validate.csv, OUT/bank_b_… with the columns of the public\n"
      "credit-card fraud set: Time (seconds), V1…V28 (on scales from about 2 down to 0.3), Amount (log-normal,\n"
      "up to 25,691.16) and Class (1 = fraud, about 0.17 %). No id column; some cells are empty (Amount, V5, V22,\n"
      "Time) and V9 holds the sentinel -999 now and then: made for data_transform and feature_scale.\n\n"
      "Examples:\n"
      "  fatectl data synth --out examples/data/fraud            # 284,807 rows, as examples/jobs/homo-fraud.yaml expects\n"
      "  fatectl data synth --out /tmp/fraud --rows 40000 --seed 3\n"
      "  fatectl data synth --out /tmp/fraud -o json\n");
  s->callback([o, kind, &g] {
    auto files = ml::synth_fraud(*o);
    if (g.format() == output::Format::Table) {
      output::Table t;
      t.headers = {"file", "rows", "frauds", "empty cells"};
      for (auto& f : files)
        t.rows.push_back({f.path, std::to_string(f.rows), std::to_string(f.positives), std::to_string(f.missing_cells)});
      std::fputs(t.render().c_str(), stdout);
      return;
    }
    YAML::Node n(YAML::NodeType::Sequence);
    for (auto& f : files) {
      YAML::Node x;
      x["path"] = yaml::str(f.path);
      x["rows"] = f.rows;
      x["positives"] = f.positives;
      x["missing_cells"] = f.missing_cells;
      n.push_back(x);
    }
    output::print(g.format(), n);
  });
}

}  // namespace fatectl::cli
