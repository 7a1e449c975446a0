#include "fatectl/ml/validation.h"

#include "fatectl/core/yaml.h"
#include "fatectl/ml/wire.h"
#include "param_reader.h"

namespace fatectl::ml {

using detail::lower;
using detail::Reader;

bool ValidationParams::need_run(long epoch) const {
  if (every > 0) return (epoch + 1) % every == 0;
  return at.count(epoch) > 0;
}

std::vector<std::string> ValidationParams::tracked() const {
  if (use_first_metric_only && !metrics.empty()) return {metrics.front()};
  return metrics;
}

ValidationParams ValidationParams::parse(const YAML::Node& params, const std::string& file) {
  ValidationParams p;
  if (!params || !params.IsMap()) return p;
  std::vector<std::pair<Reader, YAML::Node>> places{{Reader{file, "algorithm.params."}, params}};
  if (YAML::Node cb = params["callback_param"]) {
    Reader r{file, "algorithm.params.callback_param."};
    if (!cb.IsMap()) throw places[0].first.err(cb, "callback_param", "expected a mapping");
    r.known(cb, {"validation_freqs", "early_stopping_rounds", "metrics", "use_first_metric_only", "callbacks", "save_freq"});
    places.emplace_back(r, cb);
  }
  bool metrics_given = false;
  for (auto& [r, m] : places) {
    for (const char* k : {"validation_freqs", "early_stopping_rounds", "metrics", "use_first_metric_only"})
      if (places.size() > 1 && &m == &places[0].second && m[k] && places[1].second[k])
        throw r.err(places[1].second[k], k, "given twice (here and in callback_param)");
    if (YAML::Node v = m["validation_freqs"]; v && yaml::scalar_type(v) != yaml::ScalarType::Null) {
      p.where = yaml::where(v, file);
      if (v.IsSequence()) {
        for (size_t i = 0; i < v.size(); ++i) {
          long e = r.integer(v[i], "validation_freqs");
          if (e < 0) throw r.err(v[i], "validation_freqs", "epochs are counted from 0");
          p.at.insert(e);
        }
        if (p.at.empty()) throw r.err(v, "validation_freqs", "an empty list validates nothing");
      } else {
        p.every = r.integer(v, "validation_freqs");
        if (p.every < 1) throw r.err(v, "validation_freqs", "must be >= 1 (validate every n epochs) or a list of epochs");
      }
    }
    if (YAML::Node v = m["early_stopping_rounds"]; v && yaml::scalar_type(v) != yaml::ScalarType::Null) {
      p.early_stopping_rounds = r.integer(v, "early_stopping_rounds");
      if (p.early_stopping_rounds < 1) throw r.err(v, "early_stopping_rounds", "must be >= 1");
    }
    if (YAML::Node v = m["metrics"]) {
      if (!v.IsSequence()) throw r.err(v, "metrics", "expected a list, e.g. [auc, ks]");
      metrics_given = true;
      p.metrics.clear();
      for (size_t i = 0; i < v.size(); ++i) {
        std::string s = lower(r.text(v[i], "metrics"));
        if (s != "auc" && s != "ks")
          throw r.err(v[i], "metrics",
                      "'" + s + "': validation during training computes auc and ks (FATE's single-value binary metrics); "
                      "ROC, KS, PR, lift, gain and the confusion matrix are always in metrics.json at the end");
        p.metrics.push_back(s);
      }
    }
    if (YAML::Node v = m["use_first_metric_only"]) p.use_first_metric_only = r.boolean(v, "use_first_metric_only");
  }
  if (!metrics_given || p.metrics.empty()) p.metrics = {"auc", "ks"};
  Reader top{file, "algorithm.params."};
  if (YAML::Node v = params["choose_threshold"])
    p.threshold = top.choice<ThresholdRule>(v, "choose_threshold", {{"none", ThresholdRule::Fixed},
                                                                   {"max_f1", ThresholdRule::MaxF1},
                                                                   {"max_ks", ThresholdRule::MaxKs}});
  if (p.early_stopping_rounds > 0 && !p.enabled()) {
    YAML::Node at = params["early_stopping_rounds"] ? params["early_stopping_rounds"] : params["callback_param"];
    throw top.err(at, "early_stopping_rounds", "needs validation_freqs (FATE: validation freqs must be set when early stopping is enabled)");
  }
  return p;
}

Verdict EarlyStopping::update(long epoch, const std::map<std::string, double>& values) {
  Verdict v;
  for (size_t i = 0; i < metrics_.size(); ++i) {
    const std::string& m = metrics_[i];
    auto it = values.find(m);
    if (it == values.end()) throw failed("internal: validation metric '" + m + "' missing");
    auto b = best_.find(m);
    if (b == best_.end() || it->second > b->second) {  // auc and ks: larger is better
      best_[m] = it->second;
      no_improvement_[m] = 0;
      v.improved |= uint64_t(1) << i;
    } else {
      no_improvement_[m] += 1;
    }
  }
  if (p_.early_stopping_rounds > 0)
    for (size_t i = 0; i < metrics_.size(); ++i)
      if (no_improvement_[metrics_[i]] >= p_.early_stopping_rounds) {
        v.stop = true;
        v.stop_metric = static_cast<int>(i);
        break;
      }
  (void)epoch;
  return v;
}

YAML::Node EarlyStopping::state() const {
  YAML::Node n(YAML::NodeType::Map);
  for (auto& m : metrics_)
    if (best_.count(m)) {
      n[m]["best"] = best_.at(m);
      n[m]["no_improvement"] = no_improvement_.at(m);
    }
  return n;
}

void EarlyStopping::load_state(const YAML::Node& n) {
  best_.clear();
  no_improvement_.clear();
  if (!n || !n.IsMap()) return;
  for (auto& m : metrics_)
    if (n[m]) {
      best_[m] = n[m]["best"].as<double>();
      no_improvement_[m] = n[m]["no_improvement"].as<long>();
    }
}

void BestModels::record(const Verdict& v, const std::vector<double>& w, long epoch) {
  for (size_t i = 0; i < w_.size(); ++i)
    if (v.improved >> i & 1) {
      w_[i] = w;
      epoch_[i] = epoch;
    }
}

const std::vector<double>* BestModels::final(const Verdict& last, long* epoch) const {
  size_t i = last.stop && last.stop_metric >= 0 ? static_cast<size_t>(last.stop_metric) : 0;
  if (i >= w_.size() || epoch_[i] < 0) return nullptr;
  if (epoch) *epoch = epoch_[i];
  return &w_[i];
}

YAML::Node BestModels::state() const {
  YAML::Node n(YAML::NodeType::Sequence);
  for (size_t i = 0; i < w_.size(); ++i) {
    YAML::Node x;
    x["epoch"] = epoch_[i];
    YAML::Node ws(YAML::NodeType::Sequence);
    for (double v : w_[i]) ws.push_back(v);
    x["weights"] = ws;
    n.push_back(x);
  }
  return n;
}

void BestModels::load_state(const YAML::Node& n) {
  if (!n || !n.IsSequence()) return;
  for (size_t i = 0; i < w_.size() && i < n.size(); ++i) {
    epoch_[i] = n[i]["epoch"].as<long>();
    w_[i].clear();
    for (const auto& x : n[i]["weights"]) w_[i].push_back(x.as<double>());
  }
}

YAML::Node verdict_yaml(const Verdict& v) {
  YAML::Node n;
  n["improved"] = v.improved;
  n["stop"] = v.stop;
  n["stop_metric"] = v.stop_metric;
  return n;
}

Verdict verdict_from(const YAML::Node& n) {
  Verdict v;
  if (!n || !n.IsMap()) return v;
  v.improved = n["improved"].as<uint64_t>();
  v.stop = n["stop"].as<bool>();
  v.stop_metric = n["stop_metric"].as<int>();
  return v;
}

std::string encode(const Verdict& v) {
  WireWriter w;
  w.u64(v.improved).u64(v.stop ? 1 : 0).i64(v.stop_metric + 1);
  return w.take();
}

Verdict decode_verdict(const std::string& payload) {
  WireReader r(payload, "validation verdict");
  Verdict v;
  v.improved = r.u64();
  v.stop = r.u64() != 0;
  v.stop_metric = static_cast<int>(r.i64() - 1);
  r.done();
  return v;
}

}  // namespace fatectl::ml
