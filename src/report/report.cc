#include "fatectl/report/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "fatectl/report/svg.h"

namespace fs = std::filesystem;

namespace fatectl::report {
namespace {

const char* kTrain = "#1f77b4";
const char* kValidate = "#d62728";
const char* kPos = "#d62728";
const char* kNeg = "#1f77b4";

std::vector<double> nums(const YAML::Node& n) {
  std::vector<double> v;
  if (!n || !n.IsSequence()) return v;
  for (const auto& x : n) v.push_back(x.as<double>());
  return v;
}

std::string num(const YAML::Node& n, int prec = 4) {
  if (!n || !n.IsScalar()) return "–";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, n.as<double>());
  return b;
}

std::string scalar_text(const YAML::Node& n) {
  if (!n) return "";
  if (n.IsScalar()) return n.Scalar();
  return yaml::to_json(n, false);
}

/// "a.b.c" = value rows of a mapping (sequences of scalars stay on one line).
void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) flatten(it->second, prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar(), out);
    return;
  }
  out.push_back({prefix, scalar_text(n)});
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::string& cls = "") {
  std::string s = "<table" + (cls.empty() ? "" : " class=\"" + cls + "\"") + "><thead><tr>";
  for (auto& h : head) s += "<th>" + escape(h) + "</th>";
  s += "</tr></thead><tbody>";
  for (auto& r : rows) {
    s += "<tr>";
    for (auto& c : r) s += "<td>" + escape(c) + "</td>";
    s += "</tr>";
  }
  return s + "</tbody></table>";
}

/// One party's output: metrics.json and model.json of its directory.
struct PartyRun {
  std::string dir;
  long id = 0;
  std::string role;
  YAML::Node metrics, model;
};

std::string curve_chart(const PartyRun& p, const char* key, const char* xk, const char* yk, const std::string& title,
                        const std::string& xl, const std::string& yl, bool diag, const std::string& sub_key = "") {
  Chart c;
  c.title = title;
  c.x.label = xl;
  c.y.label = yl;
  if (diag) {
    c.x.min = 0, c.x.max = 1, c.y.min = 0, c.y.max = 1;
    c.marks.push_back({Mark::Kind::Diagonal, 0, 0, "", "#aaa"});
  }
  std::string sub;
  for (const char* data : {"train", "validate"}) {
    YAML::Node cv = yaml::dig(p.metrics, {data, "curves", key});
    if (!cv) continue;
    Series s;
    std::string label = data;
    if (!sub_key.empty() && yaml::dig(p.metrics, {data, sub_key})) {
      label += " (" + std::string(sub_key == "auc" ? "AUC " : "AP ") + num(yaml::dig(p.metrics, {data, sub_key})) + ")";
      sub += (sub.empty() ? "" : ", ") + label;
    }
    s.name = label;
    s.x = nums(cv[xk]);
    s.y = nums(cv[yk]);
    s.color = std::string(data) == "train" ? kTrain : kValidate;
    s.dashed = std::string(data) == "train";
    c.series.push_back(s);
  }
  c.subtitle = sub;
  return render_svg(c);
}

std::string main_data(const PartyRun& p) { return yaml::dig(p.metrics, {"validate", "curves"}) ? "validate" : "train"; }

