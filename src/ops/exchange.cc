#include "fatectl/ops/exchange.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <thread>

#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/exec.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"

namespace fatectl::ops {
namespace {

using Clock = std::chrono::steady_clock;

std::string rstrip(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string secs(Clock::duration d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1fs", std::chrono::duration<double>(d).count());
  return b;
}

std::string dir_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s + 1);
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string o;
  for (auto& s : v) o += (o.empty() ? "" : sep) + s;
  return o;
}

/// The kube/ implementation.
class KubeExchangeCluster : public ExchangeCluster {
 public:
  explicit KubeExchangeCluster(kube::Config cfg) : client_(std::move(cfg)) {}
  void apply(const YAML::Node& obj) override { kube::apply(client_, obj); }
  YAML::Node configmap_data(const std::string& ns, const std::string& name) override {
    auto o = kube::get(client_, kube::ObjectRef{"v1", "ConfigMap", ns, name});
    if (!o) return YAML::Node();
    return (*o)["data"];
  }
  std::vector<std::string> running_pods(const std::string& ns, const std::string& selector) override {
    std::vector<std::string> out;
    for (auto& p : kube::list(client_, "v1", "Pod", ns, selector)) {
      if (p["metadata"]["deletionTimestamp"]) continue;
      if (p["status"]["phase"] && p["status"]["phase"].Scalar() == "Running") out.push_back(p["metadata"]["name"].Scalar());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  PodExecResult exec(const std::string& ns, const std::string& pod, const std::string& container,
                     const std::vector<std::string>& argv, std::chrono::milliseconds timeout) override {
    kube::ExecOptions eo;
    eo.container = container;
    eo.timeout = timeout;
    kube::ExecResult r = kube::exec(client_, ns, pod, argv, eo);
    PodExecResult out;
    out.exit_code = r.exit_code;
    out.out = r.stdout_data;
    out.err = r.stderr_data.empty() ? r.error : r.stderr_data;
    return out;
  }
  void delete_pod(const std::string& ns, const std::string& pod) override {
    kube::remove(client_, kube::ObjectRef{"v1", "Pod", ns, pod});
  }

 private:
  kube::Client client_;
};

/// One reload run: state shared by the steps, so a failure can say what was done already.
struct Run {
  ExchangeCluster& cl;
  const ReloadOptions& o;
  ReloadReport rep;
  std::string ns;

  [[noreturn]] void fail(const std::string& step, ErrorKind kind, const std::string& msg) {
    rep.failed_step = step;
    rep.error = msg;
    std::vector<std::string> done, notdone;
    for (auto& p : rep.pods) (p.ok ? done : notdone).push_back(p.pod);
    std::string m = "exchange reload: step '" + step + "' failed: " + msg;
    if (!rep.applied.empty()) m += "; applied: " + join(rep.applied);
    m += "; pods reloaded: " + (done.empty() ? std::string("none") : join(done));
    if (!notdone.empty()) m += "; not reloaded: " + join(notdone);
    throw ReloadFailure(kind, m, rep);
  }

  PodExecResult exec(const std::string& step, PodReport& pr, const std::string& container,
                     const std::vector<std::string>& argv) {
    try {
      return cl.exec(ns, pr.pod, container, argv, std::chrono::milliseconds(60'000));
    } catch (const Error& e) {
      fail(step, e.kind(), "exec in pod " + pr.pod + " (container " + container + "): " + e.what());
    }
  }

  // Polls the mounted file until it holds `want` (the ConfigMap's data).
  void wait_file(PodReport& pr, const std::string& container, const std::string& path, const std::string& want) {
    auto t0 = Clock::now();
    std::string last_err;
    while (true) {
      PodExecResult r = exec("propagate", pr, container, {"cat", path});
      if (r.exit_code == 0 && rstrip(r.out) == rstrip(want)) {
        pr.file = "updated after " + secs(Clock::now() - t0);
        return;
      }
      if (r.exit_code != 0) last_err = rstrip(r.err);
      if (Clock::now() - t0 >= o.timeout) {
        pr.file = "not updated";
        fail("propagate", ErrorKind::Timeout,
             "pod " + pr.pod + ": " + path + " still differs from the applied ConfigMap after " +
                 secs(Clock::now() - t0) + (last_err.empty() ? "" : " (" + last_err + ")") +
                 "; the kubelet refreshes mounted ConfigMaps within about a minute -- check the pod's volume "
                 "mounts, or retry with a longer --timeout");
      }
      std::this_thread::sleep_for(o.poll);
    }
  }

  long metric(PodReport& pr, const std::string& name) {
    PodExecResult r = exec("reload", pr, "traffic-server", {o.traffic_ctl, "metric", "get", name});
    if (r.exit_code != 0) return -1;
    std::istringstream in(r.out);
    std::string k, v;
    in >> k >> v;
    try {
      return std::stol(v);
    } catch (...) {
      return -1;
    }
  }

  void traffic_server_pod(PodReport& pr, const std::string& want, bool sni_changed) {
    pr.component = "traffic-server";
    pr.reload = "not run";
    // 1. the kubelet must have written the new sni.yaml into the pod
    PodExecResult first = exec("propagate", pr, "traffic-server", {"cat", kSniMountPath});
    bool already = first.exit_code == 0 && rstrip(first.out) == rstrip(want);
    if (already) pr.file = "up to date";
    else wait_file(pr, "traffic-server", kSniMountPath, want);
    // where Traffic Server logs (diags.log), and how much of it exists before the reload
    std::string logdir = "/opt/trafficserver/var/log/trafficserver";
    PodExecResult li = exec("reload", pr, "traffic-server", {dir_of(o.traffic_ctl) + "traffic_layout", "info"});
    if (li.exit_code == 0) {
      std::istringstream in(li.out);
      std::string line;
      while (std::getline(in, line))
        if (line.rfind("LOGDIR:", 0) == 0) {
          std::string v = rstrip(line.substr(7));
          size_t a = v.find_first_not_of(' ');
          if (a != std::string::npos) logdir = v.substr(a);
        }
    }
    std::string diags = logdir + "/diags.log";
    PodExecResult wc = exec("reload", pr, "traffic-server",
                            {"sh", "-c", "if [ -r \"$1\" ]; then wc -l < \"$1\"; else echo missing; fi", "sh", diags});
    long lines_before = -1;
    try {
      lines_before = std::stol(rstrip(wc.out));
    } catch (...) {
    }
    long t_before = metric(pr, "proxy.node.config.reconfigure_time");
    // 2. reload
    PodExecResult rl = exec("reload", pr, "traffic-server", {o.traffic_ctl, "config", "reload"});
    if (rl.exit_code != 0) {
      pr.reload = "failed (exit " + std::to_string(rl.exit_code) + ")";
      fail("reload", ErrorKind::Failed,
           "pod " + pr.pod + ": " + o.traffic_ctl + " config reload exited " + std::to_string(rl.exit_code) +
               (rstrip(rl.err).empty() ? "" : ": " + rstrip(rl.err)));
    }
    pr.reload = "ok";
    // 3. confirm: Traffic Server accepted the reload and loaded sni.yaml without an error.
    //    traffic_ctl returns 0 even for a broken file, so read the log.
    auto t0 = Clock::now();
    bool need_load = sni_changed || !already;
    auto limit = need_load ? o.confirm_timeout : std::min(o.confirm_timeout, std::chrono::milliseconds(6'000));
    while (true) {
      if (lines_before >= 0) {
        PodExecResult tail = exec("confirm", pr, "traffic-server",
                                  {"sh", "-c", "tail -n +\"$2\" \"$1\"", "sh", diags, std::to_string(lines_before + 1)});
        std::istringstream in(tail.out);
        std::string line;
        bool loaded = false;
        while (std::getline(in, line)) {
          if (line.find("sni.yaml") != std::string::npos &&
              (line.find("failed to load") != std::string::npos || line.find("ERROR") != std::string::npos)) {
            pr.confirmed = "sni.yaml rejected";
            fail("confirm", ErrorKind::Failed,
                 "pod " + pr.pod + ": Traffic Server did not accept the new sni.yaml and keeps the old routes: " + rstrip(line));
          }
          if (line.find("sni.yaml finished loading") != std::string::npos) loaded = true;
        }
        if (loaded) {
          pr.confirmed = "sni.yaml loaded after " + secs(Clock::now() - t0);
          pr.ok = true;
          return;
        }
      }
      if (Clock::now() - t0 >= limit) break;
      std::this_thread::sleep_for(std::min(o.poll, std::chrono::milliseconds(1000)));
    }
    long t_after = metric(pr, "proxy.node.config.reconfigure_time");
    bool accepted = t_before >= 0 && t_after > t_before;
    if (need_load && lines_before >= 0) {
      pr.confirmed = "no load seen";
      fail("confirm", ErrorKind::Timeout,
           "pod " + pr.pod + ": Traffic Server did not log loading sni.yaml within " + secs(Clock::now() - t0) +
               " after the reload (" + diags + ")" + (accepted ? "" : "; its reconfigure time did not change either"));
    }
    if (!accepted && t_before >= 0) {
      pr.confirmed = "reload not seen";
      fail("confirm", ErrorKind::Failed, "pod " + pr.pod + ": Traffic Server's reconfigure time did not change after the reload");
    }
    pr.confirmed = lines_before < 0 ? "reload accepted (diags.log not readable at " + diags + ")"
                                    : "reload accepted; sni.yaml was already loaded";
    pr.ok = true;
  }

  void restart_pods(const std::string& component, const std::string& selector, std::vector<std::string> old) {
    for (auto& p : old) {
      try {
        cl.delete_pod(ns, p);
      } catch (const Error& e) {
        fail("restart", e.kind(), "deleting pod " + p + ": " + e.what());
      }
    }
    auto t0 = Clock::now();
    std::set<std::string> olds(old.begin(), old.end());
    while (true) {
      std::vector<std::string> now;
      try {
        now = cl.running_pods(ns, selector);
      } catch (const Error& e) {
        fail("restart", e.kind(), e.what());
      }
      size_t fresh = 0;
      for (auto& p : now) fresh += olds.count(p) ? 0 : 1;
      if (fresh >= old.size()) {
        for (auto& p : now)
          if (!olds.count(p)) {
            PodReport pr;
            pr.pod = p;
            pr.component = component;
            pr.file = "-";
            pr.reload = "restarted";
            pr.confirmed = "new pod reads the new routes at start";
            pr.ok = true;
            rep.pods.push_back(pr);
          }
        return;
      }
      if (Clock::now() - t0 >= o.timeout)
        fail("restart", ErrorKind::Timeout, component + " pods did not come back within " + secs(Clock::now() - t0));
      std::this_thread::sleep_for(o.poll);
    }
  }
};

const YAML::Node* find_cm(const std::vector<render::Object>& objs, const std::string& name) {
  for (auto& ob : objs)
    if (ob.kind() == "ConfigMap" && ob.name() == name) return &ob.node;
  return nullptr;
}

}  // namespace

std::unique_ptr<ExchangeCluster> kube_exchange_cluster(const ReloadOptions& o) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = o.context;
  return std::make_unique<KubeExchangeCluster>(kube::load_config(lo));
}

ReloadReport apply_and_reload(ExchangeCluster& cluster, const std::string& file, const std::string& text,
                              const RouteEdit& edit, const ReloadOptions& o) {
  Run run{cluster, o, {}, {}};
  spec::ClusterSpec sp;
  std::vector<render::Object> objs;
  try {
    sp = spec::parse(text, file);
    if (!sp.is_exchange())
      throw invalid(file + ": chartName is '" + sp.chart_name + "'; exchange routes live in a fate-exchange spec");
    objs = render::render(sp);
  } catch (const ReloadFailure&) {
    throw;
  } catch (const Error& e) {
    run.fail("render", e.kind(), e.what());
  }
  run.ns = o.namespace_override.empty() ? sp.namespace_ : o.namespace_override;
  run.rep.namespace_ = run.ns;

  struct Part {
    bool changed;
    const char* module;
    const char* cm;
  };
  std::vector<Part> parts = {{edit.sni_changed, "trafficServer", "traffic-server-sni"},
                             {edit.sni_changed, "trafficServer", "traffic-server-config"},
                             {edit.nginx_changed, "nginx", "nginx-config"},
                             {edit.rollsite_changed, "rollsite", "rollsite-config"}};
  bool records_changed = false;
  std::vector<const YAML::Node*> to_apply;
  for (auto& p : parts) {
    if (!p.changed) continue;
    const YAML::Node* cm = find_cm(objs, p.cm);
    if (!cm) {
      std::string note = std::string(p.module) + " is not in the spec's modules: its route table is not deployed";
      if (std::find(run.rep.notes.begin(), run.rep.notes.end(), note) == run.rep.notes.end()) run.rep.notes.push_back(note);
      continue;
    }
    if (std::string(p.cm) == "traffic-server-config") {
      try {
        YAML::Node live = cluster.configmap_data(run.ns, p.cm);
        std::string want = (*cm)["data"]["records.config"].Scalar();
        records_changed = live && live["records.config"] && rstrip(live["records.config"].Scalar()) != rstrip(want);
      } catch (const Error& e) {
        run.fail("apply", e.kind(), std::string("reading ConfigMap ") + p.cm + ": " + e.what());
      }
    }
    to_apply.push_back(cm);
  }
  for (auto* cm : to_apply) {
    std::string what = "ConfigMap/" + (*cm)["metadata"]["name"].Scalar();
    try {
      YAML::Node obj = yaml::clone(*cm);
      obj["metadata"]["namespace"] = yaml::str(run.ns);
      cluster.apply(obj);
    } catch (const Error& e) {
      run.fail("apply", e.kind(), what + ": " + e.what());
    }
    run.rep.applied.push_back(what);
  }

  auto pods = [&](const std::string& fm) {
    try {
      return cluster.running_pods(run.ns, "fateMoudle=" + fm + ",name=" + sp.name);
    } catch (const Error& e) {
      run.fail("list pods", e.kind(), e.what());
    }
  };

  if (edit.sni_changed && find_cm(objs, "traffic-server-sni")) {
    std::string want = (*find_cm(objs, "traffic-server-sni"))["data"]["sni.yaml"].Scalar();
    auto names = pods("traffic-server");
    if (names.empty()) run.rep.notes.push_back("no running traffic-server pod: the routes apply when it starts");
    if (records_changed) {
      if (o.restart_traffic_server) {
        run.restart_pods("traffic-server", "fateMoudle=traffic-server,name=" + sp.name, names);
        names.clear();
      } else {
        run.rep.notes.push_back(
            "records.config changed (connect_ports now admits the new tunnel ports): Traffic Server reads it only at "
            "start; restart the traffic-server pods (fatectl exchange reload --restart-traffic-server)");
      }
    }
    for (auto& n : names) {
      run.rep.pods.push_back(PodReport{n, "traffic-server", "", "", "", false});
      run.traffic_server_pod(run.rep.pods.back(), want, !o.plain_reload);
    }
  }
  if (edit.nginx_changed && find_cm(objs, "nginx-config")) {
    std::string want = (*find_cm(objs, "nginx-config"))["data"]["route_table.yaml"].Scalar();
    auto names = pods("nginx");
    for (auto& n : names) {
      run.rep.pods.push_back(PodReport{n, "nginx", "", "-", "", false});
      PodReport& pr = run.rep.pods.back();
      run.wait_file(pr, "nginx", kNginxRoutePath, want);
      pr.confirmed = "nginx re-reads it every 5s";
      pr.ok = true;
    }
    if (edit.removed && !names.empty()) {
      if (o.restart_nginx) {
        for (auto& pr : run.rep.pods)
          if (pr.component == "nginx") pr.confirmed = "restarting (nginx keeps removed parties)";
        run.restart_pods("nginx", "fateMoudle=nginx,name=" + sp.name, names);
      } else {
        run.rep.notes.push_back("a party was removed: nginx keeps routing it until its pods restart");
      }
    }
  }
  if (edit.rollsite_changed && find_cm(objs, "rollsite-config")) {
    std::string want = (*find_cm(objs, "rollsite-config"))["data"]["route_table.json"].Scalar();
    for (auto& n : pods("rollsite")) {
      run.rep.pods.push_back(PodReport{n, "rollsite", "", "-", "", false});
      PodReport& pr = run.rep.pods.back();
      run.wait_file(pr, "rollsite", kRollsiteRoutePath, want);
      pr.confirmed = "rollsite re-reads it by itself";
      pr.ok = true;
    }
  }
  return run.rep;
}

ReloadReport apply_and_reload(const std::string& file, const std::string& text, const RouteEdit& edit,
                              const ReloadOptions& o) {
  std::unique_ptr<ExchangeCluster> cl;
  try {
    cl = kube_exchange_cluster(o);
  } catch (const Error& e) {
    ReloadReport r;
    r.failed_step = "connect";
    r.error = e.what();
    throw ReloadFailure(e.kind(), std::string("exchange reload: ") + e.what() + "; pods reloaded: none", r);
  }
  return apply_and_reload(*cl, file, text, edit, o);
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
  if (!r.namespace_.empty()) o += "namespace " + r.namespace_ + "\n";
  if (!r.applied.empty()) o += "applied: " + join(r.applied) + "\n";
  if (!r.pods.empty()) {
    output::Table t;
    t.headers = {"POD", "COMPONENT", "FILE", "RELOAD", "CONFIRMED"};
    for (auto& p : r.pods) t.rows.push_back({p.pod, p.component, p.file, p.reload, p.confirmed});
    o += t.render();
  }
  for (auto& n : r.notes) o += "note: " + n + "\n";
  if (!r.failed_step.empty()) o += "FAILED at step '" + r.failed_step + "'\n";
  return o;
}

}  // namespace fatectl::ops
