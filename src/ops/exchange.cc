#include "fatectl/ops/exchange.h"

#include <algorithm>
#include <set>
#include <thread>

#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/exec.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/route_live.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"
#include "pod_probe.h"

namespace fatectl::ops {
namespace {

using Clock = std::chrono::steady_clock;
using detail::PodProbe;
using detail::rstrip;

std::string secs(Clock::duration d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1fs", std::chrono::duration<double>(d).count());
  return b;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string o;
  for (auto& s : v) o += (o.empty() ? "" : sep) + s;
  return o;
}

long epoch_of(const std::string& rfc3339) {
  if (rfc3339.empty()) return 0;
  try {
    return std::chrono::duration_cast<std::chrono::seconds>(kube::parse_rfc3339(rfc3339).time_since_epoch()).count();
  } catch (...) {
    return 0;
  }
}

long now_epoch() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// The kube/ implementation.
class KubeExchangeCluster : public ExchangeCluster {
 public:
  explicit KubeExchangeCluster(kube::Config cfg) : owned_(std::make_unique<kube::Client>(std::move(cfg))), c_(*owned_) {}
  explicit KubeExchangeCluster(kube::Client& c) : c_(c) {}
  void apply(const YAML::Node& obj) override { kube::apply(c_, obj); }
  YAML::Node configmap(const std::string& ns, const std::string& name) override {
    auto o = kube::get(c_, kube::ObjectRef{"v1", "ConfigMap", ns, name});
    return o ? *o : YAML::Node();
  }
  std::vector<PodInfo> pods(const std::string& ns, const std::string& selector) override {
    std::vector<PodInfo> out;
    for (auto& p : kube::list(c_, "v1", "Pod", ns, selector)) {
      kube::F f(p);
      PodInfo i;
      i.name = f["metadata"]["name"].str();
      i.running = !f["metadata"]["deletionTimestamp"] && f["status"]["phase"].str() == "Running";
      bool has_ready = false;
      for (const auto& c : f["status"]["conditions"])
        if (kube::F(c)["type"].str() == "Ready") {
          has_ready = true;
          i.ready = kube::F(c)["status"].str() == "True";
        }
      if (!has_ready) i.ready = i.running;
      i.ready = i.ready && i.running;
      std::string phase = f["status"]["phase"].str();
      i.terminating = f["metadata"]["deletionTimestamp"] || phase == "Succeeded" || phase == "Failed";
      for (const auto& c : f["status"]["conditions"])
        if (kube::F(c)["type"].str() == "PodScheduled" && kube::F(c)["status"].str() == "False")
          i.stuck = kube::F(c)["reason"].str().empty() ? "Unschedulable" : kube::F(c)["reason"].str();
      for (const auto& cs : f["status"]["containerStatuses"]) {
        std::string why = kube::F(cs)["state"]["waiting"]["reason"].str();
        if (!why.empty() && why != "ContainerCreating" && why != "PodInitializing" && i.stuck.empty()) i.stuck = why;
      }
      i.started_at = epoch_of(f["status"]["startTime"].str());
      out.push_back(i);
    }
    std::sort(out.begin(), out.end(), [](const PodInfo& a, const PodInfo& b) { return a.name < b.name; });
    return out;
  }
  PodExecResult exec(const std::string& ns, const std::string& pod, const std::string& container,
                     const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override {
    kube::ExecOptions eo;
    eo.container = container;
    eo.timeout = timeout;
    kube::ExecResult r = kube::exec(c_, ns, pod, argv, eo);
    PodExecResult out;
    out.exit_code = r.exit_code;
    out.out = r.stdout_data;
    out.err = r.stderr_data.empty() ? r.error : r.stderr_data;
    return out;
  }
  void delete_pod(const std::string& ns, const std::string& pod) override {
    kube::remove(c_, kube::ObjectRef{"v1", "Pod", ns, pod});
  }

 private:
  std::unique_ptr<kube::Client> owned_;
  kube::Client& c_;
};

/// Where each route file lives in its pods.
struct Component {
  const char* name;       ///< fateMoudle label and container
  const char* configmap;
  const char* key;
  const char* path;
};
const Component kTrafficServer{"traffic-server", "traffic-server-sni", "sni.yaml", kSniMountPath};
const Component kNginx{"nginx", "nginx-config", "route_table.yaml", kNginxRoutePath};
const Component kRollsite{"rollsite", "rollsite-config", "route_table.json", kRollsiteRoutePath};

/// One converge run: state shared by the steps, so a failure can say what was done already.
struct Run {
  ExchangeCluster& cl;
  const RouteConfigMaps& target;
  const ReloadOptions& o;
  ReloadReport rep;
  std::set<std::string> checked;  ///< pods brought to the target
  std::set<std::string> known;    ///< ready pods seen, for saying which were not reloaded

