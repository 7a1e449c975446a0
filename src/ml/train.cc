#include "fatectl/ml/train.h"

#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "protocols.h"

namespace fatectl::ml {
namespace {

/// Cross-checks of preparation, weights and validation against the algorithm and the parties' files.
void check_training_settings(const MlJob& m, const fed::Job& job) {
  const bool homo = m.algorithm == Algorithm::HomoLr;
  auto at = [&](const char* key) {
    YAML::Node n = job.params.IsMap() ? job.params[key] : YAML::Node();
    return n ? yaml::where(n, job.file) : job.params_where;
  };
  if (m.prep.statistics == StatsScope::Federated) {
    if (!homo)
      throw invalid_at(at("homo_statistics"), "algorithm.params.homo_statistics",
                       "applies to homo_lr only (hetero parties each prepare their own columns)");
    auto local_only = [](FillMethod f) { return f == FillMethod::Min || f == FillMethod::Max || f == FillMethod::Median; };
    std::string bad;
    if (m.prep.missing_fill && local_only(m.prep.missing_fill_method)) bad = "missing_fill_method " + std::string(to_string(m.prep.missing_fill_method));
    for (auto& [c, f] : m.prep.col_missing_fill_method)
      if (local_only(f)) bad = "col_missing_fill_method." + c + " " + to_string(f);
    if (m.prep.outlier_replace && local_only(m.prep.outlier_replace_method)) bad = "outlier_replace_method " + std::string(to_string(m.prep.outlier_replace_method));
    for (auto& [c, f] : m.prep.col_outlier_replace_method)
      if (local_only(f)) bad = "col_outlier_replace_method." + c + " " + to_string(f);
    if (m.prep.scale == ScaleMethod::MinMax) bad = "feature_scale min_max_scale";
    if (!bad.empty())
      throw invalid_at(m.prep.statistics_where, "algorithm.params.homo_statistics",
                       "federated statistics are sums added up by secure aggregation: they give means and standard "
                       "deviations, not minima, maxima or medians (" + bad + "); use homo_statistics: local (as FATE) "
                       "or mean / designated fill and standard_scale");
  }
  if (!m.weights.sample_weight_name.empty() && (m.weights.sample_weight_name == m.id_column ||
                                                m.weights.sample_weight_name == m.label_column))
    throw invalid_at(m.weights.where, "algorithm.params.sample_weight.sample_weight_name",
                     "is the id or label column");
  if (m.validation.enabled() || m.validation.threshold != ThresholdRule::Fixed) {
    const char* key = m.validation.enabled() ? "validation_freqs" : "choose_threshold";
    int with = 0, without = 0;
    long missing = 0;
    for (const auto& p : job.parties) {
      if (p.role == fed::Role::Arbiter) continue;
      if (p.data.size() > 1) ++with;
      else {
        ++without;
        if (!missing) missing = p.id;
      }
    }
    if (homo ? with == 0 : without > 0)
      throw invalid_at(m.validation.enabled() ? m.validation.where : at("choose_threshold"), std::string("algorithm.params.") + key,
                       homo ? "needs a validation file: data: [train.csv, validate.csv] for at least one client"
                            : "needs a validation file for every party: party " + std::to_string(missing) +
                                  " has data: [train.csv] only (add its validate.csv)");
  }
}

}  // namespace

MlJob MlJob::from_job(const fed::Job& job) {
  MlJob m;
  m.file = job.file;
  m.id = job.id;
  Location where = job.params_where;
  if (job.algorithm == "hetero_lr") m.algorithm = Algorithm::HeteroLr;
  else if (job.algorithm == "homo_lr") m.algorithm = Algorithm::HomoLr;
  else throw invalid_at(where, "algorithm.name", "'" + job.algorithm + "' is not a trainer (hetero_lr or homo_lr)");
  if (job.params.IsMap()) {
    if (YAML::Node v = job.params["id_column"]; v && v.IsScalar()) {
      m.id_column = v.Scalar();
      m.id_column_given = true;
    }
    if (YAML::Node v = job.params["label_column"]; v && v.IsScalar()) m.label_column = v.Scalar();
  }
  m.params = LrParams::parse(job.params, job.file);
  m.params_source = yaml::clone(job.params);
  m.prep = PrepParams::parse(job.params, job.file);
  m.weights = SampleWeightParams::parse(job.params, job.file);
  m.validation = ValidationParams::parse(job.params, job.file);
  m.intersect = IntersectParams::parse(job.params, job.file);
  m.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(job.timeout);
  int guests = 0, arbiters = 0;
  for (const auto& p : job.parties) {
    if (p.role == fed::Role::Guest) { m.guest = p.id; ++guests; }
    else if (p.role == fed::Role::Arbiter) { m.arbiter = p.id; ++arbiters; }
    else m.hosts.push_back(p.id);
    if (p.role != fed::Role::Arbiter) {
      if (p.data.empty())
        throw invalid_at(p.where, "data", "party " + std::to_string(p.id) + " (" + fed::role_name(p.role) +
                                              ") needs a data file: data: [train.csv] or [train.csv, validate.csv]");
      if (p.data.size() > 2)
        throw invalid_at(p.where, "data", "at most two files: the training file and a validation file");
      m.data[p.id] = p.data;
    }
  }
  Location top{job.file, 1, 1};
  if (guests != 1) throw invalid_at(top, "parties", job.algorithm + " needs exactly one guest");
  if (arbiters != 1) throw invalid_at(top, "parties", job.algorithm + " needs exactly one arbiter");
  if (m.hosts.empty()) throw invalid_at(top, "parties", job.algorithm + " needs at least one host");
  check_training_settings(m, job);
  if (m.algorithm == Algorithm::HeteroLr && m.hosts.size() > 1 && m.params.early_stop != EarlyStop::WeightDiff)
    throw invalid_at(where, "algorithm.params.early_stop",
                     "must be weight_diff with more than one host (as in FATE, no loss is computed then)");
  return m;
}

std::string MlJob::role_of(long party) const {
  if (party == guest) return "guest";
  if (party == arbiter) return "arbiter";
  return host_index(party) >= 0 ? "host" : "unknown";
}

int MlJob::host_index(long party) const {
  for (size_t i = 0; i < hosts.size(); ++i)
    if (hosts[i] == party) return static_cast<int>(i);
  return -1;
}

bool MlJob::has_data(long party, size_t which) const {
  auto it = data.find(party);
  return it != data.end() && it->second.size() > which;
}

DataSpec MlJob::data_spec(long party, size_t which) const {
  DataSpec s;
  s.path = data.at(party).at(which);
  s.id_column = id_column;
  s.label_column = label_column;
  s.with_label = party == guest || algorithm == Algorithm::HomoLr;
  allow_missing(prep, s);
  if (s.with_label && !weights.sample_weight_name.empty()) {
    s.weight_column = weights.sample_weight_name;
    s.weight_required = which == 0;
  }
  s.row_ids = algorithm == Algorithm::HomoLr && !id_column_given;
  return s;
}

void train_party(const MlJob& job, long party, fed::Channel& channel, const RunOptions& opts) {
  if (job.role_of(party) == "unknown") throw invalid(job.file + ": party " + std::to_string(party) + " is not in the job");
  // Rejoin: when a peer restarts, every party goes back to the last checkpoint all of them have
  // (the arbiter picks the smallest count the parties report, as for --resume) and trains on.
  constexpr int kMaxRejoins = 100;
  RunOptions o = opts;
  for (int round = 0;; ++round) {
    detail::Party p(job, party, channel, o);
    p.log("start " + std::string(job.algorithm == Algorithm::HeteroLr ? "hetero_lr" : "homo_lr") + " as " +
          job.role_of(party) + " (party " + std::to_string(party) + ")" + (o.resume ? ", resume" : ""));
    try {
      if (job.algorithm == Algorithm::HeteroLr) detail::hetero_train(p);
      else detail::homo_train(p);
      return;
    } catch (const fed::PeerRestarted& r) {
      p.log(std::string("rejoin: ") + r.what());
      if (round + 1 >= kMaxRejoins) throw failed(std::string(r.what()) + " (more than 100 restarts: giving up)");
      log::warn("party {}: party {} restarted: going back to the last checkpoint every party has", party, r.party);
      channel.rejoin();
      o.resume = true;
    } catch (const std::exception& e) {
      p.log(std::string("failed: ") + e.what());
      throw;
    }
  }
}

void predict_party(const MlJob& job, long party, fed::Channel& channel, const RunOptions& opts,
                   const std::string& model_dir) {
  if (job.role_of(party) == "unknown") throw invalid(job.file + ": party " + std::to_string(party) + " is not in the job");
  detail::Party p(job, party, channel, opts);
  if (job.algorithm == Algorithm::HeteroLr) detail::hetero_predict(p, model_dir);
  else detail::homo_predict(p, model_dir);
}

void run_local(const MlJob& job, const std::string& out_root, bool resume, bool predict,
               const std::function<void(const EpochReport&)>& on_epoch, long stop_after_epochs,
               const std::map<long, std::shared_ptr<const Dataset>>& data, long stop_party,
               const std::function<void(const ProgressReport&)>& on_progress,
               const std::function<void(long, const std::string&)>& on_note) {
  fed::LocalHub hub;
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::exception_ptr first, relayed;  // the first original failure; the first one passed on
  std::vector<long> parties{job.guest};
  parties.insert(parties.end(), job.hosts.begin(), job.hosts.end());
  parties.push_back(job.arbiter);
  std::vector<std::thread> threads;
  std::vector<RunOptions> opts(parties.size());
  for (size_t i = 0; i < parties.size(); ++i) {
    opts[i].out_dir = out_root + "/" + std::to_string(parties[i]);
    opts[i].resume = resume;
    opts[i].on_epoch = on_epoch;
    opts[i].on_progress = on_progress;
    opts[i].on_note = on_note;
    opts[i].cancel = &cancel;
    if (stop_party == 0 || stop_party == parties[i]) opts[i].stop_after_epochs = stop_after_epochs;
    if (auto it = data.find(parties[i]); it != data.end()) opts[i].train_data = it->second;
  }
  for (size_t i = 0; i < parties.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        auto ch = hub.channel(parties[i]);
        if (predict) predict_party(job, parties[i], *ch, opts[i], opts[i].out_dir);
        else train_party(job, parties[i], *ch, opts[i]);
      } catch (const detail::Relayed&) {
        std::lock_guard<std::mutex> l(mu);
        if (!relayed) relayed = std::current_exception();
        cancel = true;
      } catch (const detail::RelayedVerdict&) {
        std::lock_guard<std::mutex> l(mu);
        if (!relayed) relayed = std::current_exception();
        cancel = true;
      } catch (...) {
        std::lock_guard<std::mutex> l(mu);
        if (!first) first = std::current_exception();
        cancel = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
  if (relayed) std::rethrow_exception(relayed);
}

}  // namespace fatectl::ml
