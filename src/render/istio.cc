// istio.enabled: the Gateway `<name>-gateway` and the VirtualServices `fateboard` and
// `notebook` that replace the Ingresses of those UIs.
#include "common.h"
#include "fatectl/core/yaml.h"

namespace fatectl::render::detail {

namespace {

const char* kFile = "common/istio.yaml";

// The host names of a UI: 1.9+ ingress.<ui>.hosts[].name (values.yaml default
// <fateboard|notebook>.example.com); 1.6 host.<fateboard|client> (default <party>.<ui>.kubefate.net).
std::vector<std::string> ui_hosts(const Ctx& c, const std::string& ui) {
  std::string dns = ui == "client" ? "notebook" : ui;
  if (c.v16) return {c.str({"host", ui}, c.party_id + "." + dns + ".kubefate.net")};
  std::vector<std::string> out;
  YAML::Node hosts = c.at({"ingress", ui, "hosts"});
  if (Ctx::empty(hosts)) return {dns + ".example.com"};
  for (const auto& h : hosts)
    if (h["name"] && !h["name"].IsNull()) out.push_back(h["name"].Scalar());
  return out;
}

YAML::Node string_list(const std::vector<std::string>& v) {
  YAML::Node l(YAML::NodeType::Sequence);
  for (const auto& s : v) l.push_back(yaml::str(s));
  return l;
}

// 1.9+: one HTTPS server per UI, its certificate from the secret `<ui>-credential`.
YAML::Node https_server(const Ctx& c, const std::string& ui) {
  YAML::Node s(YAML::NodeType::Map);
  s["port"]["number"] = 443;
  s["port"]["name"] = ui + "-https";
  s["port"]["protocol"] = "HTTPS";
  s["tls"]["mode"] = "SIMPLE";
  s["tls"]["credentialName"] = ui + "-credential";
  s["hosts"] = string_list(ui_hosts(c, ui));
  return s;
}

void virtual_service(Ctx& c, const std::string& name, const std::string& ui, const std::string& module, int port) {
  YAML::Node vs = c.base(kFile, "VirtualService", "ui");
  vs["metadata"]["name"] = name;
  vs["spec"]["hosts"] = string_list(ui_hosts(c, ui));
  vs["spec"]["gateways"] = string_list({c.party_name + "-gateway"});
  YAML::Node dest = vs["spec"]["http"][0]["route"][0]["destination"];
  dest["host"] = name;
  dest["port"]["number"] = port;
  c.add(module, vs, "istio");
}

}  // namespace

void render_istio(Ctx& c) {
  YAML::Node gw = c.base(kFile, "Gateway", "gateway");
  gw["metadata"]["name"] = c.party_name + "-gateway";
  if (!c.v16) {
    gw["spec"]["servers"].push_back(https_server(c, "fateboard"));
    gw["spec"]["servers"].push_back(https_server(c, "client"));
  }
  c.add("", gw, "istio");
  if (c.has_module("fateboard")) virtual_service(c, "fateboard", "fateboard", "fateboard", 8080);
  if (c.has_module("client")) virtual_service(c, "notebook", "client", "client", 20000);
}

}  // namespace fatectl::render::detail
