// FATE's toy_example run inside the guest's FATE Flow pod through pod exec: the command and
// container by FATE version, and a verdict with a likely cause from what FATE prints.
#include <algorithm>

#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/exec.h"
#include "fatectl/kube/kubeconfig.h"
#include "fatectl/ops/toy.h"

namespace fatectl::ops {
namespace {

struct Ver {
  int major = 0, minor = 0, patch = 0;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// "v?MAJOR.MINOR[.PATCH]" at the start of `s` (anything may follow); each number at most 6
/// digits; `text` gets the version as written, without the 'v'. False when there is none.
/// A hand-written scanner: linear, no regex, no stoi overflow.
bool leading_version(const std::string& s, Ver& out, std::string* text = nullptr) {
  size_t i = (!s.empty() && s[0] == 'v') ? 1 : 0;
  size_t begin = i;
  int nums[3] = {0, 0, 0};
  int k = 0;
  for (; k < 3; ++k) {
    if (k > 0) {
      if (i + 1 >= s.size() || s[i] != '.' || !is_digit(s[i + 1])) break;
      ++i;
    }
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) {
      if (i - start == 6) return false;
      nums[k] = nums[k] * 10 + (s[i++] - '0');
    }
    if (i == start) return false;
  }
  if (k < 2) return false;
  out = Ver{nums[0], nums[1], nums[2]};
  if (text) *text = s.substr(begin, i - begin);
  return true;
}

Ver parse_ver(const std::string& v) {
  Ver r;
  if (!leading_version(v, r))
    throw invalid("FATE version '" + one_line(v, 64) + "': expected MAJOR.MINOR[.PATCH], e.g. 1.11.2");
  return r;
}

bool before(const Ver& v, int ma, int mi) { return v.major < ma || (v.major == ma && v.minor < mi); }

/// FATE's output as the verdict needs it: the first and the last kKeep bytes (what lies between
/// is counted, not kept), so an endless stream cannot fill memory.
class HeadTail {
 public:
  void append(std::string_view s) {
    if (head_.size() < kKeep) {
      size_t take = std::min(kKeep - head_.size(), s.size());
      head_.append(s.substr(0, take));
      s.remove_prefix(take);
    }
    if (s.empty()) return;
    tail_.append(s);
    if (tail_.size() > 2 * kKeep) {  // trim in big steps: amortised O(1) per byte
      size_t cut = tail_.size() - kKeep;
      dropped_ += cut;
      tail_.erase(0, cut);
    }
  }
  std::string text() const {
    if (dropped_ == 0) return head_ + tail_;
    return head_ + "\n[... " + std::to_string(dropped_) + " bytes of output not kept ...]\n" + tail_;
  }

