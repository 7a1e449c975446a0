#include <doctest/doctest.h>

#include <thread>

#include "fatectl/ops/toy.h"

using namespace fatectl;
using namespace fatectl::ops;

TEST_CASE("toy command and container by FATE version") {
  auto c16 = toy_command("1.6.1", 9999, 10000, 600);
  CHECK(c16.container == "python");
  CHECK(c16.argv == std::vector<std::string>{"bash", "-c",
                                             "cd /data/projects/fate/examples/toy_example && python run_toy_example.py 9999 10000 1"});
  auto c18 = toy_command("1.8.0", 9999, 10000, 600);
  CHECK(c18.container == "python");
  CHECK(c18.argv == std::vector<std::string>{"flow", "test", "toy", "-gid", "9999", "-hid", "10000"});
  CHECK(toy_command("1.9.0", 9999, 10000, 600).container == "fateflow");
  CHECK(toy_command("1.11.2", 9999, 10000, 600).container == "fateflow");
  CHECK(toy_command("2.0.0", 9999, 10000, 600).container == "fateflow");
  CHECK_THROWS_AS(toy_command("1.5.0", 1, 2, 1), Error);
  CHECK(version_from_image("federatedai/fateflow:1.11.2-release") == "1.11.2");
  CHECK(version_from_image("registry:5000/federatedai/python:1.6.1-release") == "1.6.1");
  CHECK(version_from_image("federatedai/fateflow") == "");
}

TEST_CASE("toy verdicts") {
  auto a = analyse_toy_output("1.6.1",
                              "stdout:{\"jobId\": \"2026113005\", \"retcode\": 0}\njob status is running\n"
                              "[INFO] - secure_add_guest.py[line:118] - INFO: success to calculate secure_sum, it is 2000.0000000000002\n",
                              0, 9999, 10000, false);
  CHECK(a.verdict == ToyVerdict::Success);
  CHECK(a.sum == "2000.0000000000002");
  CHECK(a.job_id == "2026113005");
  // the same text with a non-zero exit is not a success
  CHECK(analyse_toy_output("1.6.1", "success to calculate secure_sum, it is 2000", 1, 9999, 10000, false).verdict ==
        ToyVerdict::Failed);
  auto t = analyse_toy_output("1.11.2", "toy test job 42 is running\ncheck job status timeout\n", 0, 9999, 10000, false);
  CHECK(t.verdict == ToyVerdict::Timeout);
  CHECK(t.log_command == "flow job log -j 42 -o /tmp/toy-logs");
  auto t2 = analyse_toy_output("2.0.0", "toy test job 7 is running\ntimeout...\n", 0, 9999, 10000, false);
  CHECK(t2.verdict == ToyVerdict::Timeout);
  CHECK(t2.log_command == "flow job download-log -j 7 -o /tmp/toy-logs");
  std::string loop;
  for (int i = 0; i < 5; ++i) loop += "job status is query job status failed\n";
  auto q = analyse_toy_output("1.6.0", loop, 1, 9999, 10000, false);
  CHECK(q.verdict == ToyVerdict::QueryFailed);
  CHECK(q.hint.find("missing from a route table") != std::string::npos);
  auto d = analyse_toy_output("1.8.0", "{\"retcode\": 100, \"retmsg\": \"Connection refused, Please check if the fate flow service is started\"}", 0,
                              9999, 10000, true);
  CHECK(d.verdict == ToyVerdict::FlowDown);
  auto f = analyse_toy_output("2.0.0", "toy test job 9 is failed\n", 0, 9999, 10000, false);
  CHECK(f.verdict == ToyVerdict::Failed);
  CHECK(f.hint.find("party 10000") != std::string::npos);
  CHECK(analyse_toy_output("1.11.2", "toy test job 9 is success\n", 0, 9999, 10000, false).verdict == ToyVerdict::Success);
  CHECK(analyse_toy_output("1.11.2", "nothing useful\n", 0, 9999, 10000, false).verdict == ToyVerdict::Unknown);
}

