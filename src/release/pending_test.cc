// Whether a pending revision's holder is gone, for processes on this machine.
#include "fatectl/release/pending.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

using namespace fatectl::release;

TEST_CASE("holder_gone: this process is alive, an exited and a killed-but-unreaped child are gone") {
  auto now = std::chrono::system_clock::now();
  std::string why;
  Holder me = Holder::self();
  CHECK_FALSE(holder_gone(me, now, why));

  // A child killed with SIGKILL and not yet reaped is a zombie: kill(pid, 0) still succeeds.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  Holder h = me;
  h.pid = child;
  h.pid_start = "";  // the start time is checked separately; the zombie must be caught without it
  CHECK_FALSE(holder_gone(h, now, why));  // alive, sleeping
  ::kill(child, SIGKILL);
  for (int i = 0; i < 200; ++i) {  // wait until the kernel made it a zombie, without reaping it
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == child)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(::kill(child, 0) == 0);  // still there as a zombie
  CHECK(holder_gone(h, now, why));
  CHECK(why.find("is gone") != std::string::npos);
  ::waitpid(child, nullptr, 0);
  CHECK(holder_gone(h, now, why));  // reaped: no such process
}

TEST_CASE("holder_gone: another host counts by its heartbeat") {
  auto now = std::chrono::system_clock::now();
  std::string why;
  Holder h = Holder::self();
  h.host = "elsewhere.example";
  CHECK_FALSE(holder_gone(h, now, why));
  CHECK(holder_gone(h, now + stale_after() + std::chrono::seconds(5), why));
  CHECK(why.find("has not shown a sign of life") != std::string::npos);
}
