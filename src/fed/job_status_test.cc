// Party status records: round trip, refusal of other files, a job's records by party.
#include "fatectl/fed/job_status.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "../../tests/fed/fed_test_util.h"
#include "fatectl/core/error.h"

using namespace fatectl;
using namespace fatectl::fed;

TEST_CASE("a status record reads back as written, and summarises itself") {
  testutil::TempDir t;
  PartyStatus s;
  s.job = "j1";
  s.party = 10000;
  s.role = "host";
  s.state = "failed";
  s.step = "epoch 10, batch 3";
  s.reason = "data error";
  s.exit_code = 2;
  s.attempt = 2;
  s.checkpoint = "epoch 9";
  s.started = s.updated = utc_now();
  write_party_status(t.sub("status.json"), s);
  auto r = read_party_status(t.sub("status.json"));
  REQUIRE(r);
  CHECK(r->party == 10000);
  CHECK(r->state == "failed");
  CHECK(r->step == "epoch 10, batch 3");
  CHECK(r->attempt == 2);
  CHECK(r->pid == (long)::getpid());
  CHECK(r->summary() == "failed at epoch 10, batch 3: data error");
  CHECK_FALSE(r->process_gone());  // failed records are what they say
  CHECK_FALSE(read_party_status(t.sub("none.json")));
}

TEST_CASE("a running record whose process is gone is recognised") {
  testutil::TempDir t;
  PartyStatus s;
  s.job = "j1";
  s.party = 9999;
  s.role = "guest";
  s.pid = 0x3ffffff0;  // no such process
  write_party_status(t.sub("status.json"), s);
  auto r = read_party_status(t.sub("status.json"));
  REQUIRE(r);
  CHECK(r->process_gone());
}

TEST_CASE("other files are refused with their name; a job's records come by party") {
  testutil::TempDir t;
  { std::ofstream(t.sub("bad.json")) << "{\"format\": \"something-else\"}\n"; }
  CHECK_THROWS_WITH_AS(read_party_status(t.sub("bad.json")), doctest::Contains("bad.json: not a party status record"), Error);
  CHECK_THROWS_WITH_AS(read_job_status(t.sub("nothing")), doctest::Contains("no such output directory"), Error);
  CHECK_THROWS_WITH_AS(read_job_status(t.path), doctest::Contains("no party status records"), Error);
  for (long p : {10001L, 9999L}) {
    std::string d = t.sub(std::to_string(p));
    ::mkdir(d.c_str(), 0700);
    PartyStatus s;
    s.job = "j";
    s.party = p;
    s.state = "succeeded";
    write_party_status(d + "/status.json", s);
  }
  auto v = read_job_status(t.path);
  REQUIRE(v.size() == 2);
  CHECK(v[0].party == 9999);
  CHECK(v[1].party == 10001);
}
