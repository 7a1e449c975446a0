// Unit tests for kube::Deadline: kubectl's duration format with checked arithmetic, the window of
// one request (per-request limit vs the command's end, grace), and messages.
#include <doctest/doctest.h>

#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/kube/deadline.h"

using namespace fatectl;
using namespace fatectl::kube;
using Ms = Deadline::Ms;

namespace {

int exit_of(const std::string& text) {
  try {
    Deadline::parse(text, "--request-timeout");
    return 0;
  } catch (const Error& e) {
    return e.exit_code();
  }
}

}  // namespace

TEST_CASE("Deadline::parse reads kubectl's --request-timeout format") {
  CHECK(Deadline::parse("0", "f") == Ms(0));
  CHECK(Deadline::parse("30", "f") == Ms(30'000));  // a bare number is seconds
  CHECK(Deadline::parse("+30", "f") == Ms(30'000));
  CHECK(Deadline::parse("30s", "f") == Ms(30'000));
  CHECK(Deadline::parse("2m", "f") == Ms(120'000));
  CHECK(Deadline::parse("1h30m", "f") == Ms(5'400'000));
  CHECK(Deadline::parse("1.5h", "f") == Ms(5'400'000));
  CHECK(Deadline::parse("500ms", "f") == Ms(500));
  CHECK(Deadline::parse(".25s", "f") == Ms(250));
  CHECK(Deadline::parse("1500us", "f") == Ms(2));  // sub-millisecond parts round up
  CHECK(Deadline::parse("1\xc2\xb5s", "f") == Ms(1));
  CHECK(Deadline::parse("1ns", "f") == Ms(1));
  CHECK(Deadline::parse("0s", "f") == Ms(0));
  CHECK(Deadline::parse("720h", "f") == Deadline::kMaxBudget);
  CHECK(Deadline::parse("1.123456789123456789s", "f") == Ms(1124));
}

TEST_CASE("Deadline::parse refuses garbage, negative and absurd values with exit 2") {
  for (const char* bad : {"", "s", "-1s", "-5", "1y", "1e3s", "1..5s", "10 s", "1s2", "h", ".s", "0x10s",
                          "721h", "2592001", "99999999999999999999", "9223372036854775807s",
                          "99999999999999999999h", "1000000000000000000000000000000000000000000000000000000000000000000s"}) {
    INFO(bad);
    CHECK(exit_of(bad) == 2);
  }
  try {
    Deadline::parse("1y", "--request-timeout");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find("--request-timeout") != std::string::npos);
    CHECK(m.find("'1y'") != std::string::npos);
  }
  try {
    Deadline::parse(std::string("1\x01\xff") + std::string(100, 'x'), "--request-timeout");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(m.find('\x01') == std::string::npos);  // the text is shown printable and short
    CHECK(m.size() < 300);
  }
}

TEST_CASE("Deadline: for_command checks its budget") {
  Deadline d;
  CHECK_THROWS_AS(d.for_command(Ms(0), "--timeout 0"), Error);
  CHECK_THROWS_AS(d.for_command(Ms(-5), "--timeout -5"), Error);
  CHECK_THROWS_AS(d.for_command(Deadline::kMaxBudget + Ms(1), "--timeout 999h"), Error);
  try {
    d.for_command(Ms(0), "--timeout 0");
  } catch (const Error& e) {
    CHECK(e.exit_code() == 2);
  }
  Deadline c = d.for_command(Ms(20'000), "--timeout 20s");
  CHECK(c.has_command_end());
  CHECK(c.command_flag() == "--timeout 20s");
  CHECK(c.command_left() <= Ms(20'000));
  CHECK(c.command_left() > Ms(19'000));
}

TEST_CASE("Deadline::request: the earlier of the per-request limit and the command's end") {
  Deadline def;  // 60 s per request, no command end
  auto w = def.request();
  CHECK(w.bounded());
  CHECK(w.flag.find("--request-timeout 60s") == 0);
  CHECK(w.left_ms() > 59'000);

  Deadline none = Deadline::from_request_timeout("0");
  CHECK_FALSE(none.request().bounded());  // kubectl's 0: no limit

  Deadline short_cmd = def.for_command(Ms(2'000), "--timeout 2s");
  w = short_cmd.request();
  CHECK(w.flag == "--timeout 2s");
  CHECK(w.left_ms() <= 2'000);
  // grace: a few seconds past the command's end, for recording a failure
  auto g = short_cmd.request(true);
  CHECK(g.left_ms() > 2'000 + Deadline::kGrace.count() - 500);

  Deadline short_req = Deadline::from_request_timeout("1s").for_command(Ms(60'000), "--timeout 1m");
  w = short_req.request();
  CHECK(w.flag == "--request-timeout 1s");
  CHECK(w.left_ms() <= 1'000);

  // a stream (exec) is not bounded per request, only by its own timeout and the command's end
  auto s = short_cmd.stream(Ms(600'000), "the exec timeout");
  CHECK(s.flag == "--timeout 2s");
  auto s2 = def.stream(Ms(500), "the exec timeout");
  CHECK(s2.flag == "the exec timeout");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  CHECK(s2.left_ms() == 0);
}

TEST_CASE("Deadline: the process default is what new clients carry") {
  Deadline saved = Deadline::process_default();
  Deadline::set_process_default(Deadline::from_request_timeout("5s"));
  CHECK(Deadline::process_default().request().flag == "--request-timeout 5s");
  Deadline::limit_command(Ms(3'000), "--timeout 3s");
  CHECK(Deadline::process_default().command_flag() == "--timeout 3s");
  CHECK(Deadline::process_default().request().flag == "--timeout 3s");
  Deadline::set_process_default(saved);
}

TEST_CASE("Deadline::describe") {
  CHECK(Deadline::describe(Ms(250)) == "250 ms");
  CHECK(Deadline::describe(Ms(20'000)) == "20 s");
  CHECK(Deadline::describe(Ms(1'500)) == "1.5 s");
  CHECK(Deadline::describe(Ms(125'000)) == "2 min 5 s");
  CHECK(Deadline::describe(Deadline::kMaxBudget) == "720 h");
}
