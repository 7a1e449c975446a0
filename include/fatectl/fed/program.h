#pragma once
// Party programs: what a party does once its channel is up, chosen by the job's `algorithm.name`.
// fed/ knows only the built-in `echo`; higher layers (ml/, the native toy check) register theirs
// from src/cli (fed/ never includes them), e.g. in their add_<group>_commands():
//     fed::register_program("secure_add", "toy secure sum", &ops::secure_add_party);
#include <functional>
#include <string>
#include <vector>

#include "fatectl/fed/channel.h"
#include "fatectl/fed/job.h"

namespace fatectl::fed {

/// One party's side of a federated job: returns the party's exit status (0 = success) or throws
/// fatectl::Error. Progress goes to stdout, one line at a time (`fatectl run --local` prefixes
/// each line with the party id and role).
using Program = std::function<int(const Job& job, long party, Channel& channel)>;

/// Registers (or replaces) a program under `name`.
void register_program(const std::string& name, const std::string& summary, Program fn);
/// The program registered under `name`, or nullptr.
const Program* find_program(const std::string& name);
/// Registered programs as (name, summary), sorted by name; includes the built-in ones.
std::vector<std::pair<std::string, std::string>> programs();

/// Parameters of the built-in `echo` program (algorithm.params).
struct EchoParams {
  int rounds = 20;                       ///< small-frame round trips per peer
  std::uint64_t frame_bytes = 64;        ///< size of each ping
  std::uint64_t stream_bytes = 4 << 20;  ///< size of the streamed message per peer
  std::uint64_t seed = 1;                ///< stream content seed
};
EchoParams parse_echo_params(const Job& job);

/// Results of one echo exchange with one peer (the guest's view).
struct EchoResult {
  long peer = 0;
  int rounds = 0;
  double rtt_p50_ms = 0, rtt_p99_ms = 0, rtt_max_ms = 0;
  std::uint64_t stream_bytes = 0;
  double stream_seconds = 0;
  double mib_per_s = 0;
  bool digest_ok = false;
};
/// The guest's side of echo towards one peer (used by the program and by `bench transport`).
EchoResult echo_guest(Channel& ch, long peer, const EchoParams& p, std::chrono::milliseconds timeout);
/// The peer's side: answers the guest's pings and hashes its stream.
void echo_peer(Channel& ch, long guest, const EchoParams& p, std::chrono::milliseconds timeout);
/// Fills `n` bytes of the deterministic echo stream starting at byte `offset`.
void echo_stream_bytes(std::uint64_t seed, std::uint64_t offset, char* dst, size_t n);

}  // namespace fatectl::fed
