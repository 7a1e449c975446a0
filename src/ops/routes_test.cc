#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/route_file.h"
#include "fatectl/ops/routes.h"

using namespace fatectl;
using namespace fatectl::ops;

namespace {

const char* kSpec = R"(# fate-exchange for the north federation -- kept in git
name: fate-exchange
namespace: fate-exchange
chartName: fate-exchange
chartVersion: v1.11.2
partyId: 1
registry: ""   # docker hub
modules:
  - trafficServer
  - nginx

trafficServer:
  type: NodePort
  nodePort: 30001   # the parties dial this
  route_table:
    sni:
    # bank A
    - fqdn: 9999.fate.org
      tunnelRoute: 192.168.9.1:30099
    - fqdn: 10000.fate.org
      tunnelRoute: 192.168.10.1:30109
  # keep this comment
  replicas: 1

nginx:
  type: NodePort
  route_table:
    9999:
      proxy:
      - host: 192.168.9.1
        http_port: 30093
        grpc_port: 30098
      fateflow:
      - host: 192.168.9.1
        http_port: 30097
        grpc_port: 30092
  httpNodePort: 30003
# trailing comment
)";

// Every line of `a` that is not inside the routes appears, in order, in `b`.
bool keeps_lines(const std::string& a, const std::string& b, const std::vector<std::string>& must) {
  for (auto& m : must)
    if (b.find(m) == std::string::npos) return false;
  (void)a;
  return true;
}

}  // namespace

TEST_CASE("host:port parsing") {
  CHECK(parse_host_port("192.168.10.1:30109", "--tunnel").str() == "192.168.10.1:30109");
  CHECK(parse_host_port("[fd00::1]:6651", "--tunnel").host == "[fd00::1]");
  CHECK_THROWS_WITH_AS(parse_host_port("192.168.10.1", "--tunnel"), "--tunnel: '192.168.10.1': expected host:port", Error);
  CHECK_THROWS_AS(parse_host_port("h:0", "--tunnel"), Error);
  CHECK_THROWS_AS(parse_host_port("h:70000", "--tunnel"), Error);
  CHECK_THROWS_AS(parse_host_port("h:x1", "--tunnel"), Error);
  CHECK_THROWS_AS(parse_host_port("bad host:1", "--tunnel"), Error);
  CHECK(parse_nginx_endpoint("10.0.0.1:30103:30108", "--proxy").grpc_port == 30108);
  CHECK_THROWS_AS(parse_nginx_endpoint("10.0.0.1:30103", "--proxy"), Error);
  CHECK(parse_party_id("10000", "--party") == 10000);
  CHECK_THROWS_AS(parse_party_id("10a", "--party"), Error);
  CHECK_THROWS_AS(parse_party_id("0", "--party"), Error);
}

TEST_CASE("hosts, DNS names and route-file keys: hand-written scanners, lengths bounded") {
  // long values made the regex matcher recurse per character until the stack overflowed
  std::string long_host(300000, 'a');
  CHECK_THROWS_WITH_AS(parse_host_port(long_host + ":6650", "--tunnel"),
                       doctest::Contains("is not a host name or IP address"), Error);
  CHECK_THROWS_AS(parse_host_port(std::string(254, 'a') + ":1", "--tunnel"), Error);
  CHECK(parse_host_port(std::string(253, 'a') + ":1", "--tunnel").port == 1);
  CHECK(parse_host_port("[fd00::1]:30109", "--tunnel").host == "[fd00::1]");
  CHECK_THROWS_AS(parse_host_port("-a:1", "--tunnel"), Error);
  CHECK_THROWS_AS(parse_host_port("[]:1", "--tunnel"), Error);
  try {
    parse_host_port(long_host + ":x", "--tunnel");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).size() < 200);  // the value is quoted short
  }
  std::string text = std::string(kSpec);
  std::string label64(64, 'b');
  text.replace(text.find("10000.fate.org"), 14, "10000." + label64 + ".org");
  CHECK_THROWS_WITH_AS(read_routes(yaml::parse(text, "x.yaml"), "x.yaml"), doctest::Contains("is not a DNS name"), Error);
  // the line editor over a line of 300000 ": " pairs and a 300000-byte key
  std::string lines = "# " + std::string(300000, ':') + "\n" + std::string(300000, 'k') + ": v\n" + std::string(kSpec);
  YamlTextEditor ed(lines);
  CHECK(ed.find({"trafficServer", "route_table", "sni"}).has_value());
  CHECK(ed.find({std::string(300000, 'k')}).has_value());
}

TEST_CASE("connect_ports") {
  CHECK(port_allowed(kDefaultConnectPorts, 443));
  CHECK(port_allowed(kDefaultConnectPorts, 30109));
  CHECK(port_allowed(kDefaultConnectPorts, 6651));
  CHECK_FALSE(port_allowed(kDefaultConnectPorts, 8443));
}

