// fatectl run --local: every party of a job as a local process.
#include <unistd.h>

#include <cstdlib>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/output.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/party.h"
#include "stdout_redirect.h"

namespace fatectl::cli {

void add_run_commands(CLI::App& root, GlobalOptions& g) {
  auto o = std::make_shared<fed::LocalRunOptions>();
  auto local = std::make_shared<bool>(false);
  CLI::App* run = root.add_subcommand("run", "Run a federated job; --local starts every party as a process on this machine");
  run->add_flag("--local", *local, "start every party of the job on 127.0.0.1 (the only mode so far)");
  run->add_option("--job", o->job_file, "job file (docs/job-file.md)")->required();
  run->add_option("--run-dir", o->run_dir, "directory for the parties' logs, certificates and the local job copy "
                                            "(kept; default: a new $TMPDIR/fatectl-run-<job>-XXXXXX, removed after success)");
  run->footer(
      "Each party runs as `fatectl party serve` with its own loopback port, certificate and log file\n"
      "(<run-dir>/<party>.log). Their output is shown here, each line prefixed with [party role]. If the\n"
      "job's certificates directory has no CA, a throwaway CA for the job's domain is created in the run\n"
      "directory. Ctrl-C, a failing party or the job timeout stop every party. Without --run-dir the\n"
      "directory is removed after success; after a failure its logs stay and a throwaway CA is removed.\n"
      "Exit status: 0 when every party succeeded, else the first failing party's status (4 = timeout,\n"
      "130 = interrupted). With -o json|yaml the parties' output goes to stderr and stdout holds one\n"
      "document: job, ok, exitCode, runDir, and each party's role, exit code and log.\n\n"
      "Examples:\n"
      "  fatectl run --local --job examples/jobs/echo.yaml\n"
      "  fatectl run --local --job job.yaml --run-dir runs/lr-1 -v\n");
  run->callback([o, local, &g] {
    if (!*local)
      throw invalid("run: only --local is supported; on separate machines start each party with `fatectl party serve`");
    for (int i = 0; i < g.verbosity; ++i) o->global_args.push_back("-v");
    if (g.quiet) o->global_args.push_back("-q");
    o->global_args.push_back("--no-color");
    o->color = !g.no_color && std::getenv("NO_COLOR") == nullptr && isatty(1);
    const bool document = g.format() != output::Format::Table;  // -o json|yaml: one document on stdout
    std::vector<fed::LocalPartyResult> parties;
    std::string dir;
    o->results = &parties;
    o->run_dir_used = &dir;
    int rc;
    {
      StdoutToStderr redirect(document);  // the parties' output goes to stderr
      rc = fed::run_local(*o);
    }
    if (document) {
      YAML::Node n(YAML::NodeType::Map);
      n["job"] = yaml::str(fed::load_job(o->job_file).id);
      n["ok"] = rc == 0;
      n["exitCode"] = rc;
      n["runDir"] = yaml::str(dir);
      n["runDirKept"] = !o->run_dir.empty() || rc != 0;
      n["parties"] = YAML::Node(YAML::NodeType::Sequence);
      for (const auto& p : parties) {
        YAML::Node e(YAML::NodeType::Map);
        e["party"] = p.party;
        e["role"] = yaml::str(p.role);
        e["exitCode"] = p.status;
        e["result"] = yaml::str(p.how);
        if (!p.log.empty()) e["log"] = yaml::str(p.log);
        n["parties"].push_back(e);
      }
      output::print(g.format(), n);
    }
    if (rc != 0) throw ExitCode{rc};
  });
}

}  // namespace fatectl::cli
