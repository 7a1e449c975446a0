#include "fatectl/fed/job.h"

#include <doctest/doctest.h>

#include "fatectl/core/yaml.h"

using namespace fatectl;
using namespace fatectl::fed;

namespace {

const char* kJob = R"(job: lr-demo-1
domain: fate.org
certificates: certs
timeout: 2h
parties:
  - id: 9999
    role: guest
    listen: 0.0.0.0:9443
    data: data/guest.csv
  - id: 10000
    role: host
    listen: 127.0.0.1:9444
    data: [data/host.csv]
  - id: 10001
    role: arbiter
    listen: 127.0.0.1:9445
routes:
  10000: {exchange: 10.0.0.5:443}
  default: {exchange: 10.0.0.6:443}
algorithm:
  name: echo
  params: {rounds: 5}
transport:
  maxFrameBytes: 8Mi
  chunkBytes: 1Mi
  messageTimeout: 10m
)";

Job parse(const std::string& text) { return parse_job(yaml::parse(text, "/jobs/job.yaml"), "/jobs/job.yaml"); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  return "";
}

std::string replace(std::string s, const std::string& a, const std::string& b) {
  auto p = s.find(a);
  REQUIRE(p != std::string::npos);
  return s.replace(p, a.size(), b);
}

}  // namespace

TEST_CASE("a complete job file parses") {
  Job j = parse(kJob);
  CHECK(j.id == "lr-demo-1");
  CHECK(j.domain == "fate.org");
  CHECK(j.certs_dir == "/jobs/certs");
  CHECK(j.timeout == std::chrono::hours(2));
  REQUIRE(j.parties.size() == 3);
  CHECK(j.parties[0].role == Role::Guest);
  CHECK(j.parties[0].data == std::vector<std::string>{"/jobs/data/guest.csv"});
  CHECK(j.parties[2].role == Role::Arbiter);
  CHECK(j.algorithm == "echo");
  CHECK(j.params["rounds"].as<int>() == 5);
  CHECK(j.transport.max_frame_bytes == 8u << 20);
  CHECK(j.transport.message_timeout == std::chrono::minutes(10));
  CHECK(j.first_with_role(Role::Host) == 10000);

  Route r = j.route_to(10000);
  CHECK(r.via == Route::Via::Exchange);
  CHECK(r.endpoint.str() == "10.0.0.5:443");
  CHECK(r.sni == "10000.fate.org");
  CHECK(r.where.line == 18);
  Route d = j.route_to(10001);  // no own route: the default exchange
  CHECK(d.via == Route::Via::Exchange);
  CHECK(d.endpoint.str() == "10.0.0.6:443");
  CHECK(d.sni == "10001.fate.org");
}

TEST_CASE("defaults: 72h timeout, direct routes to the listen address") {
  Job j = parse(R"(job: j
domain: fate.org
parties:
  - {id: 1, role: guest, listen: "0.0.0.0:9000"}
  - {id: 2, role: host, listen: "[::1]:9001"}
algorithm: {name: echo}
)");
  CHECK(j.timeout == std::chrono::hours(72));
  CHECK(j.certs_dir == "/jobs/certs");
  Route r = j.route_to(1);
  CHECK(r.via == Route::Via::Direct);
  CHECK(r.endpoint.str() == "127.0.0.1:9000");
  CHECK(j.route_to(2).endpoint.str() == "[::1]:9001");
  CHECK(j.transport.max_frame_bytes == 16u << 20);
}