std::string ks_chart(const PartyRun& p) {
  std::string d = main_data(p);
  YAML::Node k = yaml::dig(p.metrics, {d, "curves", "ks"});
  Chart c;
  c.title = "KS curve (" + d + ")";
  c.subtitle = "KS " + num(yaml::dig(p.metrics, {d, "ks"}));
  c.x.label = "share of rows flagged (cut)";
  c.y.label = "rate";
  c.x.min = 0, c.x.max = 1, c.y.min = 0, c.y.max = 1;
  Series tpr{"TPR", nums(k["cuts"]), nums(k["tpr"]), kPos};
  Series fpr{"FPR", nums(k["cuts"]), nums(k["fpr"]), kNeg};
  std::vector<double> diff;
  for (size_t i = 0; i < tpr.y.size() && i < fpr.y.size(); ++i) diff.push_back(tpr.y[i] - fpr.y[i]);
  Series ks{"TPR − FPR", tpr.x, diff, "#2ca02c"};
  ks.dashed = true;
  c.series = {tpr, fpr, ks};
  if (!diff.empty()) {
    size_t best = static_cast<size_t>(std::max_element(diff.begin(), diff.end() - 1) - diff.begin());
    c.marks.push_back({Mark::Kind::VLine, tpr.x[best], 0, "max at cut " + fmt_tick(tpr.x[best]), "#2ca02c"});
  }
  return render_svg(c);
}

std::string histogram_chart(const PartyRun& p) {
  std::string d = main_data(p);
  YAML::Node h = yaml::dig(p.metrics, {d, "curves", "histogram"});
  Chart c;
  c.title = "Scores per class (" + d + ")";
  c.subtitle = "share of each class's rows per score bin";
  c.x.label = "predicted score";
  c.y.label = "share of the class";
  c.x.min = 0, c.x.max = 1;
  auto edges = nums(h["edges"]);
  for (auto [key, name, color] : {std::tuple{"negative", "label 0", kNeg}, std::tuple{"positive", "label 1", kPos}}) {
    auto counts = nums(h[key]);
    double total = 0;
    for (double x : counts) total += x;
    if (total > 0)
      for (double& x : counts) x /= total;
    Series s{std::string(name) + " (" + fmt_tick(total) + " rows)", edges, counts, color};
    s.step_fill = true;
    c.series.push_back(s);
  }
  double thr = p.metrics["threshold"] ? p.metrics["threshold"].as<double>() : 0.5;
  c.marks.push_back({Mark::Kind::VLine, thr, 0, "threshold " + fmt_tick(thr), "#333"});
  return render_svg(c);
}

std::string history_chart(const PartyRun& p) {
  YAML::Node h = p.metrics["history"];
  Chart c;
  c.title = "Loss per epoch";
  c.x.label = "epoch";
  c.y.label = "training loss";
  c.y_right.label = "validation metric";
  Series loss{"loss", {}, {}, "#333"};
  Series auc{"validation AUC", {}, {}, kValidate}, ks{"validation KS", {}, {}, "#2ca02c"};
  auc.right_axis = ks.right_axis = true;
  auc.markers = ks.markers = true;
  ks.dashed = true;
  if (h && h.IsSequence())
    for (const auto& e : h) {
      double ep = e["epoch"].as<double>();
      if (e["loss"]) {
        loss.x.push_back(ep);
        loss.y.push_back(e["loss"].as<double>());
      }
      if (e["validate"]) {
        auc.x.push_back(ep);
        auc.y.push_back(e["validate"]["auc"].as<double>());
        ks.x.push_back(ep);
        ks.y.push_back(e["validate"]["ks"].as<double>());
      }
    }
  if (loss.x.size() == 1) loss.markers = true;
  c.series.push_back(loss);
  if (!auc.x.empty()) {
    c.series.push_back(auc);
    c.series.push_back(ks);
    c.subtitle = "right axis: validation AUC and KS";
  }
  if (loss.x.empty()) c.subtitle = "no loss: FATE computes none with several hosts";
  if (p.metrics["best_iteration"]) {
    double b = p.metrics["best_iteration"].as<double>();
    c.marks.push_back({Mark::Kind::VLine, b, 0, "best iteration " + fmt_tick(b), kValidate});
  }
  return render_svg(c);
}

