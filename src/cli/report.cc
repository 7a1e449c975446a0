// fatectl report RUN_DIR: the training report as one self-contained HTML file.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/report/report.h"
#include "fatectl/version.h"

namespace fatectl::cli {

std::string write_training_report(const std::string& run_dir, const std::string& out_file) {
  report::ReportOptions o;
  o.run_dir = run_dir;
  o.out_file = out_file;
  o.generator = std::string("fatectl ") + kVersion + " (" + kGitCommit + ")";
  return report::write_report(o);
}

void add_report_commands(CLI::App& root, GlobalOptions& g) {
  auto dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  CLI::App* r = root.add_subcommand("report", "Render a training run as one self-contained HTML page (charts as inline SVG)");
  r->add_option("RUN_DIR", *dir, "the train output directory (--out; default fatectl-out/<job>) or one party's directory")
      ->required();
  r->add_option("--out", *out, "where to write the page (default RUN_DIR/report.html)");
  r->footer(
      "Reads every party's metrics.json and model.json under RUN_DIR and draws, per party: loss per epoch with\n"
      "the validation AUC and KS, ROC with AUC, the KS curve, precision-recall, lift, gain, the score histogram\n"
      "per class, the confusion matrix at the chosen threshold, the fitted data preparation; then the job's\n"
      "parameters and the parties' roles. No JavaScript and nothing fetched: it opens on an air-gapped machine.\n"
      "`fatectl train` writes it at the end (OUT/report.html).\n\n"
      "Examples:\n"
      "  fatectl report fatectl-out/homo-fraud\n"
      "  fatectl report fatectl-out/homo-fraud/9999 --out /tmp/bank-a.html\n");
  r->callback([dir, out, &g] {
    std::string path = write_training_report(*dir, *out);
    if (g.format() == output::Format::Table) {
      std::printf("report: %s\n", path.c_str());
      return;
    }
    YAML::Node n;
    n["report"] = yaml::str(path);
    output::print(g.format(), n);
  });
}

}  // namespace fatectl::cli