TEST_CASE("read routes with locations") {
  auto t = read_routes(yaml::parse(kSpec, "x.yaml"), "x.yaml");
  REQUIRE(t.sni.size() == 2);
  CHECK(t.sni[1].party == 10000);
  CHECK(t.sni[1].tunnel.port == 30109);
  REQUIRE(t.nginx.size() == 1);
  CHECK(t.nginx[0].fateflow[0].http_port == 30097);
  CHECK(infer_domain(t) == "fate.org");
  // 10000 has SNI but no nginx route
  auto w = route_warnings(t);
  REQUIRE(w.size() == 1);
  CHECK(w[0].find("party 10000 has an SNI route but no nginx route") != std::string::npos);

  std::string dup = std::string(kSpec);
  dup.replace(dup.find("10000.fate.org"), 14, "9999.fate.org");
  CHECK_THROWS_WITH_AS(read_routes(yaml::parse(dup, "x.yaml"), "x.yaml"),
                       doctest::Contains("x.yaml:20:13: trafficServer.route_table.sni[1].fqdn: duplicate fqdn 9999.fate.org (also at x.yaml:18:7)"),
                       Error);
  std::string badport = std::string(kSpec);
  badport.replace(badport.find("192.168.10.1:30109"), 18, "192.168.10.1");
  CHECK_THROWS_WITH_AS(read_routes(yaml::parse(badport, "x.yaml"), "x.yaml"),
                       doctest::Contains("x.yaml:21:20: trafficServer.route_table.sni[1].tunnelRoute"), Error);
  std::string typo = std::string(kSpec);
  typo.replace(typo.find("tunnelRoute: 192.168.10.1"), 11, "tunnel_rout");
  CHECK_THROWS_WITH_AS(read_routes(yaml::parse(typo, "x.yaml"), "x.yaml"), doctest::Contains("unknown key"), Error);
}

TEST_CASE("add keeps everything outside the route entries byte for byte") {
  RouteChange c;
  c.party = 10001;
  c.tunnel = parse_host_port("192.168.10.2:30119", "--tunnel");
  auto e = add_route(kSpec, "x.yaml", c);
  CHECK(e.sni_changed);
  std::string expect = kSpec;
  expect.insert(expect.find("  # keep this comment"),
                "    - fqdn: 10001.fate.org\n      tunnelRoute: 192.168.10.2:30119\n");
  CHECK(e.text == expect);
  REQUIRE(e.after.sni.size() == 3);

  // replace a tunnel in place; the "# bank A" comment stays
  RouteChange m;
  m.party = 9999;
  m.tunnel = parse_host_port("192.168.9.9:30099", "--tunnel");
  auto e2 = add_route(kSpec, "x.yaml", m);
  std::string expect2 = kSpec;
  expect2.replace(expect2.find("192.168.9.1:30099"), 17, "192.168.9.9:30099");
  CHECK(e2.text == expect2);
  CHECK(e2.changes[0].find("replaced") != std::string::npos);

  // unchanged → no change flagged
  RouteChange same;
  same.party = 9999;
  same.tunnel = parse_host_port("192.168.9.1:30099", "--tunnel");
  auto e3 = add_route(kSpec, "x.yaml", same);
  CHECK_FALSE(e3.sni_changed);
  CHECK(e3.text == kSpec);
}

TEST_CASE("nginx add, merge and remove") {
  RouteChange c;
  c.party = 10000;
  c.proxy = parse_nginx_endpoint("192.168.10.1:30103:30108", "--proxy");
  c.fateflow = parse_nginx_endpoint("192.168.10.1:30107:30102", "--fateflow");
  auto e = add_route(kSpec, "x.yaml", c);
  CHECK(e.nginx_changed);
  CHECK(e.text.find("    10000:\n      proxy:\n      - host: 192.168.10.1\n        http_port: 30103\n") != std::string::npos);
  CHECK(e.text.find("  httpNodePort: 30003\n# trailing comment\n") != std::string::npos);
  CHECK(route_warnings(e.after).empty());

  // only --proxy for 9999: the fateflow endpoint is kept
  RouteChange p;
  p.party = 9999;
  p.proxy = parse_nginx_endpoint("10.9.9.9:1:2", "--proxy");
  auto e2 = add_route(e.text, "x.yaml", p);
  auto t2 = e2.after;
  REQUIRE(t2.nginx.size() == 2);
  CHECK(t2.nginx[0].proxy[0].host == "10.9.9.9");
  CHECK(t2.nginx[0].fateflow[0].http_port == 30097);

  auto r = remove_route(e2.text, "x.yaml", 10000, RemoveScope{});
  CHECK(r.removed);
  CHECK(r.sni_changed);
  CHECK(r.nginx_changed);
  CHECK(r.after.sni.size() == 1);
  CHECK(r.after.nginx.size() == 1);
  CHECK(r.text.find("10000") == std::string::npos);
  CHECK(r.text.find("# keep this comment") != std::string::npos);
  CHECK(r.text.find("# bank A") != std::string::npos);

  // removing the bank-A entry takes its comment with it; the list becomes "sni: []" when empty
  auto r2 = remove_route(r.text, "x.yaml", 9999, RemoveScope{true, false, false});
  CHECK(r2.text.find("# bank A") == std::string::npos);
  CHECK(r2.text.find("    sni: []\n") != std::string::npos);
  CHECK(r2.after.sni.empty());
  CHECK(r2.after.nginx.size() == 1);
  // and adding again into the empty list works
  RouteChange again;
  again.party = 10000;
  again.tunnel = parse_host_port("1.2.3.4:30109", "--tunnel");
  auto r3 = add_route(r2.text, "x.yaml", again);
  CHECK(r3.text.find("    sni:\n    - fqdn: 10000.fate.org\n      tunnelRoute: 1.2.3.4:30109\n") != std::string::npos);

  CHECK_THROWS_WITH_AS(remove_route(kSpec, "x.yaml", 12345, RemoveScope{}),
                       "x.yaml: party 12345 is not in the route table", Error);
}

