// fatectl train / predict: federated logistic regression (hetero and homo) by party, or every
// party locally; registers the `hetero_lr` and `homo_lr` programs for `fatectl party serve`.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/party.h"
#include "fatectl/fed/job_status.h"
#include "fatectl/fed/program.h"
#include "fatectl/fed/run_control.h"
#include "fatectl/ml/rng.h"
#include "fatectl/ml/train.h"
#include "stdout_redirect.h"
#include "train_progress.h"

namespace fatectl::cli {
namespace {

namespace fs = std::filesystem;

// The party processes started by `fed::run_local` / `party serve` learn the output directory and
// mode from the environment set by `fatectl train` / `fatectl predict`.
constexpr const char* kEnvOut = "FATECTL_TRAIN_OUT";
constexpr const char* kEnvResume = "FATECTL_TRAIN_RESUME";
constexpr const char* kEnvMode = "FATECTL_TRAIN_MODE";          // train | predict
constexpr const char* kEnvCrash = "FATECTL_TRAIN_CRASH_AFTER";  // testing: "<party>:<epochs>"
constexpr const char* kEnvRetry = "FATECTL_TRAIN_RETRY";        // 1: --retry
constexpr const char* kEnvFail = "FATECTL_TRAIN_FAIL_AT";       // testing: "<party>:<epoch>:<batch>"
constexpr const char* kEnvLocal = "FATECTL_TRAIN_LOCAL";        // 1: `train --local` writes the report itself

std::string default_out(const fed::Job& job) { return "fatectl-out/" + job.id; }

std::string out_root_for(const fed::Job& job) {
  const char* e = std::getenv(kEnvOut);
  return fs::absolute(e && *e ? e : default_out(job)).string();
}

std::string fmt_num(double v, int prec = 6) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

/// The HTML report after training; a failure is a warning (the model and metrics are written).
void report_after_training(const std::string& dir) {
  try {
    std::string path = write_training_report(dir);
    std::printf("report: %s\n", path.c_str());
    std::fflush(stdout);
  } catch (const std::exception& e) {
    log::warn("training finished but the report was not written: {} (run `fatectl report {}`)", e.what(), dir);
  }
}

void print_metrics(const YAML::Node& m) {
  output::Table t;
  t.headers = {"data", "samples", "auc", "ks", "accuracy", "precision", "recall", "f1", "tp", "fp", "tn", "fn"};
  for (const char* k : {"train", "validate", "predict"}) {
    YAML::Node s = m[k];
    if (!s) continue;
    auto num = [&](const char* key) { return s[key] ? fmt_num(s[key].as<double>()) : std::string("n/a"); };  // one class: no AUC/KS
    auto count = [&](const char* key) { return s["confusion"] ? s["confusion"][key].Scalar() : std::string("-"); };
    t.rows.push_back({k, s["samples"].Scalar(), num("auc"), num("ks"), num("accuracy"), num("precision"), num("recall"),
                      num("f1"), count("tp"), count("fp"), count("tn"), count("fn")});
  }
  std::fputs(t.render().c_str(), stdout);
  // What the columns were measured at: the threshold (chosen on validation when asked) and the model kept.
  if (m["threshold"]) {
    std::string rule = m["threshold_rule"] ? m["threshold_rule"].Scalar() : "fixed";
    std::printf("threshold %s (%s)", fmt_num(m["threshold"].as<double>(), 4).c_str(),
                rule == "fixed" ? "predict_param.threshold" : (rule + " on the validation data").c_str());
    if (m["best_iteration"])
      std::printf(", model of iteration %s%s", m["best_iteration"].Scalar().c_str(),
                  m["early_stopped"] && m["early_stopped"].as<bool>() ? " (early stopping)" : " (best validation)");
    std::printf("\n");
  }
  std::fflush(stdout);
}

/// The party's status record (OUT/<party>/status.json, kept by the party runtime) and --retry:
/// a retry needs an earlier run to pick up and says what it picks up.
void keep_status(const fed::Job& fjob, const ml::MlJob& job, long party, ml::RunOptions& o) {
  std::string path = o.out_dir + "/status.json";
  std::optional<fed::PartyStatus> prev;
  try {
    prev = fed::read_party_status(path);
  } catch (const Error& e) {
    log::warn("{} (a new record replaces it)", e.what());
  }
  const char* r = std::getenv(kEnvRetry);
  if (r && std::string(r) == "1") {
    std::error_code ec;
    if (!prev && !fs::exists(o.out_dir + "/checkpoint", ec))
      throw invalid("nothing to retry: " + o.out_dir + " holds no earlier run of job " + fjob.id + " by party " +
                    std::to_string(party) + " (no status.json, no checkpoint/); check --out, or start without --retry");
    o.resume = true;
    std::printf("retrying job %s as party %ld (attempt %d); the last run %s\n", fjob.id.c_str(), party,
                prev ? prev->attempt + 1 : 2, prev ? prev->summary().c_str() : "left checkpoints but no status record");
    std::fflush(stdout);
  }
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (fed::RunControl* rc = fed::RunControl::current()) rc->keep_status(path, job.role_of(party), prev ? prev->attempt + 1 : 1);
}

/// A party's line for the operator (id alignment counts), on stdout.
void print_note(long, const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> l(mu);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void print_epoch(const ml::EpochReport& e) {
  std::printf("epoch %ld/%ld  loss %s  elapsed %.2fs%s\n", e.epoch, e.max_iter,
              e.has_loss ? fmt_num(e.loss, 8).c_str() : "n/a", e.elapsed_s, e.converged ? "  converged" : "");
  std::fflush(stdout);
}

/// After predict: where the scores are, and the metrics table when the data had labels.
void print_predict_summary(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir + "/predict-metrics.json", ec)) print_metrics(yaml::load_file(dir + "/predict-metrics.json"));
  std::printf("predictions: %s/predictions.csv%s\n", dir.c_str(),
              fs::exists(dir + "/predict-metrics.json", ec) ? ("  metrics: " + dir + "/predict-metrics.json").c_str()
                                                            : "  (no labels: no metrics)");
  std::fflush(stdout);
}

/// The one document `train`/`predict` print with -o json|yaml: what ran, how each party ended,
/// where the outputs are, and the guest's metrics.
YAML::Node result_document(const ml::MlJob& job, const char* mode, const std::string& out_root, int rc,
                           const std::vector<fed::LocalPartyResult>* parties, long only_party) {
  YAML::Node n(YAML::NodeType::Map);
  n["job"] = yaml::str(job.id);
  n["command"] = yaml::str(mode);
  n["ok"] = rc == 0;
  n["exitCode"] = rc;
  n["out"] = yaml::str(out_root);
  if (parties) {
    n["parties"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& p : *parties) {
      YAML::Node e(YAML::NodeType::Map);
      e["party"] = p.party;
      e["role"] = yaml::str(p.role);
      e["result"] = yaml::str(p.how);
      if (!p.log.empty()) e["log"] = yaml::str(p.log);
      n["parties"].push_back(e);
    }
  }
  long who = only_party ? only_party : job.guest;
  if (only_party) {
    n["party"] = only_party;
    n["role"] = yaml::str(job.role_of(only_party));
  }
  std::string dir = out_root + "/" + std::to_string(who);
  std::error_code ec;
  auto add = [&](const char* key, const std::string& file, bool parse) {
    if (!fs::exists(dir + "/" + file, ec)) return;
    n[key]["file"] = yaml::str(dir + "/" + file);
    if (parse) n[key]["content"] = yaml::load_file(dir + "/" + file);
  };
  if (std::string(mode) == "predict") {
    add("predictions", "predictions.csv", false);
    add("metrics", "predict-metrics.json", true);
  } else if (rc == 0) {
    add("model", "model.json", false);
    add("metrics", "metrics.json", true);
  }
  return n;
}

/// The program `party serve` runs for algorithm.name hetero_lr / homo_lr.
int lr_program(const fed::Job& fjob, long party, fed::Channel& ch) {
  ml::MlJob job = ml::MlJob::from_job(fjob);
  ml::RunOptions o;
  std::string root = out_root_for(fjob);
  o.out_dir = root + "/" + std::to_string(party);
  const char* r = std::getenv(kEnvResume);
  o.resume = r && std::string(r) == "1";
  if (const char* c = std::getenv(kEnvCrash)) {
    std::string s = c;
    auto colon = s.find(':');
    if (colon != std::string::npos && std::atol(s.substr(0, colon).c_str()) == party)
      o.stop_after_epochs = std::atol(s.substr(colon + 1).c_str());
  }
  if (const char* f = std::getenv(kEnvFail)) {
    long fp = 0, fe = 0, fb = 0;
    if (std::sscanf(f, "%ld:%ld:%ld", &fp, &fe, &fb) >= 2 && fp == party) o.fail_at = {fe, fb};
  }
  const bool is_guest = party == job.guest;
  const char* mode = std::getenv(kEnvMode);
  const bool predicting = mode && std::string(mode) == "predict";
  if (!predicting) keep_status(fjob, job, party, o);
  std::mutex mu;
  std::optional<TrainProgress> progress;
  if (is_guest) progress.emplace();
  o.on_epoch = [&](const ml::EpochReport& e) {
    if (!is_guest) return;
    std::lock_guard<std::mutex> l(mu);
    progress->epoch_done();
    print_epoch(e);
  };
  o.on_progress = [&](const ml::ProgressReport& r) {
    if (is_guest) progress->update(r);
  };
  o.on_note = print_note;
  if (predicting) {
    ml::predict_party(job, party, ch, o, o.out_dir);
    if (is_guest) print_predict_summary(o.out_dir);
    return 0;
  }
  ml::train_party(job, party, ch, o);
  progress.reset();
  if (is_guest || (job.algorithm == ml::Algorithm::HomoLr && party != job.arbiter)) {
    YAML::Node m = yaml::load_file(o.out_dir + "/metrics.json");
    if (is_guest) {
      print_metrics(m);
      std::printf("model: %s/model.json  metrics: %s/metrics.json\n", o.out_dir.c_str(), o.out_dir.c_str());
    }
    const char* local = std::getenv(kEnvLocal);
    if (!(local && std::string(local) == "1")) report_after_training(o.out_dir);
  }
  return 0;
}

struct TrainArgs {
  std::string job_file;
  long party = 0;
  bool local = false;
  bool in_process = false;
  bool resume = false;
  bool retry = false;
  std::string out;
  std::string run_dir;
};

void set_env(const TrainArgs& a, const fed::Job& job, const char* mode) {
  std::string out = fs::absolute(a.out.empty() ? default_out(job) : a.out).string();
  ::setenv(kEnvOut, out.c_str(), 1);
  ::setenv(kEnvResume, a.resume || a.retry ? "1" : "0", 1);
  ::setenv(kEnvRetry, a.retry ? "1" : "0", 1);
  ::setenv(kEnvMode, mode, 1);
  ::setenv(kEnvLocal, a.local ? "1" : "0", 1);
}

void run_cmd(const TrainArgs& a, GlobalOptions& g, const char* mode) {
  fed::Job fjob = fed::load_job(a.job_file);
  ml::MlJob job = ml::MlJob::from_job(fjob);  // validates the learning settings up front (exit 2)
  if (a.local == (a.party != 0)) throw invalid(std::string(mode) + ": give either --local or --party-id");
  set_env(a, fjob, mode);
  const std::string out = std::getenv(kEnvOut);
  const bool document = g.format() != output::Format::Table;  // -o json|yaml: one document on stdout
  const bool predict = std::string(mode) == "predict";
  int rc = 0;
  std::vector<fed::LocalPartyResult> parties;
  if (a.retry) {  // refuse before any party starts when there is nothing to pick up
    for (long p : fjob.party_ids()) {
      if (a.party != 0 && p != a.party) continue;
      std::string dir = out + "/" + std::to_string(p);
      std::error_code ec;
      if (!fs::exists(dir + "/status.json", ec) && !fs::exists(dir + "/checkpoint", ec))
        throw invalid("nothing to retry: " + dir + " holds no earlier run of job " + fjob.id + " by party " +
                      std::to_string(p) + " (no status.json, no checkpoint/); check --out, or start without --retry");
    }
  }
  if (a.local && a.in_process) {
    std::pair<long, long> crash{0, 0};  // testing: FATECTL_TRAIN_CRASH_AFTER=<party>:<epochs>
    if (const char* c = std::getenv(kEnvCrash)) {
      std::string cs = c;
      auto colon = cs.find(':');
      if (colon != std::string::npos) crash = {std::atol(cs.substr(0, colon).c_str()), std::atol(cs.substr(colon + 1).c_str())};
    }
    {
      StdoutToStderr redirect(document);
      std::mutex mu;
      TrainProgress progress;
      ml::run_local(
          job, out, a.resume || a.retry, predict,
          [&](const ml::EpochReport& e) {
            if (e.party != job.guest) return;
            std::lock_guard<std::mutex> l(mu);
            progress.epoch_done();
            print_epoch(e);
          },
          crash.second, {}, crash.first, [&](const ml::ProgressReport& r) { progress.update(r); }, print_note);
    }
    std::string gdir = out + "/" + std::to_string(job.guest);
    if (document) {
      if (!predict) {
        StdoutToStderr redirect(true);  // stdout holds the one document
        report_after_training(out);
      }
      output::print(g.format(), result_document(job, mode, out, 0, nullptr, 0));
    } else if (predict) {
      print_predict_summary(gdir);
    } else {
      print_metrics(yaml::load_file(gdir + "/metrics.json"));
      std::printf("model: %s/model.json  metrics: %s/metrics.json\n", gdir.c_str(), gdir.c_str());
      report_after_training(out);
    }
    return;
  }
  if (a.local) {
    fed::LocalRunOptions o;
    o.job_file = a.job_file;
    o.run_dir = a.run_dir;
    for (int i = 0; i < g.verbosity; ++i) o.global_args.push_back("-v");
    if (g.quiet) o.global_args.push_back("-q");
    o.global_args.push_back("--no-color");
    o.color = !g.no_color && std::getenv("NO_COLOR") == nullptr && isatty(1);
    o.results = &parties;
    {
      StdoutToStderr redirect(document);
      rc = fed::run_local(o);
    }
    if (rc == 0 && std::string(mode) == "train") {
      StdoutToStderr redirect(document);  // stdout holds the one document
      report_after_training(std::getenv(kEnvOut));
    }
    if (document) output::print(g.format(), result_document(job, mode, out, rc, &parties, 0));
    if (rc != 0) throw ExitCode{rc};
    return;
  }
  fed::ServeOptions s;
  s.job_file = a.job_file;
  s.party = a.party;
  {
    StdoutToStderr redirect(document);
    rc = fed::serve_party(s);
  }
  if (document) output::print(g.format(), result_document(job, mode, out, rc, nullptr, a.party));
  if (rc != 0) throw ExitCode{rc};
}

// ---- fatectl bench lr ------------------------------------------------------------------------

struct LrBenchOptions {
  std::string data = "breast";  ///< breast | generated
  std::string guest_file = "examples/data/breast_hetero_guest.csv";
  std::string host_file = "examples/data/breast_hetero_host.csv";
  unsigned bits = 2048;
  long rows = 100000;
  int guest_features = 30, host_features = 300;
  long epochs = 2;
  unsigned threads = 0;
  std::string obfuscation = "fixed-base";
};

/// A synthetic hetero set of FATE's benchmark shape: standard-normal features, labels from a
/// random linear model plus noise (seeded, so every run trains on the same data).
std::pair<std::shared_ptr<ml::Dataset>, std::shared_ptr<ml::Dataset>> generate_hetero(long rows, int fg, int fh) {
  auto g = std::make_shared<ml::Dataset>(), h = std::make_shared<ml::Dataset>();
  g->file = "<generated guest>";
  h->file = "<generated host>";
  ml::Rng r(2024, "bench/lr/data");
  std::vector<double> beta(fg + fh);
  for (auto& b : beta) b = r.normal() / std::sqrt(static_cast<double>(fg + fh));
  for (int j = 0; j < fg; ++j) g->feature_names.push_back("x" + std::to_string(j));
  for (int j = 0; j < fh; ++j) h->feature_names.push_back("x" + std::to_string(j));
  g->x.resize(static_cast<size_t>(rows) * fg);
  h->x.resize(static_cast<size_t>(rows) * fh);
  for (long i = 0; i < rows; ++i) {
    double z = 0;
    for (int j = 0; j < fg; ++j) z += beta[j] * (g->x[i * fg + j] = r.normal());
    for (int j = 0; j < fh; ++j) z += beta[fg + j] * (h->x[i * fh + j] = r.normal());
    std::string id = std::to_string(i);
    g->ids.push_back(id);
    h->ids.push_back(id);
    g->labels.push_back(z + 0.5 * r.normal() > 0 ? 1.0 : 0.0);
  }
  return {g, h};
}

void bench_lr(const LrBenchOptions& o, GlobalOptions& g) {
  ml::MlJob job;
  job.file = "<bench lr>";
  job.id = "bench-lr";
  job.algorithm = ml::Algorithm::HeteroLr;
  job.guest = 9999;
  job.hosts = {10000};
  job.arbiter = 10001;
  job.timeout = std::chrono::hours(2);
  ml::LrParams& p = job.params;
  p.key_length = o.bits;
  p.allow_insecure_key_size = true;
  p.obfuscation = o.obfuscation;
  p.max_iter = o.epochs;
  p.optimizer = ml::OptimizerKind::NesterovMomentumSgd;
  p.learning_rate = 0.15;
  p.alpha = 0.01;
  p.tol = 0;
  p.init_method = ml::InitMethod::Zeros;
  p.random_seed = 1;
  p.threads = o.threads;
  std::map<long, std::shared_ptr<const ml::Dataset>> data;
  std::string shape;
  if (o.data == "breast") {
    ml::DataSpec gs, hs;
    gs.path = o.guest_file;
    gs.with_label = true;
    hs.path = o.host_file;
    data[job.guest] = std::make_shared<ml::Dataset>(ml::load_csv(gs));
    data[job.hosts[0]] = std::make_shared<ml::Dataset>(ml::load_csv(hs));
  } else {
    log::info("generating {} rows × ({} + {}) features", o.rows, o.guest_features, o.host_features);
    auto [gd, hd] = generate_hetero(o.rows, o.guest_features, o.host_features);
    data[job.guest] = gd;
    data[job.hosts[0]] = hd;
  }
  shape = std::to_string(data[job.guest]->rows()) + " rows, guest " + std::to_string(data[job.guest]->cols()) +
          " + host " + std::to_string(data[job.hosts[0]]->cols()) + " features";
  job.data[job.guest] = {"<bench>"};
  job.data[job.hosts[0]] = {"<bench>"};
  char tmpl[] = "/tmp/fatectl-bench-lr-XXXXXX";
  if (!::mkdtemp(tmpl)) throw failed("cannot create a temporary directory");
  std::string out = tmpl;
  std::vector<double> epoch_s;
  std::mutex mu;
  auto process_cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
  };
  const double cpu0 = process_cpu();
  auto t0 = std::chrono::steady_clock::now();
  ml::run_local(
      job, out, false, false,
      [&](const ml::EpochReport& e) {
        if (e.party != job.guest) return;
        std::lock_guard<std::mutex> l(mu);
        epoch_s.push_back(e.epoch_s);
        log::info("epoch {}: {:.3f} s", e.epoch, e.epoch_s);
      },
      0, data);
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // CPU time of every party together (setup and key generation included): on a shared machine
  // cpu_seconds_total / seconds_total says how many cores the run actually got.
  const double cpu_total = process_cpu() - cpu0;
  double per_epoch = 0;
  for (double s : epoch_s) per_epoch += s;
  per_epoch /= std::max<size_t>(1, epoch_s.size());
  YAML::Node root;
  root["benchmark"] = "hetero_lr";
  root["data"] = o.data == "breast" ? "breast_hetero" : "generated";
  root["shape"] = shape;
  root["key_bits"] = o.bits;
  root["obfuscation"] = o.obfuscation;
  root["threads"] = o.threads ? o.threads : std::thread::hardware_concurrency();
  root["epochs"] = epoch_s.size();
  root["seconds_per_epoch"] = per_epoch;
  root["seconds_total"] = total;
  root["cpu_seconds_total"] = cpu_total;
  root["cores_used"] = total > 0 ? cpu_total / total : 0.0;
  YAML::Node m = yaml::load_file(out + "/" + std::to_string(job.guest) + "/metrics.json");
  root["train_auc"] = m["train"]["auc"];
  output::Table t;
  t.headers = {"party", "phase", "seconds"};
  for (long party : {job.guest, job.hosts[0], job.arbiter}) {
    std::string role = job.role_of(party);
    YAML::Node tm = yaml::load_file(out + "/" + std::to_string(party) + "/timings.json");
    for (auto it = tm.begin(); it != tm.end(); ++it) {
      root["phases"][role][it->first.Scalar()] = it->second;
      t.rows.push_back({role, it->first.Scalar(), fmt_num(it->second.as<double>(), 3)});
    }
  }
  std::error_code ec;
  fs::remove_all(out, ec);
  if (g.format() == output::Format::Table) {
    std::printf("hetero LR, %s, %u-bit key (%s), %s threads: %.3f s per epoch over %zu epochs (total %.2f s, train AUC %s)\n",
                shape.c_str(), o.bits, o.obfuscation.c_str(), root["threads"].Scalar().c_str(), per_epoch, epoch_s.size(),
                total, fmt_num(root["train_auc"].as<double>(), 4).c_str());
    std::printf("CPU time, all parties: %.2f s over %.2f s wall (%.2f cores used on average)\n", cpu_total, total,
                total > 0 ? cpu_total / total : 0.0);
    std::fputs(t.render().c_str(), stdout);
  } else {
    output::print(g.format(), root);
  }
}

