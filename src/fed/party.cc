#include "fatectl/fed/party.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/program.h"
#include "fatectl/fed/tls_channel.h"

namespace fatectl::fed {

int serve_party(const ServeOptions& o) {
  Job job = load_job(o.job_file);
  if (!job.has_party(o.party)) job.party(o.party);  // throws naming the parties
  const PartySpec& me = job.party(o.party);
  if (!o.role.empty() && parse_role(o.role) != me.role)
    throw invalid(job.file + ": party " + std::to_string(o.party) + " is the " + role_name(me.role) + " in this job, not " + o.role);
  const Program* prog = find_program(job.algorithm);
  if (!prog) {
    std::string known;
    for (auto& [n, s] : programs()) known += (known.empty() ? "" : ", ") + n;
    throw invalid_at(job.algorithm_where, "algorithm.name",
                     "unknown program '" + job.algorithm + "' (known: " + known + ")");
  }
  // Whole-job deadline: FATE's default is 72 h.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, job.timeout, [&] { return done; })) {
      log::error("party {}: job {} ran past its timeout of {}", o.party, job.id,
                 format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(job.timeout)));
      std::fflush(stdout);
      ::_exit(4);
    }
  });
  auto stop_watchdog = [&] {
    {
      std::lock_guard<std::mutex> l(mu);
      done = true;
    }
    cv.notify_all();
    if (watchdog.joinable()) watchdog.join();
  };
  int rc;
  try {
    TlsChannel ch(tls_options_for(job, o.party));
    std::printf("party %ld (%s) of job %s: listening on %s:%d, program %s\n", o.party, role_name(me.role), job.id.c_str(),
                me.listen.host.c_str(), ch.listen_port(), job.algorithm.c_str());
    std::fflush(stdout);
    rc = (*prog)(job, o.party, ch);
    ch.close();  // waits until every frame we sent is acknowledged
    auto s = ch.stats();
    log::info("party {}: sent {} frames ({} resent), received {} ({} duplicates dropped), {} reconnects", o.party,
              s.frames_sent, s.frames_resent, s.frames_received, s.duplicates_dropped, s.reconnects);
  } catch (...) {
    stop_watchdog();
    throw;
  }
  stop_watchdog();
  std::printf("party %ld (%s): finished with status %d\n", o.party, role_name(me.role), rc);
  std::fflush(stdout);
  return rc;
}

}  // namespace fatectl::fed
