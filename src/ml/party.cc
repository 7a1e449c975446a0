#include "party.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/run_control.h"

namespace fs = std::filesystem;

namespace fatectl::ml::detail {

Party::Party(const MlJob& j, long s, fed::Channel& ch, const RunOptions& o)
    : job(j), self(s), opts(o), pool(j.params.threads), ch_(ch), start_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  fs::create_directories(opts.out_dir + "/checkpoint", ec);
  if (ec) throw failed(opts.out_dir + ": cannot create the party's output directory: " + ec.message());
  log_.open(opts.out_dir + "/train.log", std::ios::app);
  step_ = "setup";
  fed::note_step(step_);
}

std::string step_of(const std::string& name) {
  // "<proto>/e<epoch>[/b<batch>]/..." with 0-based numbers
  auto number_after = [&](const std::string& key) -> long {
    auto at = name.find(key);
    if (at == std::string::npos) return -1;
    size_t i = at + key.size(), j = i;
    while (j < name.size() && j - i < 12 && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
    if (j == i || (j < name.size() && name[j] != '/')) return -1;
    return std::atol(name.substr(i, j - i).c_str());
  };
  long e = number_after("/e");
  if (e >= 0) {
    long b = number_after("/b");
    std::string s = "epoch " + std::to_string(e + 1);
    if (b >= 0) s += ", batch " + std::to_string(b + 1);
    return s;
  }
  if (name.find("/ids") != std::string::npos || name.find("/order") != std::string::npos) return "id alignment";
  if (name.find("predict") != std::string::npos) return "prediction";
  if (name.find("/wx") != std::string::npos || name.find("/eval/") != std::string::npos) return "evaluation";
  return "setup";
}

void Party::track(const std::string& name) {
  std::string step = step_of(name);
  if (step == step_) return;
  step_ = step;
  fed::note_step(step);
  if (opts.fail_at.first > 0) {
    std::string at = "epoch " + std::to_string(opts.fail_at.first);
    if (opts.fail_at.second > 0) at += ", batch " + std::to_string(opts.fail_at.second);
    if (step == at)
      throw failed("data error at " + at + " (injected for testing by FATECTL_TRAIN_FAIL_AT)");
  }
}

void Party::send(long to, const std::string& name, const std::string& payload) {
  track(name);
  ch_.send(to, name, payload);
}

std::string Party::recv(long from, const std::string& name) {
  track(name);
  Timer t{*this, "wait"};
  auto deadline = std::chrono::steady_clock::now() + job.timeout;
  const auto slice = std::chrono::milliseconds(200);
  for (;;) {
    if (opts.cancel && opts.cancel->load()) {
      // A message the failed party sent before it stopped (a verdict saying why) is still read.
      try {
        return ch_.recv(from, name, std::chrono::milliseconds(0));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Timeout) throw;
      }
      throw Relayed(ErrorKind::Failed, "party " + std::to_string(self) + ": stopped because another party failed");
    }
    auto now = std::chrono::steady_clock::now();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (left.count() <= 0)
      throw timed_out("party " + std::to_string(self) + " (" + job.role_of(self) + "): no message '" + name +
                      "' from party " + std::to_string(from) + " (" + job.role_of(from) + ") within the job timeout");
    try {
      return ch_.recv(from, name, opts.cancel ? std::min(left, slice) : left);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Timeout) throw;
      if (!opts.cancel) throw timed_out("party " + std::to_string(self) + " (" + job.role_of(self) + "): no message '" +
                                        name + "' from party " + std::to_string(from) + " (" + job.role_of(from) +
                                        ") within the job timeout");
    }
  }
}

void Party::flush() {
  try {
    ch_.flush(std::min<std::chrono::milliseconds>(job.timeout, std::chrono::seconds(30)));
  } catch (const Error&) {
    // best effort: the verdict is a courtesy to the peers; this party fails anyway
  }
}

void Party::log(const std::string& line) {
  std::lock_guard<std::mutex> l(log_mu_);
  std::ostringstream ts;
  ts << std::fixed << std::setprecision(3) << elapsed();
  log_ << "[" << ts.str() << "s] " << line << "\n";
  log_.flush();
  log::debug("party {}: {}", self, line);
}

double Party::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

long Party::checkpoint_epochs() {
  std::vector<long> have;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(opts.out_dir + "/checkpoint", ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind("epoch-", 0) == 0 && n.size() > 11 && n.substr(n.size() - 5) == ".yaml") {
      long k = std::atol(n.substr(6, n.size() - 11).c_str());
      if (k > 0) have.push_back(k);
    }
  }
  std::sort(have.rbegin(), have.rend());
  // The parties go back to the smallest count reported, which may be up to two epochs below this
  // party's: a count is reported only when it and the (kept) ones up to two below it can be read.
  std::vector<long> bad;
  for (long k : have) {
    try {
      load_checkpoint(k);
    } catch (const Error& e) {
      bad.push_back(k);
      log(std::string("checkpoint unusable: ") + e.what());
      log::warn("party {}: {}; {}", self, e.what(),
                k == have.back() ? "no older checkpoint: this party reports none (the parties start from scratch)"
                                 : "trying the one before it");
    }
  }
  auto is_bad = [&](long k) { return std::find(bad.begin(), bad.end(), k) != bad.end(); };
  for (long k : have) {
    if (is_bad(k)) continue;
    if (is_bad(k - 1) || is_bad(k - 2)) {
      long b = is_bad(k - 1) ? k - 1 : k - 2;
      std::string line = "checkpoint/epoch-" + std::to_string(k) + ".yaml is readable but the parties may go back to epoch " +
                         std::to_string(b) + ", whose checkpoint is not: reporting an older one";
      log(line);
      log::warn("party {}: {}", self, line);
      continue;
    }
    return k;
  }
  if (!bad.empty()) log::warn("party {}: no usable checkpoint: this party reports none (the parties start from scratch)", self);
  return 0;
}

