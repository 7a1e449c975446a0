#include "fatectl/kube/apply.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"

namespace fatectl::kube {
namespace {

std::string s(const F& n) { return n.str(); }
long num(const F& n, long dflt = 0) { return n.num(dflt); }

std::string condition(const YAML::Node& obj, const std::string& type, std::string* reason = nullptr,
                      std::string* message = nullptr) {
  for (const auto& c : F(obj)["status"]["conditions"]) {
    if (s(c["type"]) == type) {
      if (reason) *reason = s(c["reason"]);
      if (message) *message = s(c["message"]);
      return s(c["status"]);
    }
  }
  return "";
}

std::string selector_string(const F& sel) {
  std::string out;
  for (const auto& kv : sel["matchLabels"]) out += (out.empty() ? "" : ",") + kv.first.Scalar() + "=" + s(kv.second);
  for (const auto& e : sel["matchExpressions"]) {
    std::string op = s(e["operator"]);
    std::string vals;
    for (const auto& v : e["values"]) vals += (vals.empty() ? "" : ",") + s(v);
    std::string k = s(e["key"]);
    std::string term = op == "In" ? k + " in (" + vals + ")"
                       : op == "NotIn" ? k + " notin (" + vals + ")"
                       : op == "Exists" ? k
                                        : "!" + k;
    out += (out.empty() ? "" : ",") + term;
  }
  return out;
}

std::string one_line(std::string t, size_t max = 240) {
  for (auto& ch : t)
    if (ch == '\n' || ch == '\r') ch = ' ';
  if (t.size() > max) t = t.substr(0, max) + "…";
  return t;
}

std::string last_lines(const std::string& log, int n) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    std::string l = log.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!l.empty()) lines.push_back(l);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::string out;
  for (size_t i = lines.size() > size_t(n) ? lines.size() - n : 0; i < lines.size(); ++i)
    out += (out.empty() ? "" : " | ") + lines[i];
  return out;
}

std::string explain_pvc(Client& c, const YAML::Node& pvc) {
  std::string name = s(F(pvc)["metadata"]["name"]);
  std::string phase = s(F(pvc)["status"]["phase"]);
  if (phase == "Bound") return "";
  std::string sc = s(F(pvc)["spec"]["storageClassName"]);
  std::string r = "PVC " + name + " is " + (phase.empty() ? "Pending" : phase);
  if (sc.empty()) {
    if (s(F(pvc)["spec"]["volumeName"]).empty())
      return r + " with no storageClass (the cluster has no default StorageClass; set one in the spec)";
    return r + " waiting for volume " + s(F(pvc)["spec"]["volumeName"]);
  }
  try {
    auto cls = get(c, ObjectRef{"storage.k8s.io/v1", "StorageClass", "", sc});
    if (!cls) return r + ": storageClass '" + sc + "' does not exist";
    std::string prov = s((*cls)["provisioner"]);
    std::string mode = s((*cls)["volumeBindingMode"]);
    return r + " (storageClass '" + sc + "', provisioner " + prov +
           (mode == "WaitForFirstConsumer" ? ", binds when a pod uses it" : "") + ")";
  } catch (const Error&) {
    return r + " (storageClass '" + sc + "')";
  }
}