  const std::string& ns() const { return target.ns; }
  std::string selector(const Component& c) const { return "fateMoudle=" + std::string(c.name) + ",name=" + target.name; }

  [[noreturn]] void fail(const std::string& step, ErrorKind kind, const std::string& msg) {
    rep.failed_step = step;
    rep.error = msg;
    std::vector<std::string> done, notdone;
    std::set<std::string> listed;
    for (auto& p : rep.pods) {
      listed.insert(p.pod);
      if (p.reload != "deleted") (p.ok ? done : notdone).push_back(p.pod);
    }
    for (auto& k : known)
      if (!listed.count(k)) notdone.push_back(k);
    std::string m = "step '" + step + "' failed: " + msg;
    if (!rep.applied.empty()) m += "; applied: " + join(rep.applied);
    m += "; pods reloaded: " + (done.empty() ? std::string("none") : join(done));
    if (!notdone.empty()) m += "; not reloaded: " + join(notdone);
    throw ReloadFailure(kind, m, rep);
  }

  std::vector<PodInfo> list_once(const Component& c) {
    try {
      return cl.pods(ns(), selector(c));
    } catch (const Error& e) {
      fail("list pods", e.kind(), e.what());
    }
  }

  // The component's pods once none is still starting (a replacement pod is waited for, so it is
  // brought along too); a pod that is stuck is noted and left out.
  std::vector<PodInfo> list(const Component& c) {
    auto t0 = Clock::now();
    while (true) {
      auto pods = list_once(c);
      std::vector<std::string> starting;
      for (auto& p : pods)
        if (!p.terminating && !p.ready && p.stuck.empty()) starting.push_back(p.name);
      if (starting.empty()) {
        for (auto& p : pods)
          if (p.ready) known.insert(p.name);
        for (auto& p : pods)
          if (!p.terminating && !p.ready) {
            std::string note = "pod " + p.name + " is not ready (" + p.stuck + "): not reloaded; it reads the routes when it starts";
            if (std::find(rep.notes.begin(), rep.notes.end(), note) == rep.notes.end()) rep.notes.push_back(note);
          }
        return pods;
      }
      if (Clock::now() - t0 >= o.timeout)
        fail("list pods", ErrorKind::Timeout, "pods " + join(starting) + " did not become ready within " + secs(Clock::now() - t0));
      std::this_thread::sleep_for(o.poll);
    }
  }

  // An exec failed: say whether the pod is still there (a pod replaced mid-reload fails here).
  [[noreturn]] void exec_failed(const std::string& step, const Component& c, const std::string& pod, const Error& e) {
    bool gone = false;
    try {
      auto now = cl.pods(ns(), selector(c));
      gone = std::none_of(now.begin(), now.end(), [&](const PodInfo& p) { return p.name == pod && p.running; });
    } catch (const Error&) {
    }
    if (gone)
      fail(step, ErrorKind::Failed,
           "pod " + pod + " went away during the change (deleted or replaced): " + std::string(e.what()));
    fail(step, e.kind(), "exec in pod " + pod + " (container " + c.name + "): " + e.what());
  }

  template <typename F>
  auto guarded(const std::string& step, const Component& c, const std::string& pod, F f) -> decltype(f()) {
    try {
      return f();
    } catch (const ReloadFailure&) {
      throw;
    } catch (const Error& e) {
      exec_failed(step, c, pod, e);
    }
  }

  // Polls the mounted file until it holds `want` (the ConfigMap's data).
  void wait_file(PodReport& pr, PodProbe& p, const Component& c, const std::string& want) {
    auto t0 = Clock::now();
    std::string last_err;
    for (int i = 0;; ++i) {
      std::string got, err;
      bool ok = guarded("propagate", c, pr.pod, [&] { return p.read_file(c.path, got, err); });
      if (ok && rstrip(got) == rstrip(want)) {
        pr.file = i == 0 ? "up to date" : "updated after " + secs(Clock::now() - t0);
        return;
      }
      if (!ok) last_err = err;
      if (Clock::now() - t0 >= o.timeout) {
        pr.file = "not updated";
        fail("propagate", ErrorKind::Timeout,
             "pod " + pr.pod + ": " + c.path + " still differs from the applied ConfigMap after " +
                 secs(Clock::now() - t0) + (last_err.empty() ? "" : " (" + last_err + ")") +
                 "; the kubelet refreshes mounted ConfigMaps within about a minute -- check the pod's volume "
                 "mounts, or retry with a longer --timeout");
      }
      std::this_thread::sleep_for(o.poll);
    }
  }