TEST_CASE("missing sections are created; flow style is rewritten") {
  const char* bare = "name: ex\nmodules: [trafficServer, rollsite]\ntrafficServer:\n  type: NodePort\n";
  RouteChange c;
  c.party = 9999;
  c.domain = "example.com";
  c.tunnel = parse_host_port("h:30000", "--tunnel");
  c.rollsite = parse_host_port("10.0.0.1:30091", "--rollsite");
  auto e = add_route(bare, "b.yaml", c);
  CHECK(e.text ==
        "name: ex\nmodules: [trafficServer, rollsite]\ntrafficServer:\n  type: NodePort\n  route_table:\n    sni:\n"
        "    - fqdn: 9999.example.com\n      tunnelRoute: h:30000\nrollsite:\n  partyList:\n  - partyId: 9999\n"
        "    partyIp: 10.0.0.1\n    partyPort: 30091\n");
  // the domain is inferred from existing routes next time
  RouteChange d;
  d.party = 10000;
  d.tunnel = parse_host_port("h:30001", "--tunnel");
  auto e2 = add_route(e.text, "b.yaml", d);
  CHECK(e2.after.sni[1].fqdn == "10000.example.com");

  const char* flow = "trafficServer:\n  route_table:\n    sni: [{fqdn: 1.fate.org, tunnelRoute: 'a:30001'}]  # x\n";
  RouteChange f;
  f.party = 2;
  f.tunnel = parse_host_port("b:30002", "--tunnel");
  auto e3 = add_route(flow, "f.yaml", f);
  CHECK(e3.text ==
        "trafficServer:\n  route_table:\n    sni:  # x\n    - fqdn: 1.fate.org\n      tunnelRoute: a:30001\n"
        "    - fqdn: 2.fate.org\n      tunnelRoute: b:30002\n");
  const char* flowparent = "trafficServer: {route_table: {sni: []}}\n";
  CHECK_THROWS_WITH_AS(add_route(flowparent, "g.yaml", f), doctest::Contains("flow style"), Error);
}

TEST_CASE("port outside connect_ports warns") {
  RouteChange c;
  c.party = 10000;
  c.tunnel = parse_host_port("192.168.10.1:8443", "--tunnel");
  auto e = add_route(kSpec, "x.yaml", c);
  bool found = false;
  for (auto& w : e.warnings) found |= w.find("outside Traffic Server's connect_ports") != std::string::npos;
  CHECK(found);
  CHECK(e.connect_ports_changed);  // records.config changes: Traffic Server needs a restart
  c.tunnel = parse_host_port("192.168.10.1:30109", "--tunnel");
  CHECK_FALSE(add_route(kSpec, "x.yaml", c).connect_ports_changed);
}

TEST_CASE("sni.yaml rendering") {
  auto t = read_routes(yaml::parse(kSpec, "x.yaml"), "x.yaml");
  CHECK(sni_yaml(t) ==
        "sni:\n  - fqdn: 9999.fate.org\n    tunnel_route: 192.168.9.1:30099\n  - fqdn: 10000.fate.org\n"
        "    tunnel_route: 192.168.10.1:30109\n");
  CHECK(sni_yaml(RouteTable{}) == "sni: []\n");
}

TEST_CASE("atomic write keeps mode") {
  std::string p = "/tmp/fatectl-routes-test-" + std::to_string(::getpid()) + ".yaml";
  write_file_atomic(p, "a: 1\n");
  ::chmod(p.c_str(), 0640);
  write_file_atomic(p, "a: 2\n");
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  CHECK(yaml::read_file(p) == "a: 2\n");
  ::unlink(p.c_str());
  (void)keeps_lines;
}