std::string explain_pod(Client& c, const YAML::Node& pod) {
  std::string name = s(F(pod)["metadata"]["name"]);
  std::string ns = s(F(pod)["metadata"]["namespace"]);
  auto statuses = [&](const char* key, bool init) -> std::string {
    for (const auto& cs : F(pod)["status"][key]) {
      std::string cname = s(cs["name"]);
      std::string image = s(cs["image"]);
      YAML::Node w = F(cs)["state"]["waiting"];
      std::string reason = s(w["reason"]);
      std::string msg = s(w["message"]);
      std::string who = "pod " + name + (init ? " init container " : " container ") + cname;
      if (reason == "ImagePullBackOff" || reason == "ErrImagePull" || reason == "InvalidImageName" ||
          reason == "ErrImageNeverPull")
        return who + ": " + reason + " pulling image " + image + (msg.empty() ? "" : ": " + one_line(msg, 160));
      if (reason == "CrashLoopBackOff") {
        std::string logs = last_lines(pod_logs(c, ns, name, cname, 5, true), 3);
        return who + ": CrashLoopBackOff (" + std::to_string(num(cs["restartCount"])) + " restarts)" +
               (logs.empty() ? "" : "; last log lines: " + one_line(logs, 300));
      }
      if (!reason.empty() && reason != "ContainerCreating" && reason != "PodInitializing")
        return who + ": " + reason + (msg.empty() ? "" : ": " + one_line(msg, 200));
      YAML::Node t = F(cs)["state"]["terminated"];
      if (t && num(t["exitCode"]) != 0)
        return who + " exited with code " + std::to_string(num(t["exitCode"])) +
               (s(t["reason"]).empty() ? "" : " (" + s(t["reason"]) + ")");
    }
    return "";
  };
  if (std::string r = statuses("initContainerStatuses", true); !r.empty()) return r;
  if (std::string r = statuses("containerStatuses", false); !r.empty()) return r;
  std::string phase = s(F(pod)["status"]["phase"]);
  std::string sreason, smsg;
  if (condition(pod, "PodScheduled", &sreason, &smsg) == "False") {
    std::string r = "pod " + name + " cannot be scheduled" + (smsg.empty() ? "" : ": " + one_line(smsg, 200));
    for (const auto& v : F(pod)["spec"]["volumes"]) {
      std::string claim = s(F(v)["persistentVolumeClaim"]["claimName"]);
      if (claim.empty()) continue;
      try {
        auto pvc = get(c, ObjectRef{"v1", "PersistentVolumeClaim", ns, claim});
        if (!pvc) return r + "; PVC " + claim + " does not exist";
        if (std::string p = explain_pvc(c, *pvc); !p.empty()) return r + "; " + p;
      } catch (const Error&) {
      }
    }
    return r;
  }
  if (phase == "Failed") return "pod " + name + " failed" + (s(F(pod)["status"]["message"]).empty() ? "" : ": " + one_line(s(F(pod)["status"]["message"])));
  if (phase == "Pending") return "pod " + name + " is Pending (containers being created)";
  for (const auto& cs : F(pod)["status"]["containerStatuses"]) {
    if (s(cs["ready"]) != "true" && F(cs)["state"]["running"]) {
      std::string logs = last_lines(pod_logs(c, ns, name, s(cs["name"]), 3, false), 2);
      return "pod " + name + " container " + s(cs["name"]) + " is running but not ready (readiness probe failing)" +
             (logs.empty() ? "" : "; last log lines: " + one_line(logs, 240));
    }
  }
  return "";
}

std::string module_or_kind(const Manifest& m) { return m.module.empty() ? "shared" : m.module; }

}  // namespace

int apply_stage(const std::string& kind) {
  static const std::map<std::string, int> stage = {
      {"Namespace", 0},          {"CustomResourceDefinition", 0}, {"StorageClass", 0},    {"PriorityClass", 0},
      {"ServiceAccount", 1},     {"PodSecurityPolicy", 1},        {"ClusterRole", 1},     {"Role", 1},
      {"ClusterRoleBinding", 2}, {"RoleBinding", 2},              {"Secret", 3},          {"ConfigMap", 3},
      {"PersistentVolume", 4},   {"PersistentVolumeClaim", 4},    {"Service", 5},         {"Deployment", 6},
      {"StatefulSet", 6},        {"DaemonSet", 6},                {"Job", 6},             {"CronJob", 6},
      {"ReplicaSet", 6},         {"Pod", 6},                      {"Ingress", 7},         {"NetworkPolicy", 7},
  };
  auto it = stage.find(kind);
  return it == stage.end() ? 7 : it->second;
}

std::vector<Manifest> in_apply_order(std::vector<Manifest> m) {
  // Sort indices, then copy-construct: assigning yaml-cpp nodes (as std::sort does) would alias them.
  std::vector<size_t> idx(m.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return apply_stage(s(m[a].node["kind"])) < apply_stage(s(m[b].node["kind"]));
  });
  std::vector<Manifest> out;
  out.reserve(m.size());
  for (size_t i : idx) out.push_back(m[i]);
  return out;
}