 private:
  static constexpr size_t kKeep = 1 << 20;
  std::string head_, tail_;
  uint64_t dropped_ = 0;
};

// FATE's output can be megabytes from a hostile or broken pod: it is scanned with find() and
// bounded tokens, never a regex (whose recursion overflows the stack on long matches).
constexpr size_t kMaxToken = 256;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The run of characters at `at` for which `keep` holds (at most kMaxToken; "" when longer).
template <class Keep>
std::string token_at(const std::string& s, size_t at, Keep keep) {
  size_t e = at;
  while (e < s.size() && keep(s[e]) && e - at <= kMaxToken) ++e;
  if (e - at > kMaxToken) return "";
  return s.substr(at, e - at);
}

/// What `flow test toy` printed: "toy test job JOBID is STATE" lines.
struct FlowJobs {
  std::string first_id;  ///< of the first such line
  bool success = false, failed = false;
};

FlowJobs flow_jobs(const std::string& out) {
  FlowJobs f;
  const std::string p = "toy test job ";
  for (size_t at = out.find(p); at != std::string::npos; at = out.find(p, at + 1)) {
    size_t id_at = at + p.size();
    std::string id = token_at(out, id_at, [](char c) { return !is_space(c); });
    if (id.empty() || out.compare(id_at + id.size(), 4, " is ") != 0) continue;
    if (f.first_id.empty()) f.first_id = id;
    size_t st = id_at + id.size() + 4;
    if (out.compare(st, 7, "success") == 0) f.success = true;
    if (out.compare(st, 6, "failed") == 0 || out.compare(st, 8, "canceled") == 0) f.failed = true;
  }
  return f;
}

// FATE 1.6: the value of the first "jobId": "..." in the output.
std::string job_id_16(const std::string& out) {
  const std::string p = "\"jobId\":";
  for (size_t at = out.find(p); at != std::string::npos; at = out.find(p, at + 1)) {
    size_t q = at + p.size();
    while (q < out.size() && is_space(out[q]) && q - at < kMaxToken) ++q;
    if (q >= out.size() || out[q] != '"') continue;
    std::string id = token_at(out, q + 1, [](char c) { return c != '"'; });
    if (!id.empty() && q + 1 + id.size() < out.size() && out[q + 1 + id.size()] == '"') return id;
  }
  return "";
}

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

}  // namespace

std::string version_from_image(const std::string& image) {
  size_t slash = image.rfind('/');
  size_t colon = image.find(':', slash == std::string::npos ? 0 : slash);
  if (colon == std::string::npos) return "";
  std::string tag = image.substr(colon + 1), text;
  Ver v;
  return leading_version(tag, v, &text) ? text : "";
}

ToyCommand toy_command(const std::string& version, long guest, long host, int timeout_s) {
  Ver v = parse_ver(version);
  std::string g = std::to_string(guest), h = std::to_string(host);
  ToyCommand c;
  if (before(v, 1, 6)) throw invalid("FATE " + version + " is older than 1.6; fatectl's toy check supports 1.6 and later");
  if (before(v, 1, 7)) {
    c.container = "python";
    c.flavour = "run_toy_example";
    c.argv = {"bash", "-c", "cd /data/projects/fate/examples/toy_example && python run_toy_example.py " + g + " " + h + " 1"};
    return c;
  }
  c.container = before(v, 1, 9) ? "python" : "fateflow";
  c.flavour = "flow test toy";
  c.argv = {"flow", "test", "toy", "-gid", g, "-hid", h};
  (void)timeout_s;
  return c;
}

const char* verdict_name(ToyVerdict v) {
  switch (v) {
    case ToyVerdict::Success: return "success";
    case ToyVerdict::Failed: return "failed";
    case ToyVerdict::Timeout: return "timeout";
    case ToyVerdict::QueryFailed: return "query-job-status-failed";
    case ToyVerdict::FlowDown: return "fate-flow-down";
    case ToyVerdict::NotStarted: return "command-not-started";
    case ToyVerdict::Unknown: return "unknown";
  }
  return "unknown";
}

ToyAnalysis exec_not_started(const std::vector<std::string>& argv, const std::string& pod, const std::string& container,
                             const std::string& version, const std::string& error) {
  ToyAnalysis a;
  a.verdict = ToyVerdict::NotStarted;
  a.exec_error = error;
  std::string cmd;
  for (const auto& w : argv) cmd += (cmd.empty() ? "" : " ") + w;
  a.hint = "the command `" + cmd + "` could not start in pod " + pod + ", container " + container +
           " (nothing of FATE ran; the API server said: " + error + ")";
  if (error.find("not found") != std::string::npos || error.find("no such file") != std::string::npos)
    a.hint += ". The container has no `" + argv[0] + "`: it is not FATE Flow " + version +
              "'s image, or the version guess is wrong (give --fate-version)";
  else if (error.find("container not found") != std::string::npos || error.find("is not running") != std::string::npos)
    a.hint += ". The container is not running: see `fatectl cluster status --events`";
  return a;
}

ToyAnalysis analyse_toy_output(const std::string& version, const std::string& out, int exit_code, long guest,
                               long host, bool one_sided) {
  ToyAnalysis a;
  Ver v = parse_ver(version);
  bool v16 = before(v, 1, 7);
  bool v2 = v.major >= 2;
  FlowJobs jobs = flow_jobs(out);
  a.job_id = v16 ? job_id_16(out) : jobs.first_id;
  if (!a.job_id.empty()) {
    if (v16) a.log_command = "python /data/projects/fate/python/fate_flow/fate_flow_client.py -f job_log -j " + a.job_id + " -o /tmp/toy-logs";
    else if (v2) a.log_command = "flow job download-log -j " + a.job_id + " -o /tmp/toy-logs";
    else a.log_command = "flow job log -j " + a.job_id + " -o /tmp/toy-logs";
  }
  std::string peer = std::to_string(host);
  std::string self = std::to_string(guest);

  // success
  const std::string sum16 = "success to calculate secure_sum, it is ";
  if (size_t at = out.find(sum16); v16 && exit_code == 0 && at != std::string::npos) {
    std::string sum = token_at(out, at + sum16.size(), [](char c) {
      return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
    });
    if (!sum.empty()) {
      a.verdict = ToyVerdict::Success;
      a.sum = sum;
      return a;
    }
  }
  if (!v16 && exit_code == 0 && jobs.success) {
    a.verdict = ToyVerdict::Success;
    return a;
  }
  // FATE Flow itself not answering
  if (out.find("Please check if the fate flow service is started") != std::string::npos ||
      out.find("Connection refused") != std::string::npos ||
      out.find("Failed to establish a new connection") != std::string::npos) {
    a.verdict = ToyVerdict::FlowDown;
    a.hint = "FATE Flow of party " + self + " is not answering (connection refused): it is not up yet or crashed; "
             "check the python/fateflow pod's status and logs (fatectl cluster status), then retry";
    return a;
  }
  if (count_of(out, "query job status failed") >= 3) {
    a.verdict = ToyVerdict::QueryFailed;
    a.hint = one_sided ? "the guest cannot query its own job: the party id " + self +
                             " does not match this FATE Flow's party, or FATE Flow is not healthy"
                       : "the guest cannot query the job (\"query job status failed\" repeated): party " + peer +
                             " is probably missing from a route table (the guest's or the Exchange's nginx route_table "
                             "or rollsite partyList; fatectl exchange route list), or its id is wrong, or its FATE "
                             "Flow is unreachable";
    return a;
  }
  if (out.find("job running time exceed") != std::string::npos || out.find("check job status timeout") != std::string::npos ||
      (v2 && out.find("timeout...") != std::string::npos)) {
    a.verdict = ToyVerdict::Timeout;
    a.hint = one_sided ? "the job was submitted but did not finish in time on the guest alone: the computing engine "
                         "(Eggroll/Spark) of party " + self + " is not healthy or too small; read the job's logs"
                       : "the job was submitted but did not finish: the federation path between " + self + " and " +
                             peer + " is broken (Pulsar/rollsite route tables, the Exchange's SNI route for " + peer +
                             ", certificates, connect_ports) or party " + peer + " is unhealthy; read the job's logs";
    return a;
  }
  if (jobs.failed || out.find("job status is failed") != std::string::npos || exit_code != 0) {
    a.verdict = ToyVerdict::Failed;
    a.hint = one_sided ? "the toy job failed on the guest alone: party " + self + " itself is broken; read the job's logs"
                       : "the toy job failed; the one-sided run passed, so look at party " + peer +
                             " and the path to it (route tables, the Exchange); read the job's logs";
    if (exit_code != 0 && !jobs.failed) a.hint += " (the command exited " + std::to_string(exit_code) + ")";
    return a;
  }
  a.verdict = ToyVerdict::Unknown;
  a.hint = "FATE printed no success line; read the output above";
  return a;
}

ClusterToyReport run_cluster_toy(const ClusterToyOptions& o) {
  kube::LoadOptions lo;
  lo.kubeconfig = o.kubeconfig;
  lo.context = o.context;
  kube::Client client(kube::load_config(lo));
  ClusterToyReport rep;
  rep.namespace_ = o.namespace_.empty() ? client.config().namespace_ : o.namespace_;
  std::vector<YAML::Node> pods = kube::list(client, "v1", "Pod", rep.namespace_, "fateMoudle=python");
  int chosen = -1;
  std::string states;
  for (size_t i = 0; i < pods.size(); ++i) {
    const YAML::Node& p = pods[i];
    std::string phase = p["status"]["phase"] ? p["status"]["phase"].Scalar() : "?";
    states += (states.empty() ? "" : ", ") + p["metadata"]["name"].Scalar() + " " + phase;
    if (phase == "Running" && !p["metadata"]["deletionTimestamp"] && chosen < 0) chosen = static_cast<int>(i);
  }
  if (chosen < 0) {
    if (pods.empty())
      throw failed("no FATE Flow pod (label fateMoudle=python) in namespace " + rep.namespace_ +
                   ": is party " + std::to_string(o.guest) + " installed there? (-n NAMESPACE)");
    throw failed("FATE Flow is not up in namespace " + rep.namespace_ + " (" + states +
                 "); wait for it (fatectl cluster status) and retry");
  }
  const YAML::Node& pod = pods[static_cast<size_t>(chosen)];
  rep.pod = pod["metadata"]["name"].Scalar();
  std::string image_py, image_ff;
  for (auto c : pod["spec"]["containers"]) {
    if (c["name"].Scalar() == "fateflow") image_ff = c["image"].Scalar();
    if (c["name"].Scalar() == "python") image_py = c["image"].Scalar();
  }
  std::string image = image_ff.empty() ? image_py : image_ff;
  if (!o.version.empty()) {
    rep.version = o.version;
    rep.version_source = "--fate-version";
  } else {
    rep.version = version_from_image(image);
    rep.version_source = "image " + image;
    if (rep.version.empty())
      throw invalid("cannot tell the FATE version from image '" + image + "' of pod " + rep.pod +
                    "; give it with --fate-version (e.g. 1.11.2)");
  }
  std::vector<std::pair<long, long>> plan;
  if (!o.skip_one_sided) plan.push_back({o.guest, o.guest});
  if (o.host != o.guest || o.skip_one_sided) plan.push_back({o.guest, o.host});
  for (auto [g, h] : plan) {
    ToyCommand cmd = toy_command(rep.version, g, h, static_cast<int>(o.timeout.count()));
    rep.container = cmd.container;
    bool have = (cmd.container == "fateflow" && !image_ff.empty()) || (cmd.container == "python" && !image_py.empty());
    if (!have) {
      // an image whose tag says one generation with the other's layout: use what the pod has
      rep.container = image_ff.empty() ? "python" : "fateflow";
    }
    ToyRun run;
    run.guest = g;
    run.host = h;
    if (o.on_output) o.on_output("--- toy " + std::to_string(g) + " -> " + std::to_string(h) + " (" + cmd.flavour + " in " +
                                 rep.pod + "/" + rep.container + ", FATE " + rep.version + ")\n");
    kube::ExecOptions eo;
    eo.container = rep.container;
    eo.timeout = o.timeout;
    HeadTail kept;  // streamed to on_output whole, kept only as far as the verdict needs
    eo.on_stdout = [&](std::string_view s) {
      kept.append(s);
      if (o.on_output) o.on_output(std::string(s));
    };
    eo.on_stderr = eo.on_stdout;
    auto t0 = std::chrono::steady_clock::now();
    try {
      kube::ExecResult r = kube::exec(client, rep.namespace_, rep.pod, cmd.argv, eo);
      run.exit_code = r.exit_code;
      run.output = kept.text();
      if (r.exit_code < 0 && !r.error.empty()) {
        // no exit code: the runtime could not start the command (not FATE failing)
        if (o.on_output) o.on_output("exec error from the API server: " + r.error + "\n");
        run.analysis = exec_not_started(cmd.argv, rep.pod, rep.container, rep.version, r.error);
      } else {
        run.analysis = analyse_toy_output(rep.version, run.output, run.exit_code, g, h, g == h);
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Timeout) throw;
      run.exit_code = -1;
      run.output = kept.text();
      // judged as if it were still running: the patterns, not the missing exit code
      run.analysis = analyse_toy_output(rep.version, run.output, 0, g, h, g == h);
      run.analysis.verdict = ToyVerdict::Timeout;
      run.analysis.hint = "no verdict from FATE within --timeout " + std::to_string(o.timeout.count()) + "s; " +
                          (run.analysis.hint.empty() ? "read the job's logs" : run.analysis.hint);
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!run.analysis.log_command.empty())
      run.analysis.log_command = "kubectl -n " + rep.namespace_ + " exec " + rep.pod + " -c " + rep.container + " -- " +
                                 run.analysis.log_command;
    bool ok = run.analysis.verdict == ToyVerdict::Success;
    rep.runs.push_back(run);
    if (!ok) return rep;
  }
  rep.ok = !rep.runs.empty();
  return rep;
}

YAML::Node cluster_report_yaml(const ClusterToyReport& r) {
  YAML::Node n;
  n["namespace"] = yaml::str(r.namespace_);
  n["pod"] = yaml::str(r.pod);
  n["container"] = yaml::str(r.container);
  n["fateVersion"] = yaml::str(r.version);
  n["versionSource"] = yaml::str(r.version_source);
  n["ok"] = r.ok;
  n["runs"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& run : r.runs) {
    YAML::Node e;
    e["guest"] = run.guest;
    e["host"] = run.host;
    e["verdict"] = yaml::str(verdict_name(run.analysis.verdict));
    e["exitCode"] = run.exit_code;
    e["seconds"] = run.seconds;
    if (!run.analysis.job_id.empty()) e["jobId"] = yaml::str(run.analysis.job_id);
    if (!run.analysis.sum.empty()) e["sum"] = yaml::str(run.analysis.sum);
    if (!run.analysis.hint.empty()) e["hint"] = yaml::str(run.analysis.hint);
    if (!run.analysis.log_command.empty()) e["logCommand"] = yaml::str(run.analysis.log_command);
    if (!run.analysis.exec_error.empty()) e["execError"] = yaml::str(run.analysis.exec_error);
    n["runs"].push_back(e);
  }
  return n;
}

}  // namespace fatectl::ops
