#pragma once
// The toy_example connectivity check: FATE's own toy run inside the guest's FATE Flow pod
// (through pod exec, the command chosen by FATE version), and a native secure-add run between
// two fatectl parties over the party runtime, reporting every hop.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "fatectl/fed/channel.h"
#include "fatectl/fed/job.h"

namespace fatectl::ops {

// ---- native ------------------------------------------------------------------------------

/// One hop of the path to a peer, as the native toy measured it.
struct HopResult {
  std::string hop;     ///< "dns", "tcp connect", "tls handshake", "round trip", "throughput", "secure add"
  bool ok = false;
  double ms = 0;       ///< time the hop took (or p50 for round trip)
  std::string detail;  ///< e.g. "sni 10000.fate.org, peer CN=10000.fate.org"
};
/// Everything one party learnt about the path to one peer.
struct NativeToyReport {
  long self = 0, peer = 0;
  std::string route;  ///< fed::Route::str()
  std::vector<HopResult> hops;
  bool ok = false;
  std::string failed_hop;  ///< first failed hop, "" when ok
  long data_num = 0;
  std::string sum;  ///< reconstructed sum
};

/// The program registered as "toy_secure_add": the guest probes each hop to the host (DNS,
/// TCP, TLS with SNI and the peer's certificate), measures RTT and 1 MiB throughput over the
/// channel, then both run FATE's secure-add (each splits data_num ones into additive shares,
/// they swap shares, the guest reconstructs the sum and checks it equals 2·data_num).
/// Params (algorithm.params): dataNum (default 1000), reportFile (JSON report of this party),
/// reportParty (only this party writes it), rttRounds (10), throughputBytes (1 MiB),
/// timeoutSeconds (60).
int toy_secure_add_party(const fed::Job& job, long party, fed::Channel& ch);
/// Sizes and limits of the channel part of the native toy.
struct ToyParams {
  long long data_num = 1000;
  long long rtt_rounds = 10;
  long long throughput_bytes = 1 << 20;
  std::chrono::milliseconds timeout{60'000};
};
/// The channel part, after the probes: round trip and throughput (measured by the guest) and
/// the secure add. Appends hops to `rep`; returns 0 when the sum verifies, 1 when it does not,
/// 3/4 when the channel failed or timed out.
int run_toy_protocol(fed::Channel& ch, bool is_guest, long peer, const ToyParams& p, NativeToyReport& rep);
/// Registers toy_secure_add with fed's program registry (called from the cli layer).
void register_toy_programs();

/// Probes DNS, TCP and TLS towards a route with this party's certificate (no channel needed).
std::vector<HopResult> probe_route(const fed::Job& job, long self, const fed::Route& route,
                                   std::chrono::milliseconds timeout);

YAML::Node native_report_yaml(const NativeToyReport& r);
std::string native_report_text(const NativeToyReport& r);
NativeToyReport native_report_from_yaml(const YAML::Node& n);

// ---- in-cluster (FATE's toy_example through FATE Flow) ------------------------------------

/// Which toy command a FATE version uses.
struct ToyCommand {
  std::string container;          ///< python (≤1.8) or fateflow (≥1.9)
  std::vector<std::string> argv;  ///< what runs in it
  std::string flavour;            ///< "run_toy_example" (1.6) or "flow test toy"
};
/// The command for FATE `version` ("1.6.1", "1.11.2", "2.0.0"...). Throws Invalid for
/// versions before 1.6.
ToyCommand toy_command(const std::string& version, long guest, long host, int timeout_s);
/// "1.11.2" from an image "federatedai/fateflow:1.11.2-release" (the tag's leading version).
std::string version_from_image(const std::string& image);

/// What FATE's output says.
enum class ToyVerdict { Success, Failed, Timeout, QueryFailed, FlowDown, NotStarted, Unknown };
const char* verdict_name(ToyVerdict v);
struct ToyAnalysis {
  ToyVerdict verdict = ToyVerdict::Unknown;
  std::string job_id;
  std::string sum;   ///< 1.6: the secure_sum printed
  std::string hint;  ///< likely cause and next step
  std::string log_command;  ///< command to download the job's logs, when a job id is known
  std::string exec_error;   ///< NotStarted: the exec error exactly as the API server gave it
};
/// The verdict when the command could not start in the container (exec answered with an error
/// status instead of an exit code): names the command, the pod/container and the API server's
/// message, with the likely cause.
ToyAnalysis exec_not_started(const std::vector<std::string>& argv, const std::string& pod, const std::string& container,
                             const std::string& version, const std::string& error);
/// Decides from the printed output and exit code (see docs/toy.md for the patterns per version).
ToyAnalysis analyse_toy_output(const std::string& version, const std::string& output, int exit_code, long guest,
                               long host, bool one_sided);

/// Settings of an in-cluster toy run.
struct ClusterToyOptions {
  std::string kubeconfig, context;
  std::string namespace_;  ///< the guest's namespace
  long guest = 0, host = 0;
  std::chrono::seconds timeout{600};
  bool skip_one_sided = false;
  std::string version;     ///< override detection
  std::function<void(const std::string&)> on_output;  ///< streamed output (nullptr: none)
};
/// One run (one-sided or two-sided).
struct ToyRun {
  long guest = 0, host = 0;
  std::string output;
  int exit_code = 0;
  ToyAnalysis analysis;
  double seconds = 0;
};
struct ClusterToyReport {
  std::string namespace_, pod, container, version, version_source;
  std::vector<ToyRun> runs;
  bool ok = false;
};
/// Finds the guest's FATE Flow pod, detects the version, runs the one-sided then the two-sided
/// toy through exec. Throws fatectl::Error for cluster problems (no pod, exec refused).
ClusterToyReport run_cluster_toy(const ClusterToyOptions& o);
YAML::Node cluster_report_yaml(const ClusterToyReport& r);

}  // namespace fatectl::ops