std::vector<YAML::Node> apply_all(Client& c, const std::vector<Manifest>& manifests, const ApplyAllOptions& o) {
  std::vector<YAML::Node> results(manifests.size());
  std::map<int, std::vector<size_t>> stages;
  for (size_t i = 0; i < manifests.size(); ++i) stages[apply_stage(s(manifests[i].node["kind"]))].push_back(i);
  std::mutex cb_mu;
  // Resolve discovery for every kind up front (serially): one request per group-version.
  for (const auto& m : manifests) c.resource_for(s(m.node["apiVersion"]), s(m.node["kind"]));
  for (const auto& stage_items : stages) {
    const auto& idx = stage_items.second;  // a plain reference: lambdas may capture it (clang 14)
    std::atomic<size_t> next{0};
    std::exception_ptr first_error;
    std::mutex err_mu;
    auto worker = [&] {
      for (;;) {
        size_t k = next++;
        if (k >= idx.size()) return;
        {
          std::lock_guard<std::mutex> l(err_mu);
          if (first_error) return;
        }
        size_t i = idx[k];
        try {
          results[i] = apply(c, manifests[i].node, o.apply);
          if (o.on_applied) {
            std::lock_guard<std::mutex> l(cb_mu);
            o.on_applied(manifests[i], results[i]);
          }
        } catch (...) {
          std::lock_guard<std::mutex> l(err_mu);
          if (!first_error) first_error = std::current_exception();
        }
      }
    };
    unsigned n = std::max(1u, std::min<unsigned>(o.concurrency, static_cast<unsigned>(idx.size())));
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (first_error) std::rethrow_exception(first_error);
  }
  return results;
}

bool waits_for(const YAML::Node& obj) {
  std::string k = s(obj["kind"]);
  if (k == "Deployment" || k == "StatefulSet" || k == "DaemonSet" || k == "PersistentVolumeClaim" || k == "Job")
    return true;
  if (k == "Service") return s(F(obj)["spec"]["type"]) == "LoadBalancer";
  return false;
}

Readiness readiness(const YAML::Node& live) {
  Readiness r;
  std::string k = s(live["kind"]);
  F st = F(live)["status"];
  long gen = num(F(live)["metadata"]["generation"]), og = num(st["observedGeneration"]);
  if (k == "Deployment") {
    long want = num(F(live)["spec"]["replicas"], 1);
    long updated = num(st["updatedReplicas"]), total = num(st["replicas"]), avail = num(st["availableReplicas"]);
    r.progress = std::to_string(avail) + "/" + std::to_string(want) + " available";
    r.ready = og >= gen && updated >= want && total <= updated && avail >= want;
    std::string reason, msg;
    if (condition(live, "Progressing", &reason, &msg) == "False" && reason == "ProgressDeadlineExceeded")
      r.reason = "progress deadline exceeded: " + one_line(msg);
    else if (condition(live, "ReplicaFailure", &reason, &msg) == "True")
      r.reason = reason + ": " + one_line(msg);
    else if (og < gen)
      r.reason = "the controller has not seen the new spec yet";
  } else if (k == "StatefulSet") {
    long want = num(F(live)["spec"]["replicas"], 1);
    long ready = num(st["readyReplicas"]), updated = num(st["updatedReplicas"]);
    std::string cur = s(st["currentRevision"]), upd = s(st["updateRevision"]);
    r.progress = std::to_string(ready) + "/" + std::to_string(want) + " ready";
    bool rolled = upd.empty() || cur == upd || updated >= want;
    r.ready = og >= gen && ready >= want && rolled;
    if (!rolled && ready >= want) r.reason = "rolling update in progress";
  } else if (k == "DaemonSet") {
    long want = num(st["desiredNumberScheduled"]), ready = num(st["numberReady"]),
         updated = num(st["updatedNumberScheduled"]);
    r.progress = std::to_string(ready) + "/" + std::to_string(want) + " ready";
    r.ready = og >= gen && ready >= want && updated >= want;
  } else if (k == "PersistentVolumeClaim") {
    std::string phase = s(st["phase"]);
    r.progress = phase.empty() ? "Pending" : phase;
    r.ready = phase == "Bound";
  } else if (k == "Service") {
    if (s(F(live)["spec"]["type"]) == "LoadBalancer") {
      YAML::Node ing = F(st)["loadBalancer"]["ingress"];
      r.ready = ing && ing.IsSequence() && ing.size() > 0;
      r.progress = r.ready ? (F(ing)[0]["ip"].str().empty() ? F(ing)[0]["hostname"].str() : F(ing)[0]["ip"].str()) : "no address";
      if (!r.ready) r.reason = "waiting for a LoadBalancer address (does the cluster have a load-balancer controller?)";
    }
  } else if (k == "Job") {
    long want = num(F(live)["spec"]["completions"], 1), done = num(st["succeeded"]);
    r.progress = std::to_string(done) + "/" + std::to_string(want) + " complete";
    std::string reason, msg;
    r.ready = condition(live, "Complete") == "True" || done >= want;
    if (condition(live, "Failed", &reason, &msg) == "True") r.reason = "job failed: " + reason + ": " + one_line(msg);
  }
  return r;
}

