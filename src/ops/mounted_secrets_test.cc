#include <doctest/doctest.h>

#include "fatectl/core/yaml.h"
#include "fatectl/ops/mounted_secrets.h"
#include "fatectl/render/render.h"
#include "fatectl/spec/cluster_spec.h"

using namespace fatectl;

TEST_CASE("secrets_needed: volumes, projected sources and env references that are not optional") {
  kube::Manifest m;
  m.node = yaml::parse(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ns}
spec:
  template:
    spec:
      volumes:
        - {name: cert, secret: {secretName: tls}}
        - {name: maybe, secret: {secretName: opt, optional: true}}
        - name: p
          projected: {sources: [{secret: {name: proj}}, {configMap: {name: cm}}]}
      containers:
        - name: c
          env:
            - {name: PASS, valueFrom: {secretKeyRef: {name: db, key: p}}}
            - {name: X, valueFrom: {secretKeyRef: {name: optenv, key: p, optional: true}}}
          envFrom: [{secretRef: {name: all}}]
)", "t");
  auto s = ops::secrets_needed({m});
  std::vector<std::string> names;
  for (auto& x : s) names.push_back(x.ns + "/" + x.name);
  CHECK(names == std::vector<std::string>{"ns/tls", "ns/proj", "ns/db", "ns/all"});
  CHECK(s[0].user == "Deployment/web (volume cert)");
  CHECK(s[2].user == "Deployment/web (env PASS)");
}

TEST_CASE("secrets_needed: the Exchange's traffic-server mounts traffic-server-cert") {
  std::string text = "name: fate-exchange\nnamespace: fate-exchange\nchartName: fate-exchange\nchartVersion: v1.11.2\n"
                     "partyId: 1\nmodules: [trafficServer]\n";
  std::vector<kube::Manifest> objs;
  for (auto& o : render::render(spec::parse(text, "ex.yaml"))) {
    kube::Manifest m;
    m.node = o.node;
    objs.push_back(m);
  }
  auto s = ops::secrets_needed(objs);
  REQUIRE(s.size() == 1);
  CHECK(s[0].name == "traffic-server-cert");
}