std::string confusion_html(const PartyRun& p) {
  std::string d = main_data(p);
  YAML::Node m = yaml::dig(p.metrics, {d});
  if (!yaml::dig(m, {"confusion"})) return "<p>No confusion matrix: " + escape(scalar_text(yaml::dig(m, {"note"}))) + "</p>";
  auto cell = [&](const char* k) { return m["confusion"][k].Scalar(); };
  std::string s = "<div class=\"cm\"><h4>Confusion matrix at threshold " + escape(num(p.metrics["threshold"], 4)) + " (" +
                  escape(d) + ", rule " + escape(scalar_text(p.metrics["threshold_rule"])) + ")</h4>";
  s += "<table class=\"confusion\"><tr><th></th><th>predicted 1</th><th>predicted 0</th></tr>";
  s += "<tr><th>label 1</th><td class=\"good\">TP " + escape(cell("tp")) + "</td><td class=\"bad\">FN " + escape(cell("fn")) + "</td></tr>";
  s += "<tr><th>label 0</th><td class=\"bad\">FP " + escape(cell("fp")) + "</td><td class=\"good\">TN " + escape(cell("tn")) + "</td></tr>";
  s += "</table><p>precision " + num(m["precision"]) + " · recall " + num(m["recall"]) + " · F1 " + num(m["f1"]) +
       " · accuracy " + num(m["accuracy"]) + "</p></div>";
  return s;
}

std::string summary_html(const PartyRun& p) {
  std::vector<std::vector<std::string>> rows;
  for (const char* d : {"train", "validate"}) {
    YAML::Node m = p.metrics[d];
    if (!m) continue;
    rows.push_back({d, scalar_text(m["samples"]), scalar_text(m["positives"]), num(m["auc"]), num(m["ks"]),
                    num(m["average_precision"]), num(m["precision"]), num(m["recall"]), num(m["f1"])});
  }
  std::string s = table({"data", "rows", "positives", "AUC", "KS", "avg precision", "precision", "recall", "F1"}, rows, "num");
  std::string facts = "epochs " + scalar_text(p.metrics["epochs"]) +
                      (p.metrics["converged"] && p.metrics["converged"].as<bool>() ? " (converged)" : "");
  if (p.metrics["early_stopped"] && p.metrics["early_stopped"].as<bool>())
    facts += " · early stopped on " + scalar_text(p.metrics["early_stopping_metric"]);
  if (p.metrics["best_iteration"]) facts += " · model of iteration " + scalar_text(p.metrics["best_iteration"]);
  facts += " · threshold " + num(p.metrics["threshold"], 4) + " (" + scalar_text(p.metrics["threshold_rule"]) + ")";
  if (YAML::Node w = p.metrics["sample_weight"]; w && w["weight_mode"] && w["weight_mode"].Scalar() != "none") {
    facts += " · " + scalar_text(w["weight_mode"]);
    if (w["class_weight"]) facts += " {0: " + num(w["class_weight"]["0"]) + ", 1: " + num(w["class_weight"]["1"]) + "}";
  }
  return s + "<p class=\"facts\">" + escape(facts) + "</p>";
}

/// A fitted value for the table: 6 significant digits, "—" for an open bound.
std::string short_num(const YAML::Node& n) {
  if (!n || !n.IsScalar()) return "";
  const std::string& t = n.Scalar();
  if (t == "inf" || t == "-inf") return "—";
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str()) return t;
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