void add_bench_lr(CLI::App& root, GlobalOptions& g) {
  auto o = std::make_shared<LrBenchOptions>();
  CLI::App* b = bench_command(root)->add_subcommand("lr", "Seconds per epoch of hetero LR (guest, host, arbiter in this process)");
  b->add_option("--data", o->data, "breast (the bundled breast_hetero files) or generated (FATE's benchmark shape)")
      ->check(CLI::IsMember({"breast", "generated"}))
      ->capture_default_str();
  b->add_option("--bits", o->bits, "Paillier key size")->capture_default_str();
  b->add_option("--epochs", o->epochs, "epochs to time (the mean is reported)")->capture_default_str();
  b->add_option("--rows", o->rows, "generated: rows")->capture_default_str();
  b->add_option("--guest-features", o->guest_features, "generated: guest features")->capture_default_str();
  b->add_option("--host-features", o->host_features, "generated: host features")->capture_default_str();
  b->add_option("--threads", o->threads, "worker threads per party (0 = all cores)")->capture_default_str();
  b->add_option("--obfuscation", o->obfuscation, "fixed-base or textbook")
      ->check(CLI::IsMember({"fixed-base", "textbook"}))
      ->capture_default_str();
  b->add_option("--guest-data", o->guest_file, "breast: guest CSV")->capture_default_str();
  b->add_option("--host-data", o->host_file, "breast: host CSV")->capture_default_str();
  b->footer(
      "Full-batch hetero LR (FATE's benchmark settings) with every party as a thread of this process,\n"
      "in-memory channels; prints seconds per epoch (setup and key generation excluded) and where the\n"
      "time goes per party (encrypt, kernel = Σ x·[[d]], decrypt, wait = blocked on a peer).\n\n"
      "Examples:\n"
      "  fatectl bench lr --bits 2048                          # breast, the issue's ≤ 1.5 s target\n"
      "  fatectl bench lr --data generated --bits 1024 --epochs 1   # 100k rows, 30 + 300 features\n"
      "  fatectl bench lr -o json\n");
  b->callback([o, &g] { bench_lr(*o, g); });
}

}  // namespace