  // Deletes pods and waits until as many new ones run.
  void restart(const Component& c, const std::vector<std::string>& old, const std::string& why) {
    for (auto& p : old) {
      log::info("restarting pod {} ({})", p, why);
      try {
        cl.delete_pod(ns(), p);
      } catch (const Error& e) {
        fail("restart", e.kind(), "deleting pod " + p + ": " + e.what());
      }
      rep.pods.push_back(PodReport{p, c.name, "-", "deleted", why, true});
    }
    auto t0 = Clock::now();
    std::set<std::string> olds(old.begin(), old.end());
    while (true) {
      size_t fresh = 0;
      for (auto& p : list_once(c)) fresh += (!olds.count(p.name) && p.ready) ? 1 : 0;
      if (fresh >= old.size()) return;
      if (Clock::now() - t0 >= o.timeout)
        fail("restart", ErrorKind::Timeout,
             std::string(c.name) + " pods did not come back within " + secs(Clock::now() - t0));
      std::this_thread::sleep_for(o.poll);
    }
  }

  // Reload, retried while a pod that started less than 30 s ago may still be starting Traffic Server.
  void reload(PodReport& pr, PodProbe& p, const PodInfo& info) {
    auto t0 = Clock::now();
    while (true) {
      PodExecResult rl = guarded("reload", kTrafficServer, pr.pod, [&] { return p.run({o.traffic_ctl, "config", "reload"}); });
      if (rl.exit_code == 0) {
        pr.reload = "ok";
        return;
      }
      bool young = info.started_at > 0 && now_epoch() - info.started_at < 30;
      if (!young || Clock::now() - t0 >= o.confirm_timeout) {
        pr.reload = "failed (exit " + std::to_string(rl.exit_code) + ")";
        fail("reload", ErrorKind::Failed,
             "pod " + pr.pod + ": " + o.traffic_ctl + " config reload exited " + std::to_string(rl.exit_code) +
                 (rstrip(rl.err).empty() ? "" : ": " + rstrip(rl.err)));
      }
      std::this_thread::sleep_for(std::min(o.poll, std::chrono::milliseconds(1000)));
    }
  }