std::string explain(Client& c, const YAML::Node& live) {
  std::string k = s(live["kind"]);
  std::string ns = s(F(live)["metadata"]["namespace"]);
  try {
    if (k == "PersistentVolumeClaim") return explain_pvc(c, live);
    if (k == "Deployment" || k == "StatefulSet" || k == "DaemonSet" || k == "Job") {
      std::string sel = selector_string(F(live)["spec"]["selector"]);
      if (sel.empty()) return "";
      auto pods = list(c, "v1", "Pod", ns, sel);
      std::sort(pods.begin(), pods.end(),
                [](const YAML::Node& a, const YAML::Node& b) { return s(F(a)["metadata"]["name"]) < s(F(b)["metadata"]["name"]); });
      if (pods.empty()) {
        if (k == "StatefulSet") {
          // A StatefulSet's first pod may be held back by its PVC.
          for (const auto& t : F(live)["spec"]["volumeClaimTemplates"]) {
            std::string claim = s(F(t)["metadata"]["name"]) + "-" + s(F(live)["metadata"]["name"]) + "-0";
            auto pvc = get(c, ObjectRef{"v1", "PersistentVolumeClaim", ns, claim});
            if (pvc)
              if (std::string p = explain_pvc(c, *pvc); !p.empty()) return p;
          }
        }
        return "no pods created yet";
      }
      std::string benign;
      for (const auto& p : pods) {
        std::string r = explain_pod(c, p);
        if (r.empty()) continue;
        if (r.find("is Pending (containers being created)") != std::string::npos) {
          if (benign.empty()) benign = r;
          continue;
        }
        return r;
      }
      return benign;
    }
  } catch (const Error& e) {
    return std::string("(could not look into it: ") + e.what() + ")";
  }
  return "";
}