std::string prep_html(const PartyRun& p) {
  YAML::Node pr = p.model["preparation"];
  if (!pr || !pr["columns"]) return "";
  std::vector<std::vector<std::string>> rows;
  bool any = false;
  for (const auto& c : pr["columns"]) {
    std::string fill = c["missing_fill_method"] ? c["missing_fill_method"].Scalar() + " " + short_num(c["missing_fill_value"]) : "";
    std::string out = c["outlier_replace_method"] ? c["outlier_replace_method"].Scalar() + " " + short_num(c["outlier_replace_value"]) : "";
    std::string lo = short_num(c["column_lower"]), hi = short_num(c["column_upper"]);
    std::string center = c["mean"] ? short_num(c["mean"]) : c["range"] ? "range " + short_num(c["range"]) : "";
    std::string sd = short_num(c["std"]);
    any |= !fill.empty() || !out.empty() || c["column_lower"];
    rows.push_back({c["name"].Scalar(), fill, out, lo, hi, center, sd});
  }
  if (!any) return "";
  return "<h3>Data preparation fitted on this party's training data</h3><p class=\"facts\">" +
         escape("scaling: " + scalar_text(pr["scale_method"]) + " · statistics: " + scalar_text(pr["statistics"]) +
                (pr["missing_values"] && pr["missing_values"].size() ? " · missing cells: " + scalar_text(pr["missing_values"]) : "") +
                (pr["outlier_values"] && pr["outlier_values"].size() ? " · outliers: " + scalar_text(pr["outlier_values"]) : "")) +
         "</p>" + table({"column", "missing fill", "outlier replace", "lower", "upper", "mean", "std"}, rows, "num small");
}

std::string party_html(const PartyRun& p) {
  std::string s = "<section class=\"party\"><h2>Party " + std::to_string(p.id) + " (" + escape(p.role) + ")</h2>";
  s += summary_html(p);
  if (!yaml::dig(p.metrics, {"train", "curves"})) {
    s += "<p>No curves: " + escape(scalar_text(yaml::dig(p.metrics, {"train", "note"}))) + "</p></section>";
    return s;
  }
  s += "<div class=\"grid\">";
  s += history_chart(p);
  s += curve_chart(p, "roc", "fpr", "tpr", "ROC", "false positive rate", "true positive rate", true, "auc");
  s += ks_chart(p);
  s += curve_chart(p, "pr", "recall", "precision", "Precision–recall", "recall", "precision", false, "average_precision");
  s += curve_chart(p, "lift", "x", "lift", "Lift", "share of rows flagged", "lift", false);
  s += curve_chart(p, "gain", "x", "gain", "Gain", "share of rows flagged", "share of positives found", false);
  s += histogram_chart(p);
  s += confusion_html(p);
  s += "</div>";
  s += prep_html(p);
  return s + "</section>";
}