TEST_CASE("job file errors name the file, line and key") {
  CHECK(error_of(replace(kJob, "timeout: 2h", "timout: 2h")) ==
        "/jobs/job.yaml:4:1: timout: unknown key (did you mean 'timeout'?)");
  CHECK(error_of(replace(kJob, "role: host", "role: hots")) ==
        "/jobs/job.yaml:11:11: parties[1].role: role must be guest, host or arbiter (got 'hots')");
  CHECK(error_of(replace(kJob, "127.0.0.1:9444", "127.0.0.1")).find("/jobs/job.yaml:12:13: parties[1].listen:") == 0);
  CHECK(error_of(replace(kJob, "id: 10000", "id: 9999")).find("parties[1].id: party 9999 is listed twice") != std::string::npos);
  CHECK(error_of(replace(kJob, "role: arbiter", "role: guest")).find("exactly one guest") != std::string::npos);
  CHECK(error_of(replace(kJob, "10000: {exchange", "10002: {exchange")) ==
        "/jobs/job.yaml:18:3: routes.10002: party 10002 is not in parties");
  CHECK(error_of(replace(kJob, "10000: {exchange: 10.0.0.5:443}", "10000: {exchnge: 10.0.0.5:443}"))
            .find("/jobs/job.yaml:18:10: routes.10000: expected exactly one of") == 0);
  CHECK(error_of(replace(kJob, "default: {exchange", "default: {direct")).find("routes.default: the default route must be") !=
        std::string::npos);
  CHECK(error_of(replace(kJob, "maxFrameBytes: 8Mi", "maxFrameBytes: 8Zi")).find("/jobs/job.yaml:24:18: transport.maxFrameBytes:") == 0);
  CHECK(error_of(replace(kJob, "chunkBytes: 1Mi", "chunkBytes: 8Mi")).find("transport.chunkBytes: must be at least 4 KiB below") !=
        std::string::npos);
  CHECK(error_of(replace(kJob, "job: lr-demo-1\n", "")) == "/jobs/job.yaml:1:1: job: missing (see docs/job-file.md)");
  CHECK(error_of(replace(kJob, "id: 10001", "id: -3")).find("party id must be a positive integer") != std::string::npos);
  CHECK(error_of(replace(kJob, "timeout: 2h", "timeout: 2 hours")).find("/jobs/job.yaml:4:10: timeout:") == 0);
}

TEST_CASE("sizes and durations") {
  CHECK(parse_size("65536") == 65536);
  CHECK(parse_size("16Mi") == 16u << 20);
  CHECK(parse_size("2GiB") == 2ull << 30);
  CHECK(parse_size("1k") == 1000);
  CHECK_THROWS_AS(parse_size("1.5Mi"), Error);
  CHECK(parse_duration("72h") == std::chrono::hours(72));
  CHECK(parse_duration("500ms") == std::chrono::milliseconds(500));
  CHECK(parse_duration("30") == std::chrono::seconds(30));
  CHECK_THROWS_AS(parse_duration("3 weeks"), Error);
  CHECK(format_duration(std::chrono::hours(72)) == "72h");
  CHECK(format_duration(std::chrono::milliseconds(1500)) == "1500ms");
}

TEST_CASE("liveness settings: defaults, values, and a heartbeat that must fit peerDeadTimeout three times") {
  Job d = parse(kJob);
  CHECK(d.transport.heartbeat_interval == std::chrono::seconds(10));
  CHECK(d.transport.peer_dead_timeout == std::chrono::minutes(5));
  Job j = parse(replace(kJob, "messageTimeout: 10m", "messageTimeout: 10m\n  heartbeatInterval: 200ms\n  peerDeadTimeout: 2s"));
  CHECK(j.transport.heartbeat_interval == std::chrono::milliseconds(200));
  CHECK(j.transport.peer_dead_timeout == std::chrono::seconds(2));
  CHECK(error_of(replace(kJob, "messageTimeout: 10m", "messageTimeout: 10m\n  heartbeatInterval: 1s\n  peerDeadTimeout: 2s")) ==
        "/jobs/job.yaml:27:22: transport.heartbeatInterval: heartbeatInterval (1s) must be at most a third of peerDeadTimeout (2s)");
  CHECK(error_of(replace(kJob, "messageTimeout: 10m", "messageTimeout: 10m\n  peerDeadTimeout: 20s"))
            .find("transport.peerDeadTimeout: heartbeatInterval (10s) must be at most a third") != std::string::npos);
  CHECK(error_of(replace(kJob, "messageTimeout: 10m", "messageTimeout: 10m\n  peerDeadTimout: 2s"))
            .find("transport.peerDeadTimout: unknown key (did you mean 'peerDeadTimeout'?)") != std::string::npos);
}