  void traffic_server_pod(const PodInfo& info, const std::string& want, const std::string& want_ports) {
    rep.pods.push_back(PodReport{info.name, kTrafficServer.name, "", "not run", "", false});
    PodReport& pr = rep.pods.back();
    PodProbe p(cl, ns(), info.name, kTrafficServer.name, o);
    auto g = [&](const char* step, auto f) { return guarded(step, kTrafficServer, info.name, f); };
    // 1. the kubelet must have written the target sni.yaml into the pod
    std::string first, err;
    bool already = g("propagate", [&] { return p.read_file(kSniMountPath, first, err); }) && rstrip(first) == rstrip(want);
    if (already) pr.file = "up to date";
    else wait_file(pr, p, kTrafficServer, want);
    // what Traffic Server had loaded, and how much of diags.log exists, before the reload
    long lines_before = g("reload", [&] { return p.diags_lines(); });
    long loaded_before = g("reload", [&] { return p.loaded_at(); });
    long file_time = g("reload", [&] { return p.mtime(kSniMountPath); });
    std::string last_load = already ? g("reload", [&] { return p.last_sni_load(); }) : "";
    // 2. reload
    reload(pr, p, info);
    // 3. confirm: traffic_ctl returns 0 even for a broken file, so read the log. Traffic Server
    //    re-reads only files that changed, so a file it had loaded already logs nothing new.
    bool loaded_already = already && loaded_before >= 0 && file_time >= 0 && file_time <= loaded_before &&
                          !detail::sni_load_failed(last_load);
    auto t0 = Clock::now();
    auto limit = loaded_already ? std::chrono::milliseconds(0) : o.confirm_timeout;
    bool confirmed = false;
    while (lines_before >= 0) {
      for (auto& line : g("confirm", [&] { return p.diags_from(lines_before + 1); })) {
        if (detail::sni_load_failed(line)) {
          pr.confirmed = "sni.yaml rejected";
          fail("confirm", ErrorKind::Failed,
               "pod " + pr.pod + ": Traffic Server did not accept the new sni.yaml and keeps the old routes: " + rstrip(line));
        }
        if (detail::sni_load_finished(line)) confirmed = true;
      }
      if (confirmed) {
        pr.confirmed = "sni.yaml loaded after " + secs(Clock::now() - t0);
        break;
      }
      if (Clock::now() - t0 >= limit) break;
      std::this_thread::sleep_for(std::min(o.poll, std::chrono::milliseconds(500)));
    }
    if (!confirmed) {
      if (loaded_already) {
        pr.confirmed = "sni.yaml already loaded";
      } else if (lines_before >= 0) {
        pr.confirmed = "no load seen";
        fail("confirm", ErrorKind::Timeout,
             "pod " + pr.pod + ": Traffic Server did not log loading sni.yaml within " + secs(Clock::now() - t0) +
                 " after the reload (" + p.diags_path() + ")");
      } else {
        long after = g("confirm", [&] { return p.loaded_at(); });
        if (!(after > loaded_before && after >= file_time)) {
          pr.confirmed = "reload not seen";
          fail("confirm", ErrorKind::Failed,
               "pod " + pr.pod + ": cannot read " + p.diags_path() +
                   " and Traffic Server's reconfigure time did not pass the file's modification time");
        }
        pr.confirmed = "reload accepted (diags.log not readable)";
      }
    }
    // 4. verify: the file it loaded is still the target (nothing changed it meanwhile), and the
    //    running connect_ports are the target's (records.config is read only at start).
    std::string again;
    if (!g("verify", [&] { return p.read_file(kSniMountPath, again, err); }) || rstrip(again) != rstrip(want)) {
      pr.confirmed = "file changed during the reload";
      fail("verify", ErrorKind::Failed, "pod " + pr.pod + ": " + kSniMountPath + " changed while Traffic Server loaded it");
    }
    if (!want_ports.empty()) {
      std::string running = g("verify", [&] { return p.connect_ports(); });
      if (running.empty()) {
        rep.notes.push_back("pod " + pr.pod + ": could not read the running connect_ports");
      } else if (running != want_ports) {
        pr.confirmed += "; connect_ports stale";
        fail("verify", ErrorKind::Failed,
             "pod " + pr.pod + ": Traffic Server runs connect_ports '" + running + "', the routes need '" + want_ports +
                 "' (records.config is read at start: restart the pod)");
      }
    }
    pr.ok = true;
    checked.insert(info.name);
  }

  void file_pod(const PodInfo& info, const Component& c, const std::string& want, const char* note) {
    rep.pods.push_back(PodReport{info.name, c.name, "", "-", "", false});
    PodReport& pr = rep.pods.back();
    PodProbe p(cl, ns(), info.name, c.name, o);
    wait_file(pr, p, c, want);
    pr.confirmed = note;
    pr.ok = true;
    checked.insert(info.name);
  }

  void traffic_server() {
    std::string want = target.data("traffic-server-sni", "sni.yaml");
    std::string records = target.data("traffic-server-config", "records.config");
    std::string ports = detail::records_connect_ports(records);
    auto pods = list(kTrafficServer);
    std::vector<std::string> stale;
    for (auto& p : pods) {
      if (!p.ready || records.empty()) continue;
      PodProbe probe(cl, ns(), p.name, kTrafficServer.name, o);
      std::string mounted, err;
      bool ok = guarded("propagate", kTrafficServer, p.name, [&] { return probe.read_file(kRecordsMountPath, mounted, err); });
      if (ok && rstrip(mounted) != rstrip(records)) stale.push_back(p.name);
    }
    if (!stale.empty()) {
      if (!o.restart_traffic_server)
        fail("restart", ErrorKind::Failed,
             "records.config changed (connect_ports '" + ports + "'), and pods " + join(stale) +
                 " still run the old one: it is mounted with subPath, so only a new pod reads it. Restarting "
                 "them was not allowed (--no-restart-traffic-server)");
      restart(kTrafficServer, stale, "records.config changed; only a new pod reads it");
      pods = list(kTrafficServer);
    }
    if (pods.empty()) rep.notes.push_back("no running traffic-server pod: the routes apply when one starts");
    for (auto& p : pods)
      if (p.ready) traffic_server_pod(p, want, ports);
  }

