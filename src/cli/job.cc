// fatectl job status: where each party of a federated job stands, from the status records the
// parties keep in the output directory (OUT/<party>/status.json, fed/job_status.h).
#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/output.h"
#include "fatectl/fed/job_status.h"

namespace fatectl::cli {

namespace {

void job_status(const std::string& out, GlobalOptions& g) {
  auto parties = fed::read_job_status(out);
  YAML::Node list(YAML::NodeType::Sequence);
  output::Table t;
  t.headers = {"party", "role", "state", "step", "attempt", "checkpoint", "updated", "reason"};
  for (const auto& s : parties) {
    YAML::Node n = s.to_yaml();
    std::string state = s.state;
    std::string reason = s.reason;
    if (s.process_gone()) {  // killed without a word (SIGKILL, OOM, power): the record still says running
      state = "running?";
      reason = "process " + std::to_string(s.pid) + " on " + s.host + " is gone (killed?)";
      n["process_gone"] = true;
    }
    list.push_back(n);
    t.rows.push_back({std::to_string(s.party), s.role, state, s.step, std::to_string(s.attempt),
                      s.checkpoint.empty() ? "-" : s.checkpoint, s.updated, reason.empty() ? "-" : reason});
  }
  YAML::Node root;
  root["out"] = out;
  root["parties"] = list;
  output::print(g.format(), root, t);
}

}  // namespace

void add_job_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* job = root.add_subcommand("job", "Where a federated job stands (the parties' status records)");
  job->require_subcommand(1);
  auto out = std::make_shared<std::string>();
  CLI::App* status = job->add_subcommand("status", "Show each party's state: running, failed at step S with reason R, succeeded");
  status->add_option("OUT", *out, "the output directory of `fatectl train` (default there: fatectl-out/<job id>)")->required();
  status->footer(
      "Every party started by `fatectl train --party-id` or `--local` keeps OUT/<party>/status.json: its state\n"
      "(running, failed, succeeded), its step (e.g. \"epoch 10, batch 3\"), the reason of a failure (and which\n"
      "party caused it), its last checkpoint and how many times it ran (--resume / --retry). Each site sees\n"
      "the records of the parties whose OUT it holds. A record that says running while its process (on this\n"
      "host) is gone is shown as running? (killed without a word).\n\n"
      "Examples:\n"
      "  fatectl job status fatectl-out/hetero-breast\n"
      "  fatectl job status runs/job1 -o json\n");
  status->callback([out, &g] { job_status(*out, g); });
}

}  // namespace fatectl::cli
