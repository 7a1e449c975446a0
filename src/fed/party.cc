#include "fatectl/fed/party.h"

#include <unistd.h>

#include <cstdio>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/fed/job.h"
#include "fatectl/fed/program.h"
#include "fatectl/fed/run_control.h"
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
  // The party's supervisor: the job's deadline (FATE's default is 72 h), SIGINT/SIGTERM, the
  // status record, aborts to and from the peers (run_control.h).
  RunControl rc(job, o.party);
  TlsOptions to = tls_options_for(job, o.party);
  to.supervise = true;
  to.deadline = rc.deadline();
  to.step = [&rc] { return rc.step(); };
  to.on_event = [&rc] { rc.wake(); };
  int rc_status;
  try {
    TlsChannel ch(to);
    rc.attach(&ch);
    std::printf("party %ld (%s) of job %s: listening on %s:%d, program %s\n", o.party, role_name(me.role), job.id.c_str(),
                me.listen.host.c_str(), ch.listen_port(), job.algorithm.c_str());
    std::fflush(stdout);
    try {
      rc_status = (*prog)(job, o.party, ch);
    } catch (const SharedVerdict& e) {  // the peers know: they end on the same verdict
      rc.failed(e.what(), e.exit_code(), false);
      throw;
    } catch (const Error& e) {
      rc.failed(e.what(), e.exit_code());
      throw;
    } catch (const std::exception& e) {
      rc.failed(e.what(), 1);
      throw;
    }
    if (rc_status != 0) rc.failed("the program " + job.algorithm + " ended with status " + std::to_string(rc_status), rc_status);
    rc.attach(nullptr);
    if (rc_status == 0) {
      try {
        ch.close();  // waits until every frame we sent is acknowledged, then says goodbye
      } catch (const Error& e) {
        rc.failed(e.what(), e.exit_code());
        throw;
      }
    }
    auto s = ch.stats();
    log::info("party {}: sent {} frames ({} resent), received {} ({} duplicates dropped), {} reconnects", o.party,
              s.frames_sent, s.frames_resent, s.frames_received, s.duplicates_dropped, s.reconnects);
  } catch (...) {
    rc.attach(nullptr);
    throw;
  }
  if (rc_status == 0) rc.succeeded();
  std::printf("party %ld (%s): finished with status %d\n", o.party, role_name(me.role), rc_status);
  std::fflush(stdout);
  return rc_status;
}

}  // namespace fatectl::fed
