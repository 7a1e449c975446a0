// The live view and the mounted route files it parses.
#include <doctest/doctest.h>

#include "fake_exchange_cluster.h"

using namespace fatectl;
using namespace fatectl::ops;
using namespace fatectl::ops::testing;

TEST_CASE("live view: mounted routes and what Traffic Server loaded, against the record") {
  FakeCluster cl = installed();
  RouteConfigMaps rec = read_route_configmaps(cl, "fate-exchange", "fate-exchange");
  CHECK(read_live_routes(cl, rec, fast()).in_sync());
  // someone changes the mounted file: missing, extra, and not reloaded since
  FakePod& p = cl.pods_["traffic-server-1"];
  p.sni = "sni:\n  - fqdn: 10001.fate.org\n    tunnel_route: 1.2.3.4:30101\n";
  p.sni_mtime = ++cl.clock;
  cl.kubelet = false;
  LiveReport live = read_live_routes(cl, rec, fast());
  REQUIRE(live.pods.size() == 1);
  CHECK(!live.in_sync());
  CHECK(live.pods[0].differences ==
        std::vector<std::string>{"missing sni 9999.fate.org -> 192.168.9.1:30099", "extra sni 10001.fate.org -> 1.2.3.4:30101"});
  REQUIRE(live.pods[0].state.size() == 1);
  CHECK(live.pods[0].state[0].find("not reloaded since sni.yaml changed") == 0);
}

TEST_CASE("route file entries: sni.yaml, nginx route_table.yaml, rollsite route_table.json") {
  auto sni = route_file_entries("traffic-server", "sni:\n  - fqdn: 9999.fate.org\n    tunnel_route: 1.2.3.4:30099\n");
  CHECK(sni == std::map<std::string, std::string>{{"sni 9999.fate.org", "1.2.3.4:30099"}});
  auto ngx = route_file_entries("nginx", "9999:\n  proxy:\n    - host: a\n      http_port: 1\n      grpc_port: 2\n");
  CHECK(ngx == std::map<std::string, std::string>{{"nginx 9999 proxy", "a:1:2"}});
  auto rs = route_file_entries("rollsite", R"({"route_table": {"9999": {"default": [{"ip": "a", "port": 9370}]}}})");
  CHECK(rs == std::map<std::string, std::string>{{"rollsite 9999 default", "a:9370"}});
  CHECK(route_entry_party("nginx 9999 proxy") == "9999");
  CHECK(route_entry_differences({{"k", "a"}, {"m", "b"}}, {{"k", "c"}, {"n", "d"}}) ==
        std::vector<std::string>{"k -> c (recorded: a)", "missing m -> b", "extra n -> d"});
  CHECK_THROWS_AS(route_file_entries("nginx", "a: [b"), Error);
}