  void nginx(const RouteConfigMaps& baseline) {
    std::string want = target.data("nginx-config", "route_table.yaml");
    auto pods = list(kNginx);
    for (auto& p : pods)
      if (p.ready) file_pod(p, kNginx, want, "nginx re-reads it every 5s");
    // nginx keeps a party that left its routes until it restarts
    std::vector<std::string> gone;
    if (baseline.has("nginx-config")) {
      std::set<std::string> before, after;
      for (auto& [k, v] : route_file_entries("nginx", baseline.data("nginx-config", "route_table.yaml")))
        before.insert(route_entry_party(k));
      for (auto& [k, v] : route_file_entries("nginx", want)) after.insert(route_entry_party(k));
      for (auto& p : before)
        if (!after.count(p)) gone.push_back("party " + p);
    }
    std::vector<std::string> names;
    for (auto& p : pods)
      if (p.running) names.push_back(p.name);
    if (gone.empty() || names.empty()) return;
    if (!o.restart_nginx) {
      rep.notes.push_back(join(gone) + " left the nginx routes: nginx keeps routing them until its pods restart "
                                       "(--no-restart-nginx)");
      return;
    }
    restart(kNginx, names, join(gone) + " left the nginx routes; nginx keeps them until restarted");
    for (auto& p : list(kNginx))
      if (p.ready && !checked.count(p.name)) file_pod(p, kNginx, want, "new pod read the routes at start");
  }

  void rollsite() {
    std::string want = target.data("rollsite-config", "route_table.json");
    for (auto& p : list(kRollsite))
      if (p.ready) file_pod(p, kRollsite, want, "rollsite re-reads it by itself");
  }

