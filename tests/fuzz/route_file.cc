// Fuzz target: an Exchange spec's route tables as `fatectl exchange route list|add|remove -f`
// reads and edits them — the table reader, the warnings, sni.yaml, and the line editor that
// rewrites one block and re-reads the result.
#include <cstddef>
#include <cstdint>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/route_file.h"
#include "fatectl/ops/routes.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::text(data, size));
  const std::string file = "exchange.yaml";
  ops::RouteTable t;
  bool ok = fuzz::run([&] { t = ops::read_routes(yaml::parse(text, file), file); }, {{ErrorKind::Invalid}, file});
  if (ok) {
    (void)ops::route_warnings(t);
    (void)ops::sni_yaml(t);
    (void)yaml::to_json(ops::routes_to_yaml(t));
    (void)ops::infer_domain(t);
  }
  // An edit either produces a file that reads back as intended, refuses the input (exit 2),
  // or refuses to write ("the file was not changed", exit 1) — never anything else.
  fatectl::fuzz::Expect edit{{ErrorKind::Invalid, ErrorKind::Failed}};
  ops::RouteChange c;
  c.party = 10001;
  c.tunnel = ops::parse_host_port("10.0.0.1:6650", "--tunnel");
  c.proxy = ops::parse_nginx_endpoint("10.0.0.1:30107:30108", "--proxy");
  c.rollsite = ops::parse_host_port("10.0.0.1:30091", "--rollsite");
  fuzz::run([&] { (void)ops::add_route(text, file, c); }, edit);
  ops::RouteChange only_sni;
  only_sni.party = 9999;
  only_sni.tunnel = c.tunnel;
  fuzz::run([&] { (void)ops::add_route(text, file, only_sni); }, edit);
  fuzz::run([&] { (void)ops::remove_route(text, file, 9999, {}); }, edit);
  fuzz::run([&] {
    ops::YamlTextEditor ed(text);
    auto b = ed.ensure_block({"trafficServer", "route_table", "sni"});
    (void)ed.items(b);
    (void)ed.text();
  }, edit);
  // The flag parsers take the same kind of text from the command line.
  if (size < 256) {
    fuzz::run([&] { (void)ops::parse_host_port(text, "--tunnel"); });
    fuzz::run([&] { (void)ops::parse_nginx_endpoint(text, "--proxy"); });
    fuzz::run([&] { (void)ops::parse_party_id(text, "PARTY"); });
    (void)ops::port_allowed(text, 6650);
  }
  return 0;
}
