#include "fatectl/federation/sites.h"

#include <doctest/doctest.h>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/routes.h"
#include "test_util.h"

using namespace fatectl;
using namespace fatectl::federation;
using fatectl::federation::test::TempDir;

namespace {

ExchangeAddress pulsar_exchange() {
  ExchangeAddress e;
  e.host = "10.0.0.1";
  e.sni_port = 30007;
  e.nginx_http = 30003;
  e.nginx_grpc = 30008;
  return e;
}

PartyAddress pulsar_party(long id, const std::string& host) {
  PartyAddress a;
  a.party = id;
  a.tunnel = ops::HostPort{host, 30109};
  a.proxy = ops::NginxEndpoint{host, 30103, 30108};
  a.fateflow = ops::NginxEndpoint{host, 30107, 30102};
  return a;
}

}  // namespace

TEST_CASE("a generated Pulsar party: exposed Services and the Exchange's address; valid and deterministic") {
  TempDir d;
  Federation f = load(d.write("f.yaml", test::kPulsarFed));
  std::string text = party_spec_text(f, f.parties[0], pulsar_exchange());
  CHECK(text == party_spec_text(f, f.parties[0], pulsar_exchange()));
  spec::ClusterSpec s = spec::parse(text, "p.yaml");
  CHECK(s.party_id == 9999);
  CHECK(s.federation == "Pulsar");
  CHECK(s.root["pulsar"]["type"].Scalar() == "NodePort");
  CHECK(s.root["pulsar"]["exchange"]["ip"].Scalar() == "10.0.0.1");
  CHECK(s.root["pulsar"]["exchange"]["port"].Scalar() == "30007");
  CHECK(s.root["pulsar"]["exchange"]["domain"].Scalar() == "fate.org");
  CHECK(s.root["nginx"]["exchange"]["grpcPort"].Scalar() == "30008");
  CHECK(s.root["python"]["type"].Scalar() == "NodePort");
  CHECK_FALSE(names_peers(f, f.parties[0]));
  CHECK_FALSE(s.root["pulsar"]["route_table"].IsDefined());
  NodePortPins pins{{"pulsar.httpsNodePort", 30150}};
  CHECK(spec::parse(party_spec_text(f, f.parties[0], pulsar_exchange(), pins), "p").root["pulsar"]["httpsNodePort"].Scalar() == "30150");
}

TEST_CASE("a party whose own table names peers gets every other member, through the Exchange") {
  TempDir d;
  d.write("p.yaml",
          "name: fate-10000\nnamespace: fate-10000\nchartName: fate\nchartVersion: v1.11.2\npartyId: 10000\n"
          "modules: [python, mysql, fateboard, client, nginx, pulsar]\ncomputing: Spark_local\nfederation: Pulsar\nstorage: LocalFS\n"
          "pulsar:\n  route_table:\n    10000: {host: pulsar, port: 6650, sslPort: 6651}\n    9999: {host: 192.168.9.1, port: 30104}\n");
  Federation f = load(d.write("f.yaml", std::string(test::kPulsarFed) + "    spec: p.yaml\n  - id: 10001\n    context: d\n"));
  const Party& p = f.parties[1];
  CHECK(names_peers(f, p));
  spec::ClusterSpec s = spec::parse(party_spec_text(f, p, pulsar_exchange()), "p");
  YAML::Node rt = s.root["pulsar"]["route_table"];
  CHECK(rt["10000"]["host"].Scalar() == "pulsar");  // its own entry as written
  CHECK(rt["9999"]["host"].Scalar() == "9999.fate.org");
  CHECK(rt["9999"]["proxy"].Scalar() == "10.0.0.1:30007");
  CHECK(rt["10001"]["host"].Scalar() == "10001.fate.org");
  CHECK(s.root["nginx"]["route_table"]["10001"]["proxy"][0]["http_port"].Scalar() == "30003");
}

TEST_CASE("the Exchange's spec: no routes in the base, one per party after") {
  TempDir d;
  Federation f = load(d.write("f.yaml", test::kPulsarFed));
  std::string base = exchange_base_text(f);
  ops::RouteTable none = ops::read_routes(yaml::parse(base, "b"), "b");
  CHECK(none.sni.empty());
  CHECK(none.nginx.empty());
  std::string full = exchange_text_with_routes(f, base, {pulsar_party(9999, "10.0.9.1"), pulsar_party(10000, "10.0.10.1")});
  ops::RouteTable t = ops::read_routes(yaml::parse(full, "x"), "x");
  REQUIRE(t.sni.size() == 2);
  CHECK(t.sni[0].fqdn == "9999.fate.org");
  CHECK(t.sni[0].tunnel.str() == "10.0.9.1:30109");
  CHECK(t.nginx.size() == 2);
  CHECK(spec::parse(full, "x").is_exchange());
}

TEST_CASE("an Eggroll federation goes through the Exchange's rollsite") {
  TempDir d;
  Federation f = load(d.write("f.yaml", "federation: e1\nengine: Eggroll\nexchange: {context: a}\nparties:\n  - {id: 9999, context: b}\n  - {id: 10000, context: c}\n"));
  ExchangeAddress ex;
  ex.host = "10.0.0.1";
  ex.rollsite_port = 30001;
  spec::ClusterSpec s = spec::parse(party_spec_text(f, f.parties[0], ex), "p");
  CHECK(s.root["rollsite"]["exchange"]["port"].Scalar() == "30001");
  CHECK(s.root["rollsite"]["type"].Scalar() == "NodePort");
  PartyAddress a;
  a.party = 9999;
  a.rollsite = ops::HostPort{"10.0.9.1", 30091};
  CHECK(a.complete(f));
  ops::RouteTable t = ops::read_routes(yaml::parse(exchange_text_with_routes(f, exchange_base_text(f), {a}), "x"), "x");
  REQUIRE(t.rollsite.size() == 1);
  CHECK(t.rollsite[0].address.str() == "10.0.9.1:30091");
  CHECK(exchange_nodeport_keys(f) == std::vector<std::string>{"rollsite.nodePort"});
}
