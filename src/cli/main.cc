// fatectl entry point: global flags, command groups, errors to exit codes.
#include <curl/curl.h>

#include <cstdlib>
#include <cstdio>

#include "commands.h"
#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/kube/deadline.h"

namespace {

const char* kExitCodes =
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation failed (or, for diff, changes were found)\n"
    "  2  usage error or invalid input (spec, job file, flags)\n"
    "  3  cluster unreachable, the request was refused (401/403, TLS), or the API server's answer\n"
    "     broke a limit (too large, too slow, a list without end)\n"
    "  4  timed out: a wait, --timeout or --request-timeout passed (also: Retry-After beyond it)\n"
    "  5  another party of a federated job failed or stopped answering (train, party serve)\n";

void apply_log_settings(const fatectl::cli::GlobalOptions& g) {
  auto& s = fatectl::log::settings();
  s.verbosity = g.verbosity;
  s.quiet = g.quiet;
  s.color = !g.no_color && std::getenv("NO_COLOR") == nullptr;
  // Every kube::Client made by the command carries this; commands with --timeout narrow it.
  fatectl::kube::Deadline::set_process_default(fatectl::kube::Deadline::from_request_timeout(g.request_timeout));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fatectl;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  cli::GlobalOptions g;
  CLI::App app{
      "fatectl: stand up and run FATE federated-learning clusters on Kubernetes, connect them "
      "through an Exchange, prove the federation works, and train Paillier-HE logistic "
      "regression across parties. One static binary; talks to the Kubernetes API through your "
      "kubeconfig."};
  app.name("fatectl");
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--kubeconfig", g.kubeconfig, "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)");
  app.add_option("--context", g.context, "kubeconfig context to use (default: current-context)");
  app.add_option("-n,--namespace", g.namespace_, "Kubernetes namespace (default: the spec's or the context's)");
  app.add_option("-o,--output", g.output, "output format: table, yaml or json")
      ->check(CLI::Validator(
          [](std::string& v) {
            if (v == "table" || v == "yaml" || v == "json") return std::string();
            if (v == "wide") return std::string("fatectl's tables have no wide form (-o wide); -o yaml or -o json shows every field");
            return "'" + v + "' is not an output format; expected table, yaml or json";
          },
          "table|yaml|json"));
  app.add_option("--request-timeout", g.request_timeout,
                 "longest one API request may take, its retries and Retry-After waits included (kubectl's "
                 "format: 30s, 2m, 1h30m; a bare number is seconds; 0 = no limit; default 60s); --timeout, "
                 "where a command has it, bounds the whole command");
  app.add_flag("-v,--verbose", g.verbosity, "more detail on stderr (repeat: -vv debug, -vvv HTTP trace)");
  app.add_flag("-q,--quiet", g.quiet, "only errors on stderr");
  app.add_flag("--no-color", g.no_color, "no colour (also when NO_COLOR is set)");
  app.parse_complete_callback([&g] { apply_log_settings(g); });

  cli::add_version_command(app, g);
  cli::add_cluster_commands(app, g);
  cli::add_keys_commands(app, g);
  cli::add_bench_commands(app, g);
  cli::add_exchange_commands(app, g);
  cli::add_certs_commands(app, g);
  cli::add_party_commands(app, g);
  cli::add_run_commands(app, g);
  cli::add_bench_transport_command(app, g);
  cli::add_cluster_ops_commands(app, g);
  cli::add_train_commands(app, g);
  cli::add_cluster_render_commands(app, g);
  cli::add_toy_commands(app, g);
  cli::add_certs_exchange_command(app, g);
  cli::add_cluster_plan_command(app, g);
  cli::add_cluster_release_commands(app, g);
  cli::add_job_commands(app, g);
  cli::add_federation_commands(app, g);
  cli::add_federation_up_commands(app, g);
  cli::add_federation_status_commands(app, g);
  cli::add_data_commands(app, g);
  cli::add_report_commands(app, g);
  cli::add_bench_psi_command(app, g);
  // -- command groups: add one call per group above this marker (completion stays last) --
  cli::add_completion_command(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && cli::report_unknown_command(app, argc, argv)) return 2;
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const ExitCode& e) {
    return e.code;
  } catch (const Error& e) {
    log::error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
  return 0;
}
