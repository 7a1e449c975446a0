#pragma once
// One registration function per command group (one .cc file each under src/cli/).
#include "global.h"

namespace fatectl::cli {

void add_version_command(CLI::App& root, GlobalOptions& g);     // version.cc
void add_completion_command(CLI::App& root, GlobalOptions& g);  // completion.cc
void add_cluster_commands(CLI::App& root, GlobalOptions& g);    // cluster.cc (cluster validate)
/// The `cluster` command group, created on first use; cluster_render.cc, cluster_ops.cc add to it.
CLI::App* cluster_command(CLI::App& root);
void add_keys_commands(CLI::App& root, GlobalOptions& g);   // keys.cc
void add_bench_commands(CLI::App& root, GlobalOptions& g);  // bench.cc (bench paillier)
CLI::App* bench_command(CLI::App& root);  // bench.cc: the `bench` group (created on first call); add bench subcommands to it
void add_exchange_commands(CLI::App& root, GlobalOptions& g);  // exchange.cc (exchange route, reload)
void add_certs_commands(CLI::App& root, GlobalOptions& g);     // certs.cc (certs init|issue)
CLI::App* certs_command(CLI::App& root);                        // certs.cc: get or create `certs`
void add_party_commands(CLI::App& root, GlobalOptions& g);     // party.cc (party serve)
void add_run_commands(CLI::App& root, GlobalOptions& g);       // run.cc (run --local)
void add_bench_transport_command(CLI::App& root, GlobalOptions& g);  // bench_transport.cc
void add_cluster_ops_commands(CLI::App& root, GlobalOptions& g);  // cluster_ops.cc (install, upgrade, diff, uninstall, list, status, history, rollback)
void add_train_commands(CLI::App& root, GlobalOptions& g);  // train.cc (train, predict; hetero_lr/homo_lr programs)
void add_cluster_render_commands(CLI::App& root, GlobalOptions& g);  // cluster_render.cc (cluster render, cluster images, bench render)
void add_toy_commands(CLI::App& root, GlobalOptions& g);  // toy.cc (toy, toy --native)
void add_certs_exchange_command(CLI::App& root, GlobalOptions& g);  // certs_exchange.cc (certs exchange)
void add_cluster_plan_command(CLI::App& root, GlobalOptions& g);  // cluster_plan.cc (cluster plan)
/// unknown_command.cc: after a parse error, reports a mistyped command name with the nearest
/// one ("unknown command 'clutser'; did you mean 'cluster'?"); false when that is not the cause.
bool report_unknown_command(const CLI::App& root, int argc, char** argv);
void add_cluster_release_commands(CLI::App& root, GlobalOptions& g);  // cluster_release.cc (cluster get spec|objects|notes)
void add_job_commands(CLI::App& root, GlobalOptions& g);  // job.cc (job status)
void add_federation_commands(CLI::App& root, GlobalOptions& g);  // federation.cc (federation validate, provision)
CLI::App* federation_command(CLI::App& root);                     // federation.cc: get or create `federation`
void add_federation_up_commands(CLI::App& root, GlobalOptions& g);      // federation_up.cc (up, add-party, remove-party)
void add_federation_status_commands(CLI::App& root, GlobalOptions& g);  // federation_status.cc (status, diagnose)
void add_data_commands(CLI::App& root, GlobalOptions& g);  // data.cc (data synth)
void add_report_commands(CLI::App& root, GlobalOptions& g);  // report.cc (report)
/// Writes the training report of `run_dir` (report.cc); returns its path.
std::string write_training_report(const std::string& run_dir, const std::string& out_file = "");
void add_bench_psi_command(CLI::App& root, GlobalOptions& g);  // bench_psi.cc (bench psi)
// -- command groups: add one declaration line per group above this marker --

}  // namespace fatectl::cli