  // Pods that appeared while the change ran are brought along; one that vanished before it was
  // checked was caught by its exec.
  void settle() {
    std::string want = target.data("traffic-server-sni", "sni.yaml");
    std::string ports = detail::records_connect_ports(target.data("traffic-server-config", "records.config"));
    for (int round = 0; round < 3; ++round) {
      bool more = false;
      if (target.has("traffic-server-sni"))
        for (auto& p : list(kTrafficServer))
          if (p.ready && !checked.count(p.name)) {
            more = true;
            traffic_server_pod(p, want, ports);
          }
      if (target.has("nginx-config"))
        for (auto& p : list(kNginx))
          if (p.ready && !checked.count(p.name)) {
            more = true;
            file_pod(p, kNginx, target.data("nginx-config", "route_table.yaml"), "new pod read the routes at start");
          }
      if (target.has("rollsite-config"))
        for (auto& p : list(kRollsite))
          if (p.ready && !checked.count(p.name)) {
            more = true;
            file_pod(p, kRollsite, target.data("rollsite-config", "route_table.json"), "new pod read the routes at start");
          }
      if (!more) return;
    }
  }
};

// ConfigMap fields a restore must not send back (server-set).
YAML::Node applyable(const YAML::Node& live) {
  YAML::Node o(YAML::NodeType::Map);
  o["apiVersion"] = "v1";
  o["kind"] = "ConfigMap";
  kube::F md(live["metadata"]);
  o["metadata"]["name"] = yaml::str(md["name"].str());
  o["metadata"]["namespace"] = yaml::str(md["namespace"].str());
  for (const char* k : {"labels", "annotations"})
    if (md[k] && md[k].node().IsMap() && md[k].size() > 0) o["metadata"][k] = yaml::clone(md[k]);
  if (live["data"] && live["data"].IsMap()) o["data"] = yaml::clone(live["data"]);
  else o["data"] = YAML::Node(YAML::NodeType::Map);
  return o;
}

// ConfigMap data as a sorted map: the API server may return keys in another order.
std::map<std::string, std::string> data_of(const YAML::Node& n) {
  std::map<std::string, std::string> out;
  kube::F d(n["data"]);
  for (const auto& kv : d) out[kv.first.Scalar()] = kv.second.IsScalar() ? kv.second.Scalar() : "";
  return out;
}

bool same_data(const YAML::Node& a, const YAML::Node& b) { return data_of(a) == data_of(b); }

}  // namespace

std::string RouteConfigMaps::data(const std::string& cm, const std::string& key) const {
  auto it = objects.find(cm);
  if (it == objects.end()) return "";
  kube::F f(it->second);
  return f["data"][key].str();
}

const std::vector<std::string>& route_configmap_names() {
  static const std::vector<std::string> names = {"traffic-server-sni", "traffic-server-config", "nginx-config",
                                                 "rollsite-config"};
  return names;
}

RouteConfigMaps render_route_configmaps(const std::string& spec_text, const std::string& label, const std::string& ns_override) {
  spec::ClusterSpec sp = spec::parse(spec_text, label);
  if (!sp.is_exchange())
    throw invalid(label + ": chartName is '" + sp.chart_name + "'; exchange routes live in a fate-exchange spec");
  RouteConfigMaps out;
  out.name = sp.name;
  out.ns = ns_override.empty() ? sp.namespace_ : ns_override;
  const auto& names = route_configmap_names();
  for (auto& ob : render::render(sp)) {
    if (ob.kind() != "ConfigMap" || std::find(names.begin(), names.end(), ob.name()) == names.end()) continue;
    YAML::Node n = yaml::clone(ob.node);
    n["metadata"]["namespace"] = yaml::str(out.ns);
    out.objects[ob.name()] = n;
  }
  return out;
}

std::unique_ptr<ExchangeCluster> kube_exchange_cluster(const ReloadOptions& o) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = o.context;
  return std::make_unique<KubeExchangeCluster>(kube::load_config(lo));
}

std::unique_ptr<ExchangeCluster> kube_exchange_cluster(kube::Client& c) { return std::make_unique<KubeExchangeCluster>(c); }

RouteConfigMaps read_route_configmaps(ExchangeCluster& cluster, const std::string& name, const std::string& ns) {
  RouteConfigMaps out;
  out.name = name;
  out.ns = ns;
  for (auto& cm : route_configmap_names()) {
    YAML::Node live = cluster.configmap(ns, cm);
    if (live && live.IsMap()) out.objects[cm] = applyable(live);
  }
  return out;
}

ReloadReport converge(ExchangeCluster& cluster, const RouteConfigMaps& target, const RouteConfigMaps& baseline,
                      const ReloadOptions& o) {
  Run run{cluster, target, o, {}, {}};
  run.rep.namespace_ = target.ns;
  for (auto& [name, obj] : target.objects) {
    YAML::Node live;
    try {
      live = cluster.configmap(target.ns, name);
    } catch (const Error& e) {
      run.fail("apply", e.kind(), "reading ConfigMap " + name + ": " + e.what());
    }
    if (live && same_data(live, obj)) continue;
    try {
      cluster.apply(obj);
    } catch (const Error& e) {
      run.fail("apply", e.kind(), "ConfigMap/" + name + ": " + e.what());
    }
    run.rep.applied.push_back("ConfigMap/" + name);
  }
  if (target.has("traffic-server-sni")) run.traffic_server();
  if (target.has("nginx-config")) run.nginx(baseline);
  if (target.has("rollsite-config")) run.rollsite();
  run.settle();
  return run.rep;
}

YAML::Node reload_report_yaml(const ReloadReport& r) {
  YAML::Node n;
  n["namespace"] = yaml::str(r.namespace_);
  n["applied"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& a : r.applied) n["applied"].push_back(yaml::str(a));
  n["pods"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& p : r.pods) {
    YAML::Node e;
    e["pod"] = yaml::str(p.pod);
    e["component"] = yaml::str(p.component);
    e["file"] = yaml::str(p.file);
    e["reload"] = yaml::str(p.reload);
    e["confirmed"] = yaml::str(p.confirmed);
    e["ok"] = p.ok;
    n["pods"].push_back(e);
  }
  n["notes"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& a : r.notes) n["notes"].push_back(yaml::str(a));
  n["ok"] = r.failed_step.empty();
  if (!r.failed_step.empty()) {
    n["failedStep"] = yaml::str(r.failed_step);
    n["error"] = yaml::str(r.error);
  }
  return n;
}

std::string reload_report_text(const ReloadReport& r) {
  std::string o;
  if (!r.applied.empty()) o += "applied: " + join(r.applied) + "\n";
  if (!r.pods.empty()) {
    output::Table t;
    t.headers = {"POD", "COMPONENT", "FILE", "RELOAD", "CONFIRMED"};
    for (auto& p : r.pods) t.rows.push_back({p.pod, p.component, p.file, p.reload, p.confirmed});
    o += t.render();
  }
  for (auto& n : r.notes) o += "note: " + n + "\n";
  if (!r.failed_step.empty()) o += "FAILED at step '" + r.failed_step + "': " + r.error + "\n";
  return o;
}

}  // namespace fatectl::ops
