// fatectl toy: the toy_example connectivity check, in-cluster (FATE's own toy through the guest's
// FATE Flow pod) or native (secure-add between two fatectl parties, hop by hop).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "stdout_redirect.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/party.h"
#include "fatectl/kube/deadline.h"
#include "fatectl/ops/route_file.h"
#include "fatectl/ops/routes.h"
#include "fatectl/ops/toy.h"

namespace fatectl::cli {
namespace {

struct ToyOptions {
  std::string guest, host;
  std::string cluster;
  std::string timeout = "10m";
  bool skip_one_sided = false;
  std::string fate_version;
  bool native = false, local = false, serve = false;
  std::string job;
  std::string party_id;
  long data_num = 1000;
  std::string domain = "fate.org";
};

/// Removes a temporary directory this command made, however the command ends.
struct RemoveDir {
  std::string dir;
  ~RemoveDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::string make_temp_dir() {
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t && *t ? t : "/tmp") + "/fatectl-toy-XXXXXX";
  std::vector<char> b(tmpl.begin(), tmpl.end());
  b.push_back('\0');
  if (!::mkdtemp(b.data())) throw failed("cannot create a temporary directory under " + tmpl);
  return b.data();
}

int print_native_report(const std::string& report_file, GlobalOptions& g, int rc) {
  std::ifstream f(report_file);
  if (!f) {
    if (g.format() != output::Format::Table) {
      YAML::Node n;
      n["ok"] = false;
      n["exitCode"] = rc;
      n["error"] = yaml::str("the guest wrote no report (it did not start, or failed before the check)");
      output::print(g.format(), n);
    }
    return rc == 0 ? 1 : rc;
  }
  YAML::Node n = yaml::parse(yaml::read_file(report_file), report_file);
  ops::NativeToyReport r = ops::native_report_from_yaml(n);
  if (g.format() != output::Format::Table) {
    n["exitCode"] = rc;
    output::print(g.format(), n);
  } else {
    std::printf("\n%s", ops::native_report_text(r).c_str());
  }
  if (rc == 0 && !r.ok) rc = 1;
  return rc;
}

void run_native_local(const ToyOptions& o, GlobalOptions& g) {
  long guest = ops::parse_party_id(o.guest.empty() ? "9999" : o.guest, "--guest");
  long host = ops::parse_party_id(o.host.empty() ? "10000" : o.host, "--host");
  if (guest == host) throw invalid("--guest and --host must differ for the native toy");
  std::chrono::milliseconds to = fed::parse_duration(o.timeout, "--timeout");
  std::string dir = make_temp_dir();
  RemoveDir cleanup{dir};  // the job, the throwaway CA and the report: nothing of it is kept
  std::string report = dir + "/report.json";
  YAML::Node job;
  job["job"] = yaml::str("toy-" + std::to_string(::getpid()));
  job["domain"] = yaml::str(o.domain);
  job["certificates"] = yaml::str(dir + "/certs");
  job["timeout"] = yaml::str(std::to_string(to.count() / 1000 + 30) + "s");
  for (auto [id, role] : {std::pair<long, const char*>{guest, "guest"}, {host, "host"}}) {
    YAML::Node p;
    p["id"] = id;
    p["role"] = role;
    p["listen"] = yaml::str("127.0.0.1:0");
    job["parties"].push_back(p);
  }
  job["algorithm"]["name"] = "toy_secure_add";
  job["algorithm"]["params"]["dataNum"] = o.data_num;
  job["algorithm"]["params"]["reportFile"] = yaml::str(report);
  job["algorithm"]["params"]["reportParty"] = guest;
  job["algorithm"]["params"]["timeoutSeconds"] = to.count() / 1000;
  job["transport"]["connectTimeout"] = yaml::str("20s");
  std::string job_file = dir + "/toy-job.yaml";
  ops::write_file_atomic(job_file, yaml::to_yaml(job));
  fed::LocalRunOptions lo;
  lo.job_file = job_file;
  lo.run_dir = dir + "/run";
  lo.global_args.push_back("--no-color");
  int rc;
  {
    StdoutToStderr redirect(g.format() != output::Format::Table);
    rc = fed::run_local(lo);
  }
  rc = print_native_report(report, g, rc);
  if (rc != 0) throw ExitCode{rc};
}

void run_native_party(const ToyOptions& o, GlobalOptions& g) {
  if (o.job.empty()) throw invalid("toy --native: give --local, or --job FILE (with --serve --party-id for the host side)");
  fed::Job job = fed::load_job(o.job);
  long party = 0;
  if (!o.party_id.empty()) party = ops::parse_party_id(o.party_id, "--party-id");
  else if (o.serve) throw invalid("toy --native --serve: --party-id is required (the party this machine runs)");
  else party = job.first_with_role(fed::Role::Guest);
  if (!job.has_party(party)) throw invalid(o.job + ": party " + std::to_string(party) + " is not in the job");
  // the same job with the toy program, beside the original so relative paths still resolve
  YAML::Node doc = yaml::clone(job.source);
  std::string dir = o.job.find('/') == std::string::npos ? "." : o.job.substr(0, o.job.rfind('/'));
  std::string report_dir = make_temp_dir();
  RemoveDir cleanup{report_dir};
  std::string report = report_dir + "/report.json";
  YAML::Node params = doc["algorithm"] && doc["algorithm"]["params"] && doc["algorithm"]["name"] &&
                              doc["algorithm"]["name"].Scalar() == "toy_secure_add"
                          ? doc["algorithm"]["params"]
                          : YAML::Node(YAML::NodeType::Map);
  params["reportFile"] = yaml::str(report);
  if (!params["dataNum"]) params["dataNum"] = o.data_num;
  if (!params["timeoutSeconds"]) params["timeoutSeconds"] = fed::parse_duration(o.timeout, "--timeout").count() / 1000;
  YAML::Node alg(YAML::NodeType::Map);
  alg["name"] = "toy_secure_add";
  alg["params"] = params;
  doc["algorithm"] = alg;
  std::string tmp = dir + "/.fatectl-toy-" + std::to_string(::getpid()) + "-" + std::to_string(party) + ".yaml";
  ops::write_file_atomic(tmp, yaml::to_yaml(doc));
  fed::ServeOptions so;
  so.job_file = tmp;
  so.party = party;
  int rc = 1;
  try {
    StdoutToStderr redirect(g.format() != output::Format::Table);
    rc = fed::serve_party(so);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  ::unlink(tmp.c_str());
  rc = print_native_report(report, g, rc);
  if (rc != 0) throw ExitCode{rc};
}

void run_cluster(const ToyOptions& o, GlobalOptions& g) {
  if (o.guest.empty() || o.host.empty()) throw invalid("toy: --guest and --host are required (e.g. --guest 9999 --host 10000)");
  ops::ClusterToyOptions co;
  co.kubeconfig = g.kubeconfig;
  co.context = g.context;
  co.namespace_ = g.namespace_;
  if (co.namespace_.empty() && !o.cluster.empty()) co.namespace_ = o.cluster;
  co.guest = ops::parse_party_id(o.guest, "--guest");
  co.host = ops::parse_party_id(o.host, "--host");
  std::chrono::milliseconds timeout = fed::parse_duration(o.timeout, "--timeout");
  co.timeout = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  // --timeout is the whole command's deadline: both toy runs and every request end by it.
  kube::Deadline::limit_command(timeout, "--timeout " + o.timeout);
  co.skip_one_sided = o.skip_one_sided;
  co.version = o.fate_version;
  bool human = g.format() == output::Format::Table;
  co.on_output = [human](const std::string& s) {
    std::FILE* f = human ? stdout : stderr;
    std::fputs(s.c_str(), f);
    std::fflush(f);
  };
  ops::ClusterToyReport r = ops::run_cluster_toy(co);
  if (!human) {
    output::print(g.format(), ops::cluster_report_yaml(r));
  } else {
    std::printf("\n");
    output::Table t;
    t.headers = {"RUN", "VERDICT", "EXIT", "JOB", "TIME"};
    for (auto& run : r.runs) {
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.0fs", run.seconds);
      t.rows.push_back({std::to_string(run.guest) + " -> " + std::to_string(run.host) + (run.guest == run.host ? " (one-sided)" : ""),
                        ops::verdict_name(run.analysis.verdict),
                        run.analysis.verdict == ops::ToyVerdict::NotStarted ? "-" : std::to_string(run.exit_code),
                        run.analysis.job_id.empty() ? "-" : run.analysis.job_id, secs});
    }
    std::fputs(t.render().c_str(), stdout);
    std::printf("FATE %s (%s), pod %s/%s, container %s\n", r.version.c_str(), r.version_source.c_str(),
                r.namespace_.c_str(), r.pod.c_str(), r.container.c_str());
    if (r.ok) {
      std::printf("PASS: the toy example succeeded\n");
    } else if (!r.runs.empty()) {
      const auto& last = r.runs.back();
      std::printf("FAIL: %s\n", ops::verdict_name(last.analysis.verdict));
      if (last.analysis.verdict == ops::ToyVerdict::NotStarted)
        std::printf("%s\n", last.analysis.hint.c_str());
      else if (!last.analysis.hint.empty())
        std::printf("likely cause: %s\n", last.analysis.hint.c_str());
      if (!last.analysis.log_command.empty()) std::printf("job logs: %s\n", last.analysis.log_command.c_str());
    }
  }
  if (!r.ok) {
    auto v = r.runs.empty() ? ops::ToyVerdict::Unknown : r.runs.back().analysis.verdict;
    throw ExitCode{v == ops::ToyVerdict::Timeout ? 4 : v == ops::ToyVerdict::FlowDown ? 3 : 1};
  }
}

}  // namespace

void add_toy_commands(CLI::App& root, GlobalOptions& g) {
  ops::register_toy_programs();
  static ToyOptions o;
  auto* t = root.add_subcommand("toy", "Prove two parties can run a federated job: FATE's toy_example, or a native check hop by hop");
  t->add_option("--guest", o.guest, "guest party id (runs the toy)");
  t->add_option("--host", o.host, "host party id");
  t->add_option("--cluster", o.cluster, "the guest's cluster (its namespace when -n is not given)");
  t->add_option("--timeout", o.timeout, "how long to wait for a verdict, both runs and every API request included (default 10m)");
  t->add_flag("--skip-one-sided", o.skip_one_sided, "do not run the one-sided toy (guest = host = --guest) first");
  t->add_option("--fate-version", o.fate_version, "FATE version when the image tag does not tell (e.g. 1.11.2)");
  t->add_flag("--native", o.native, "run fatectl's own secure-add toy between two fatectl parties over mutual TLS");
  t->add_flag("--local", o.local, "--native: run both parties on this machine (loopback)");
  t->add_flag("--serve", o.serve, "--native: run this party's side (the host) and wait for the guest");
  t->add_option("--job", o.job, "--native: job file with the parties, routes and certificates (docs/job-file.md)");
  t->add_option("--party-id", o.party_id, "--native: the party this process runs (default: the job's guest)");
  t->add_option("--data-num", o.data_num, "--native: ones per party to secure-add (default 1000; the sum must be 2x)");
  t->add_option("--domain", o.domain, "--native --local: federation domain (default fate.org)");
  t->footer(
      "In-cluster: finds the guest's FATE Flow pod, picks the command by FATE version (1.6: python\n"
      "run_toy_example.py G H 1; 1.7-1.8: flow test toy in container python; 1.9+: in container fateflow),\n"
      "runs the one-sided test first, streams FATE's output and gives a verdict with the likely cause.\n"
      "Native: DNS, TCP, TLS (SNI, peer certificate), round trip, 1 MiB throughput and the secure sum,\n"
      "directly or through the Exchange's Traffic Server, even before FATE is installed.\n\n"
      "Examples:\n"
      "  fatectl toy --guest 9999 --host 10000 -n fate-9999\n"
      "  fatectl toy --guest 9999 --host 10000 -n fate-9999 --skip-one-sided -o json\n"
      "  fatectl toy --native --local\n"
      "  fatectl toy --native --serve --job toy.yaml --party-id 10000     # on the host's machine\n"
      "  fatectl toy --native --job toy.yaml --party-id 9999              # on the guest's machine\n"
      "Exit: 0 pass, 1 the toy failed, 3 a hop or FATE Flow unreachable, 4 timed out.");
  t->callback([&g] {
    if (o.native) {
      if (o.local) run_native_local(o, g);
      else run_native_party(o, g);
    } else {
      if (o.local || o.serve || !o.job.empty()) throw invalid("toy: --local, --serve and --job go with --native");
      run_cluster(o, g);
    }
  });
}

}  // namespace fatectl::cli
