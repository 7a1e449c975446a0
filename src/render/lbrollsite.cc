// Module lbrollsite: rollsite behind an nginx sidecar that spreads the party's federation
// traffic over several exchanges. Deployment, Services `rollsite` and `exchange`, and the
// ConfigMap rollsite-config holding route_table.json and nginx.conf.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

const char* kFile = "common/lbrollsite.yaml";

// Unknown traffic goes to the local nginx (exchange:9390); partyList entries and this party's
// own fateflow/rollsite as with plain rollsite.
std::string lb_route_table(const Ctx& c) {
  YAML::Node rt(YAML::NodeType::Map);
  rt["default"]["default"] = ip_port("exchange", 9390);
  add_party_routes(rt, c.at({"rollsite", "partyList"}));
  add_rollsite_self(c, rt);
  return route_table_json(rt);
}

// Replaces the line starting with `key` (after indentation) by `line`, keeping the indentation.
std::string replace_line(std::string text, const std::string& key, const std::string& line) {
  size_t p = text.find(key);
  if (p == std::string::npos) return text;
  size_t end = text.find('\n', p);
  text.replace(p, end - p, line);
  return text;
}

std::string nginx_conf(const Ctx& c) {
  std::string t = c.text("common/lbrollsite-nginx.conf");
  t = replace_line(t, "client_max_body_size", "client_max_body_size " + c.str({"lbrollsite", "size"}, "2M") + ";");
  std::string servers = "least_conn;";
  YAML::Node list = c.at({"lbrollsite", "exchangeList"});
  if (list.IsSequence())
    for (const auto& e : list)
      servers += "\n        server " + (e["ip"] ? e["ip"].Scalar() : std::string()) + ":" +
                 (e["port"] ? e["port"].Scalar() : std::string()) + ";";
  return replace_line(t, "least_conn;", servers);
}

}  // namespace

void render_lbrollsite(Ctx& c) {
  YAML::Node cm = c.base(kFile, "ConfigMap", "rollsite-config");
  Ctx::set_data(cm, "route_table.json", lb_route_table(c));
  Ctx::set_data(cm, "nginx.conf", nginx_conf(c));
  c.add("lbrollsite", cm, "rollsite");

  std::string type = c.str({"lbrollsite", "type"}, "ClusterIP");
  YAML::Node svc = c.base(kFile, "Service", "rollsite");
  c.service(svc, type, {{"tcp-rollsite", "nodePort"}}, {"lbrollsite"});
  svc["spec"]["selector"] = c.match_labels("rollsite");
  c.add("lbrollsite", svc, "rollsite");
  YAML::Node ex = c.base(kFile, "Service", "exchange");
  ex["spec"]["type"] = type;  // no nodePort: the chart leaves the exchange port to the cluster
  ex["spec"]["selector"] = c.match_labels("rollsite");
  c.add("lbrollsite", ex, "rollsite");

  YAML::Node dep = c.base(kFile, "Deployment", "rollsite");
  c.workload(dep, "rollsite", {"lbrollsite"});
  container(dep, "exchange")["image"] = c.v20 ? c.prefix + "nginx:1.17" : c.third_party_image("nginx:1.17");
  YAML::Node ctr = container(dep, "rollsite");
  ctr["image"] = c.image_for({"lbrollsite"}, c.image("eggroll" + c.suffix(false)), "federatedai/eggroll");
  c.resources(ctr, {"lbrollsite"});
  c.add("lbrollsite", dep, "rollsite");
}

}  // namespace fatectl::render::detail
