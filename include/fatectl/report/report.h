#pragma once
// The training report: one self-contained HTML page (inline SVG and CSS, no scripts, fonts or
// anything else fetched) drawn from a training run's output files — metrics.json (FATE's
// evaluation curves, per-epoch history, job description) and model.json (preparation) of every
// party that has them. For air-gapped sites and for reading the way FATE Board shows a job.
#include <string>

namespace fatectl::report {

/// Where to read and write, and who made the page.
struct ReportOptions {
  std::string run_dir;   ///< `train --out` directory (party subdirectories) or one party's directory
  std::string out_file;  ///< default: RUN_DIR/report.html
  std::string generator = "fatectl";
};

/// The page for run_dir. Throws Invalid when run_dir holds no metrics.json (naming what it holds).
std::string render_report(const ReportOptions& o);
/// Renders and writes the page atomically; returns its path.
std::string write_report(const ReportOptions& o);

}  // namespace fatectl::report