YAML::Node Party::load_checkpoint(long epochs) const {
  std::string path = opts.out_dir + "/checkpoint/epoch-" + std::to_string(epochs) + ".yaml";
  if (!fs::exists(path))
    throw failed(path + ": checkpoint missing; the parties' usable checkpoints are more than two epochs apart (start again without --resume)");
  YAML::Node n;
  try {
    n = yaml::load_file(path);
  } catch (const Error& e) {
    throw failed(path + ": checkpoint unreadable (" + e.what() + ")");
  }
  try {
    if (!n.IsMap() || !n["epochs"] || n["epochs"].as<long>() != epochs || !n["job"] || n["job"].Scalar() != job.id ||
        !n["party"] || n["party"].as<long>() != self)
      throw failed(path + ": not the checkpoint of party " + std::to_string(self) + " of job " + job.id + " after epoch " +
                   std::to_string(epochs));
  } catch (const YAML::Exception& e) {
    throw failed(path + ": checkpoint unreadable (" + e.msg + ")");
  }
  return n;
}

void Party::save_checkpoint(long epochs, const YAML::Node& state) {
  std::string dir = opts.out_dir + "/checkpoint";
  YAML::Node n = state;
  n["epochs"] = epochs;
  n["job"] = job.id;
  n["party"] = self;
  std::string path = dir + "/epoch-" + std::to_string(epochs) + ".yaml";
  {
    std::ofstream f(path + ".tmp", std::ios::trunc);
    f << yaml::to_json(n, false) << "\n";
    f.flush();
    if (!f) throw failed(path + ": cannot write checkpoint");
  }
  fs::rename(path + ".tmp", path);
  fed::note_checkpoint("epoch " + std::to_string(epochs));
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    std::string fn = e.path().filename().string();
    if (fn.rfind("epoch-", 0) == 0 && fn.size() > 11 && fn.substr(fn.size() - 5) == ".yaml") {
      long k = std::atol(fn.substr(6, fn.size() - 11).c_str());
      // The four newest: a party with one unreadable checkpoint reports two below its newest (the
      // parties may go back past it), and another party may be one epoch ahead of it.
      if (k < epochs - 3 || k > epochs) fs::remove(e.path(), ec);
    }
  }
}

void Party::write_file(const std::string& name, const std::string& text) const {
  std::string path = opts.out_dir + "/" + name;
  {
    std::ofstream f(path + ".tmp", std::ios::trunc);
    f << text;
    if (!f) throw failed(path + ": cannot write");
  }
  fs::rename(path + ".tmp", path);
}

void Party::report_epoch(long epochs, bool has_loss, double loss, bool converged) {
  EpochReport r;
  r.party = self;
  r.epoch = epochs;
  r.max_iter = job.params.max_iter;
  r.has_loss = has_loss;
  r.loss = loss;
  r.elapsed_s = elapsed();
  r.epoch_s = r.elapsed_s - last_mark_;
  last_mark_ = r.elapsed_s;
  r.converged = converged;
  std::ostringstream s;
  s << "epoch " << epochs << "/" << job.params.max_iter;
  if (has_loss) s << " loss " << std::setprecision(10) << loss;
  if (converged) s << " converged";
  log(s.str());
  if (opts.on_epoch) opts.on_epoch(r);
}

void Party::report_progress(long epoch, size_t batch, size_t batches, size_t rows_done, size_t rows_total) {
  if (!opts.on_progress) return;
  ProgressReport r;
  r.party = self;
  r.epoch = epoch + 1;
  r.max_iter = job.params.max_iter;
  r.batch = batch;
  r.batches = batches;
  r.rows_done = rows_done;
  r.rows_total = rows_total;
  r.elapsed_s = elapsed();
  opts.on_progress(r);
}

void Party::maybe_stop(long epochs) const {
  if (opts.stop_after_epochs > 0 && epochs >= opts.stop_after_epochs) {
    std::fflush(nullptr);
    std::_Exit(9);
  }
}

Dataset Party::training_data() const {
  if (opts.train_data) return *opts.train_data;
  return load_csv(job.data_spec(self, 0));
}

void Party::add_time(const std::string& phase, double seconds) {
  std::lock_guard<std::mutex> l(log_mu_);
  times_[phase] += seconds;
}

void Party::write_timings() {
  YAML::Node n;
  {
    std::lock_guard<std::mutex> l(log_mu_);
    for (auto& [k, v] : times_) n[k] = v;
  }
  n["total"] = elapsed();
  write_file("timings.json", yaml::to_json(n) + "\n");
}

YAML::Node to_seq(const std::vector<double>& v) {
  YAML::Node n(YAML::NodeType::Sequence);
  for (double x : v) {
    std::ostringstream s;
    s << std::setprecision(17) << x;
    n.push_back(YAML::Node(s.str()));
  }
  return n;
}

std::vector<double> from_seq(const YAML::Node& n) {
  std::vector<double> v;
  for (const auto& x : n) v.push_back(std::strtod(x.Scalar().c_str(), nullptr));
  return v;
}

uint64_t fresh_seed() {
  uint64_t s = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&s), sizeof s) != 1) throw failed("OpenSSL RAND_bytes failed");
  return s >> 1;  // keep it a non-negative YAML integer
}

}  // namespace fatectl::ml::detail