const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;margin:24px;color:#222;background:#f6f7f9}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:18px 0 6px}h4{font-size:14px;margin:4px 0 8px}
.sub{color:#555;margin:0 0 16px}section.party{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 18px;margin:16px 0}
.grid{display:flex;flex-wrap:wrap;gap:14px}svg.chart{border:1px solid #e3e3e3;border-radius:4px;background:#fff}
svg .ct{font-size:14px;font-weight:600;fill:#222}svg .cs{font-size:12px;fill:#555}svg .al{font-size:12px;fill:#333}
svg .grid line{stroke:#eee}svg .grid text{font-size:11px;fill:#555}svg .lg{font-size:11px;fill:#222}svg .ml{font-size:11px;fill:#333}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f0f2f5}table.num td{font-variant-numeric:tabular-nums}table.small{font-size:12px}
.cm{border:1px solid #e3e3e3;border-radius:4px;background:#fff;padding:10px 14px;width:430px;box-sizing:border-box}
table.confusion td{width:150px;height:48px;text-align:center;font-size:15px}td.good{background:#e3f4e3}td.bad{background:#fbe3e3}
.facts{color:#333;font-size:13px}footer{color:#777;font-size:12px;margin-top:24px}
)";

}  // namespace

std::string render_report(const ReportOptions& o) {
  const fs::path root(o.run_dir);
  if (!fs::is_directory(root)) throw invalid(o.run_dir + ": not a directory (give the train output directory, e.g. fatectl-out/<job>)");
  std::vector<PartyRun> runs;
  auto load = [&](const fs::path& dir) {
    PartyRun r;
    r.dir = dir.string();
    r.metrics = yaml::load_file((dir / "metrics.json").string());
    if (fs::exists(dir / "model.json")) r.model = yaml::load_file((dir / "model.json").string());
    r.role = r.model["role"] ? r.model["role"].Scalar() : "party";
    r.id = r.model["party"] ? r.model["party"].as<long>() : std::atol(dir.filename().string().c_str());
    runs.push_back(r);
  };
  YAML::Node arbiter;
  if (fs::exists(root / "metrics.json")) load(root);
  else {
    std::vector<fs::path> dirs;
    for (auto& e : fs::directory_iterator(root)) {
      if (!e.is_directory()) continue;
      if (fs::exists(e.path() / "metrics.json")) dirs.push_back(e.path());
      else if (fs::exists(e.path() / "summary.json")) arbiter = yaml::load_file((e.path() / "summary.json").string());
    }
    std::sort(dirs.begin(), dirs.end());
    for (auto& d : dirs) load(d);
  }
  if (runs.empty())
    throw invalid(o.run_dir + ": no metrics.json here or in a party subdirectory (train writes OUT/<party>/metrics.json; "
                  "is this the --out directory of a finished training?)");
  // Guest first. (Indices, not a sort of the runs: assigning a YAML::Node writes through it.)
  std::vector<size_t> order;
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].role == "guest") order.push_back(i);
  for (size_t i = 0; i < runs.size(); ++i)
    if (runs[i].role != "guest") order.push_back(i);
  const PartyRun& first = runs[order.front()];
  YAML::Node job = first.metrics["job_description"];
  std::string title = "Training report: " + scalar_text(first.metrics["job"]);
  std::string h = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + escape(title) +
                  "</title><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>" + kStyle +
                  "</style></head><body>";
  h += "<h1>" + escape(title) + "</h1><p class=\"sub\">" + escape(scalar_text(job["algorithm"])) +
       " · evaluation with FATE 1.11's definitions (ROC, KS, precision–recall, lift, gain, confusion matrix)</p>";
  for (size_t i : order) h += party_html(runs[i]);
  // Parties and parameters.
  h += "<section class=\"party\"><h2>Job</h2><h3>Parties</h3>";
  std::vector<std::vector<std::string>> prow;
  if (job["parties"])
    for (const auto& q : job["parties"]) {
      std::string files;
      for (const auto& f : q["data"]) files += (files.empty() ? "" : ", ") + f.Scalar();
      prow.push_back({scalar_text(q["id"]), scalar_text(q["role"]), files});
    }
  h += table({"party", "role", "data"}, prow);
  std::vector<std::pair<std::string, std::string>> given, eff;
  if (job["params"]) flatten(job["params"], "", given);
  if (job["effective"]) flatten(job["effective"], "", eff);
  std::vector<std::vector<std::string>> grow, erow;
  for (auto& [k, v] : given) grow.push_back({k, v});
  for (auto& [k, v] : eff) erow.push_back({k, v});
  h += "<div class=\"grid\"><div><h3>Parameters as written (algorithm.params)</h3>" + table({"parameter", "value"}, grow) +
       "</div><div><h3>Logistic regression parameters in effect</h3>" + table({"parameter", "value"}, erow) + "</div></div>";
  if (arbiter && arbiter["seed"])
    h += "<p class=\"facts\">" + escape("arbiter: " + scalar_text(arbiter["epochs"]) + " epochs, seed " + scalar_text(arbiter["seed"])) + "</p>";
  h += "</section><footer>" + escape(o.generator) + " · " + escape(o.run_dir) +
       " · one self-contained file: no scripts, no fonts or images from anywhere</footer></body></html>\n";
  return h;
}

std::string write_report(const ReportOptions& o) {
  std::string out = o.out_file.empty() ? (fs::path(o.run_dir) / "report.html").string() : o.out_file;
  std::string html = render_report(o);
  {
    std::ofstream f(out + ".tmp", std::ios::trunc | std::ios::binary);
    f << html;
    f.flush();
    if (!f) throw failed(out + ": cannot write the report");
  }
  fs::rename(out + ".tmp", out);
  return out;
}

}  // namespace fatectl::report
