#include "fatectl/federation/federation.h"

#include <doctest/doctest.h>

#include "test_util.h"

using namespace fatectl::federation;
using fatectl::federation::test::TempDir;

namespace {

std::string first_error(const Report& r) { return r.errors.empty() ? "" : r.errors.front().str(); }

}  // namespace

TEST_CASE("a valid federation: defaults for names, namespaces and the CA folder") {
  TempDir d;
  Report r = check_file(d.write("f.yaml", test::kPulsarFed));
  REQUIRE_MESSAGE(r.ok(), first_error(r));
  CHECK(r.fed.name == "t1");
  CHECK(r.fed.engine == kEnginePulsar);
  CHECK(r.fed.exchange.namespace_ == "fate-exchange");
  REQUIRE(r.fed.parties.size() == 2);
  CHECK(r.fed.parties[1].namespace_ == "fate-10000");
  CHECK(r.fed.parties[1].name == "fate-10000");
  CHECK(r.fed.cert_dir == d.path + "/pki");
  CHECK(r.fed.member_list() == "9999, 10000");
  CHECK(party_fqdn(r.fed, 10000) == "10000.fate.org");
}

TEST_CASE("a mistyped key is named at its line and column with the nearest key") {
  Report r = check("federation: t1\nengine: Pulsar\nexchange: {context: a}\nparties:\n  - id: 9999\n    contxt: b\n", "f.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(first_error(r) == "f.yaml:6:5: parties[0].contxt: unknown key 'contxt' (did you mean 'context'?); --lenient allows it");
  CheckOptions lenient;
  lenient.lenient = true;
  Report w = check("federation: t1\nengine: Pulsar\nexchange: {context: a}\nparties:\n  - id: 9999\n    contxt: b\n", "f.yaml", lenient);
  CHECK(w.ok());
  CHECK(w.warnings.size() == 1);
}

TEST_CASE("federation-wide rules: unique ids, one namespace per site, the engine") {
  Report dup = check("federation: t1\nengine: Pulsar\nexchange: {context: a}\nparties:\n  - {id: 9999, context: b}\n  - {id: 9999, context: c}\n", "f.yaml");
  CHECK(first_error(dup).find("f.yaml:6:10: parties[1].id: party 9999 is listed twice") == 0);
  Report ns = check("federation: t1\nengine: Pulsar\nexchange: {context: a, namespace: shared}\nparties:\n  - {id: 9999, context: a, namespace: shared}\n", "f.yaml");
  CHECK(first_error(ns).find("party 9999 and the Exchange both use namespace 'shared' in context 'a'") != std::string::npos);
  Report rmq = check("federation: t1\nengine: RabbitMQ\nexchange: {context: a}\nparties: [{id: 9999}]\n", "f.yaml");
  CHECK(first_error(rmq).find("f.yaml:2:9: engine: RabbitMQ federations connect parties directly") == 0);
  Report one = check("federation: t1\nengine: Pulsar\nexchange: {context: a}\nparties: [{id: 1}]\n", "f.yaml");
  CHECK(first_error(one).find("party id 1 is the Exchange's own partyId") != std::string::npos);
  Report osx = check("federation: t1\nengine: OSX\nchartVersion: v1.11.2\nexchange: {context: a}\nparties: [{id: 9999}]\n", "f.yaml");
  CHECK(first_error(osx).find("OSX federation needs chart v2.0 or later") != std::string::npos);
}

TEST_CASE("a party's spec file is checked against the federation at its own lines") {
  TempDir d;
  d.write("p.yaml",
          "name: fate-9999\nnamespace: fate-9999\nchartName: fate\nchartVersion: v1.11.2\npartyId: 9998\n"
          "modules: [python, mysql, fateboard, client, nginx, pulsar]\ncomputing: Spark_local\nfederation: Pulsar\nstorage: LocalFS\n"
          "pulsar:\n  route_table:\n    12345: {host: a, port: 6650}\n");
  Report r = check_file(d.write("f.yaml", "federation: t1\nengine: Pulsar\nexchange: {context: a}\nparties:\n  - id: 9999\n    spec: p.yaml\n"));
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].str().find(d.path + "/p.yaml:5:10: partyId: the spec is for party 9998, the federation file lists it as party 9999") == 0);
  CHECK(r.errors[1].str().find(d.path + "/p.yaml:12:5: pulsar.route_table.12345: names party 12345, which is not a member") == 0);
  // a broken spec file: its own error, its own location
  d.write("p.yaml", "name: fate-9999\nchartName: fate\nchartVersion: v1.11.2\npartyId: 9999\nmodules: [nope]\n");
  Report b = check_file(d.path + "/f.yaml");
  REQUIRE_FALSE(b.ok());
  CHECK(first_error(b).find(d.path + "/p.yaml:") == 0);
}

TEST_CASE("provision needs addresses; garbage is an error, not a crash") {
  CheckOptions need;
  need.need_addresses = true;
  TempDir d;
  Report r = check(test::kPulsarFed, d.path + "/f.yaml", need);
  CHECK(first_error(r).find("exchange.address: provision needs the address") != std::string::npos);
  std::string junk(4000, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) % 256);
  CHECK_FALSE(check(junk, "junk.yaml").ok());
  CHECK_FALSE(check("", "empty.yaml").ok());
  CHECK(first_error(check("name: x\nchartName: fate\n", "spec.yaml")).find("this is a KubeFATE cluster spec, not a federation file") != std::string::npos);
}