void wait_ready(Client& c, const std::vector<Manifest>& manifests, const WaitOptions& o) {
  std::vector<const Manifest*> items;
  for (const auto& m : manifests)
    if (waits_for(m.node)) items.push_back(&m);
  if (items.empty()) return;
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto deadline = start + o.timeout;
  std::string limit = "after " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(o.timeout).count()) + "s";
  if (c.deadline().has_command_end() && c.deadline().command_end() < deadline) {
    deadline = c.deadline().command_end();  // the command's --timeout, counted from its start
    limit = "(" + c.deadline().command_flag() + ")";
  }
  auto last_explain = start - o.explain_every;
  std::map<const Manifest*, std::string> reasons;
  std::vector<std::string> modules;
  for (auto* m : items)
    if (std::find(modules.begin(), modules.end(), module_or_kind(*m)) == modules.end()) modules.push_back(module_or_kind(*m));
  // The names waited for per (apiVersion, kind, namespace): only those are kept from each list.
  std::map<std::tuple<std::string, std::string, std::string>, std::set<std::string>> wanted;
  for (auto* m : items) {
    ObjectRef r = m->ref();
    wanted[std::make_tuple(r.api_version, r.kind, r.namespace_)].insert(r.name);
  }
  for (;;) {
    // The round that finds the deadline passed still reads (a few seconds of grace) to say why.
    std::optional<Client::Grace> grace;
    if (Clock::now() >= deadline) grace.emplace(c);
    // One list per (apiVersion, kind, namespace) per round.
    std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, YAML::Node>> live;
    for (const auto& want : wanted) {
      const auto& key = want.first;
      const auto& names = want.second;  // plain references: lambdas may capture them (clang 14)
      auto& byname = live[key];
      list_each(c, std::get<0>(key), std::get<1>(key), std::get<2>(key), "", [&](const YAML::Node& obj) {
        std::string name = s(F(obj)["metadata"]["name"]);
        if (names.count(name)) byname[name] = obj;
      });
    }
    bool do_explain = Clock::now() - last_explain >= o.explain_every;
    if (do_explain) last_explain = Clock::now();
    std::map<std::string, std::pair<int, int>> per_module;  // ready, total
    std::map<std::string, std::string> module_reason;
    std::vector<std::pair<const Manifest*, std::string>> not_ready;
    for (auto* m : items) {
      ObjectRef r = m->ref();
      auto& byname = live[std::make_tuple(r.api_version, r.kind, r.namespace_)];
      auto& pm = per_module[module_or_kind(*m)];
      pm.second++;
      auto it = byname.find(r.name);
      std::string why;
      if (it == byname.end()) {
        why = "does not exist";
      } else {
        Readiness rd = readiness(it->second);
        if (rd.ready) {
          pm.first++;
          reasons.erase(m);
          continue;
        }
        if (do_explain) {
          std::string e = explain(c, it->second);
          reasons[m] = e.empty() ? rd.reason : (rd.reason.empty() ? e : rd.reason + "; " + e);
        }
        why = rd.progress + (reasons[m].empty() ? "" : ": " + reasons[m]);
      }
      not_ready.emplace_back(m, why);
      std::string& mr = module_reason[module_or_kind(*m)];
      if (mr.empty()) mr = r.kind + " " + r.name + " " + why;
    }
    if (o.on_progress) {
      std::vector<std::string> lines;
      for (const auto& mod : modules) {
        auto [ready, total] = per_module[mod];
        if (ready == total) lines.push_back(mod + ": ready");
        else lines.push_back(mod + ": " + std::to_string(ready) + "/" + std::to_string(total) + " ready — " + module_reason[mod]);
      }
      o.on_progress(lines);
    }
    if (not_ready.empty()) return;
    if (Clock::now() >= deadline) {
      if (!grace) grace.emplace(c);  // a few seconds past the deadline to say why
      std::string msg;
      for (auto& [m, why] : not_ready) {
        if (reasons[m].empty() && do_explain == false) {
          ObjectRef r = m->ref();
          auto& byname = live[std::make_tuple(r.api_version, r.kind, r.namespace_)];
          auto it = byname.find(r.name);
          if (it != byname.end()) {
            std::string e = explain(c, it->second);
            if (!e.empty()) why += ": " + e;
          }
        }
        msg += (msg.empty() ? "" : "; ") + m->ref().str() + " (module " + module_or_kind(*m) + ") not ready: " + why;
      }
      throw timed_out("timed out " + limit + ": " + msg);
    }
    auto left = deadline - Clock::now();
    std::this_thread::sleep_for(std::min<Clock::duration>(o.interval, left));
  }
}

void wait_gone(Client& c, const std::vector<ObjectRef>& refs, std::chrono::seconds timeout,
               std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string limit = "after " + std::to_string(timeout.count()) + "s";
  if (c.deadline().has_command_end() && c.deadline().command_end() < deadline) {
    deadline = c.deadline().command_end();
    limit = "(" + c.deadline().command_flag() + ")";
  }
  std::vector<ObjectRef> left = refs;
  while (!left.empty()) {
    std::optional<Client::Grace> grace;  // the last round, after the deadline, still reads
    if (std::chrono::steady_clock::now() >= deadline) grace.emplace(c);
    std::vector<ObjectRef> still;
    for (const auto& r : left)
      if (get(c, r)) still.push_back(r);
    left.swap(still);
    if (left.empty()) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string names;
      for (const auto& r : left) names += (names.empty() ? "" : ", ") + r.str();
      throw timed_out("timed out " + limit + " waiting for deletion of: " + names +
                      " (a finalizer may be holding them)");
    }
    log::progress("waiting for " + std::to_string(left.size()) + " object(s) to go: " + left.front().str());
    std::this_thread::sleep_until(std::min(deadline, std::chrono::steady_clock::now() + interval));
  }
}

}  // namespace fatectl::kube