void add_train_commands(CLI::App& root, GlobalOptions& g) {
  add_bench_lr(root, g);
  fed::register_program("hetero_lr", "hetero (vertical) logistic regression with Paillier, FATE 1.11 protocol", lr_program);
  fed::register_program("homo_lr", "homo (horizontal) logistic regression with secure aggregation", lr_program);

  auto a = std::make_shared<TrainArgs>();
  CLI::App* train = root.add_subcommand("train", "Train federated logistic regression (hetero_lr or homo_lr) from a job file");
  train->add_option("--job", a->job_file, "job file (docs/job-file.md; algorithm.name hetero_lr or homo_lr)")->required();
  train->add_option("--party-id", a->party, "run only this party (one per site; the others run theirs)");
  train->add_flag("--local", a->local, "run every party of the job on this machine, each as its own process");
  train->add_flag("--in-process", a->in_process, "with --local: run the parties as threads of this process (no TLS)");
  train->add_flag("--resume", a->resume, "continue from the last epoch every party has checkpointed");
  train->add_flag("--retry", a->retry,
                  "pick up a failed job from its last checkpoint (like --resume; refuses when OUT holds no earlier "
                  "run; see `fatectl job status OUT`)");
  train->add_option("--out", a->out, "output directory; party P writes to OUT/P/ (default: fatectl-out/<job id>)");
  train->add_option("--run-dir", a->run_dir,
                    "with --local: directory for the parties' logs and certificates, kept (default: a temporary "
                    "one, removed after success with its throwaway CA)");
  train->footer(
      "Each party writes OUT/<party>/: model.json (its part of the model), metrics.json (guest and homo\n"
      "clients), train.log, and checkpoint/epoch-N.yaml after every epoch. The guest prints one line per\n"
      "epoch and the metrics (AUC, KS, accuracy, precision, recall, F1, confusion) at the end, and writes\n"
      "OUT/report.html (with --party-id: OUT/<party>/report.html): FATE's ROC, KS, PR, lift and gain curves,\n"
      "the loss per epoch and the confusion matrix as one self-contained HTML page (`fatectl report`).\n"
      "Data preparation (data_transform, feature_scale), class_weight/sample_weight and validation\n"
      "(validation_freqs, early_stopping_rounds, choose_threshold) go in algorithm.params.\n"
      "Failures (docs/training.md): a party that fails tells the others, which stop at once with exit\n"
      "code 5 naming the party, the step and the reason; a party killed without a word is reported after\n"
      "transport.peerDeadTimeout; an Exchange outage is ridden out until the job's timeout. A party\n"
      "restarted with --resume while the others still run rejoins them (all go back to the last\n"
      "checkpoint they share). After a failure, start every party with --retry; each writes\n"
      "OUT/<party>/status.json (running / failed at step S: reason / succeeded), shown by\n"
      "`fatectl job status OUT`. Resumed or retried runs end with the same model as an uninterrupted one.\n"
      "Parameters use FATE 1.11's names and defaults (docs/training.md). Hetero jobs first align ids privately\n"
      "(ECDH PSI; intersect_method, min_intersect_rows, min_intersect_ratio: docs/psi.md) and every party prints\n"
      "how many of its rows are common; data that would leak the label is refused (exit 2) before any key exists.\n\n"
      "Examples:\n"
      "  fatectl train --local --job examples/jobs/hetero-breast.yaml\n"
      "  fatectl train --local --job examples/jobs/homo-breast.yaml --out runs/homo\n"
      "  fatectl train --local --job examples/jobs/homo-fraud.yaml   # after: fatectl data synth --out examples/data/fraud\n"
      "  fatectl train --job job.yaml --party-id 10000          # this site's party only\n"
      "  fatectl train --job job.yaml --party-id 10000 --resume # rejoin the others after a crash\n"
      "  fatectl train --job job.yaml --party-id 10000 --retry  # on every party, after the job failed\n"
      "  fatectl job status fatectl-out/<job id>                # where each party stands\n");
  train->callback([a, &g] { run_cmd(*a, g, "train"); });

  auto p = std::make_shared<TrainArgs>();
  CLI::App* predict = root.add_subcommand("predict", "Score data with a model trained by `fatectl train`");
  predict->add_option("--job", p->job_file, "the job file the model was trained with")->required();
  predict->add_option("--party-id", p->party, "run only this party");
  predict->add_flag("--local", p->local, "run every party on this machine, each as its own process");
  predict->add_flag("--in-process", p->in_process, "with --local: run the parties as threads of this process");
  predict->add_option("--out", p->out, "the training output directory (default: fatectl-out/<job id>)");
  predict->add_option("--run-dir", p->run_dir,
                      "with --local: directory for the parties' logs and certificates, kept (default: a temporary "
                      "one, removed after success with its throwaway CA)");
  predict->footer(
      "Each party loads its own model part from OUT/<party>/model.json and scores its data[1] (the\n"
      "validation file) if the job lists one, else data[0], after the preparation fitted in training\n"
      "(fill, outliers, scaling; applied unchanged). Hetero: the ids are aligned as in training (the job's\n"
      "intersect_method, ECDH PSI by default: docs/psi.md; every party prints how many of its rows are\n"
      "common), then hosts send X·w for the common ids (in the clear, as FATE does) and the guest writes\n"
      "OUT/<guest>/predictions.csv; homo: every client scores its own rows. Columns (FATE's): id, label\n"
      "(the true label, when the data has one), predict_result (score > the model's threshold),\n"
      "predict_score; with labels also predict-metrics.json.\n\n"
      "Examples:\n"
      "  fatectl predict --local --job examples/jobs/hetero-breast.yaml\n"
      "  fatectl predict --job job.yaml --party-id 9999\n");
  predict->callback([p, &g] { run_cmd(*p, g, "predict"); });
}

}  // namespace fatectl::cli