TEST_CASE("toy verdicts from hostile output: long tokens neither crash nor match") {
  std::string junk(2'000'000, 'y');
  auto a = analyse_toy_output("1.11.2", "toy test job " + junk + " is success\n", 0, 9999, 10000, false);
  CHECK(a.verdict == ToyVerdict::Unknown);  // a 2 MB job id is no job id
  CHECK(a.job_id.empty());
  auto b = analyse_toy_output("1.6.1", "{\"jobId\": \"" + junk + "\"}\nsuccess to calculate secure_sum, it is " + junk, 0,
                              9999, 10000, false);
  CHECK(b.job_id.empty());
  CHECK(b.verdict != ToyVerdict::Success);
  // a real line after the junk is still found
  auto c = analyse_toy_output("1.11.2", "toy test job " + junk + "\ntoy test job 202612 is success\n", 0, 9999, 10000, false);
  CHECK(c.verdict == ToyVerdict::Success);
  CHECK(c.job_id == "202612");
  CHECK(version_from_image("federatedai/fateflow:" + std::string(100000, '1')).empty());
}

TEST_CASE("native toy protocol over the in-process hub: the sum verifies") {
  fed::LocalHub hub;
  auto g = hub.channel(9999), h = hub.channel(10000);
  ToyParams p;
  p.data_num = 300;
  p.throughput_bytes = 64 << 10;
  p.timeout = std::chrono::milliseconds(10'000);
  NativeToyReport rg, rh;
  int rc_h = -1;
  std::thread host([&] { rc_h = run_toy_protocol(*h, false, 9999, p, rh); });
  int rc_g = run_toy_protocol(*g, true, 10000, p, rg);
  host.join();
  CHECK(rc_g == 0);
  CHECK(rc_h == 0);
  CHECK(rg.sum == "600");
  REQUIRE(rg.hops.size() == 3);
  CHECK(rg.hops[0].hop == "round trip");
  CHECK(rg.hops[1].hop == "throughput");
  CHECK(rg.hops[2].hop == "secure add");
  CHECK(rh.hops.back().detail == "guest says: ok: sum 600 = 2 x 300");
  auto back = native_report_from_yaml(native_report_yaml(rg));
  CHECK(back.sum == "600");
  CHECK(native_report_text(back).find("PASS: secure sum 600 = 2 x 300") != std::string::npos);
}

TEST_CASE("native toy protocol: a host with another dataNum is caught") {
  fed::LocalHub hub;
  auto g = hub.channel(9999), h = hub.channel(10000);
  ToyParams pg, ph;
  pg.data_num = 100;
  ph.data_num = 99;
  pg.timeout = ph.timeout = std::chrono::milliseconds(2'000);
  pg.throughput_bytes = ph.throughput_bytes = 1024;
  NativeToyReport rg, rh;
  std::thread host([&] { run_toy_protocol(*h, false, 9999, ph, rh); });
  int rc = run_toy_protocol(*g, true, 10000, pg, rg);
  host.join();
  CHECK(rc != 0);
  CHECK(rg.failed_hop == "secure add");
}

TEST_CASE("toy output and versions are scanned in linear time, whatever their length") {
  // a regex search recursed per character over FATE's output (megabytes of logs)
  std::string big(4 << 20, 'x');
  CHECK(analyse_toy_output("1.11.2", big + "\ntoy test job 202401 is success\n", 0, 9999, 10000, false).verdict ==
        ToyVerdict::Success);
  // a 4 MiB "job id" is no job id (tokens are at most 256 bytes): no verdict from it, and no crash
  CHECK(analyse_toy_output("1.11.2", "toy test job " + big + " is failed\n", 0, 9999, 10000, false).verdict ==
        ToyVerdict::Unknown);
  CHECK(analyse_toy_output("1.11.2", big + "toy test job " + std::string(200, '7') + " is failed\n", 0, 9999, 10000,
                           false).verdict == ToyVerdict::Failed);
  auto a = analyse_toy_output("1.6.1", "{\"jobId\":\n \"77\"}" + big + "success to calculate secure_sum, it is 2e3\n", 0,
                              9999, 10000, false);
  CHECK(a.job_id == "77");
  CHECK(a.sum == "2e3");
  CHECK(version_from_image("federatedai/fateflow:v1.11.2-release") == "1.11.2");
  CHECK(version_from_image("federatedai/fateflow:2.0") == "2.0");
  CHECK(version_from_image("federatedai/fateflow:latest") == "");
  CHECK(version_from_image("x:" + std::string(1 << 20, '1')) == "");
  CHECK_THROWS_AS(toy_command(std::string(1 << 20, '1') + ".1", 9999, 10000, 60), Error);  // no stoi overflow
  CHECK_THROWS_AS(toy_command("v1", 9999, 10000, 60), Error);
}
