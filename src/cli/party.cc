// fatectl party serve: run one party of a federated job.
#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/fed/party.h"
#include "fatectl/fed/program.h"

namespace fatectl::cli {

void add_party_commands(CLI::App& root, GlobalOptions& g) {
  CLI::App* party = root.add_subcommand("party", "Run one party of a federated job (see also `fatectl run --local`)");
  party->require_subcommand(1);
  auto o = std::make_shared<fed::ServeOptions>();
  CLI::App* serve = party->add_subcommand("serve", "Run one party: listen for its peers over mutual TLS and run the job's program");
  serve->add_option("--job", o->job_file, "job file (docs/job-file.md)")->required();
  serve->add_option("--party-id", o->party, "this party's id, as listed in the job's parties")->required();
  serve->add_option("--role", o->role, "guest, host or arbiter (checked against the job file)")
      ->check(CLI::IsMember({"guest", "host", "arbiter"}));
  serve->footer(
      "The party listens on its `listen` address, reaches every other party by the job's routes (directly,\n"
      "or through the Exchange with SNI <partyId>.<domain>) and checks that each peer's certificate names\n"
      "the party the route says. It runs the program named by `algorithm.name` (built in: echo), then\n"
      "exits with that program's status; the job's `timeout` (default 72h) ends it with exit code 4.\n"
      "Supervised (docs/job-file.md, \"Failures\"): heartbeats to every party; when this party fails it tells\n"
      "the others (its id, step and reason), when another party fails or stops answering for\n"
      "transport.peerDeadTimeout this one ends at once with exit code 5, an Exchange outage is ridden out\n"
      "until the job's timeout, and SIGINT/SIGTERM tell the others before exiting 130/143.\n\n"
      "Examples:\n"
      "  fatectl party serve --job examples/jobs/echo.yaml --party-id 10000 --role host\n"
      "  fatectl party serve --job job.yaml --party-id 9999 -v     # -v: connections and counters\n");
  serve->callback([o] {
    int rc = fed::serve_party(*o);
    if (rc != 0) throw ExitCode{rc};
  });
}

}  // namespace fatectl::cli
