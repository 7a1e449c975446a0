// Unit tests for kube/: kubeconfig rules, base64/time, WebSocket framing, JSON round-trip, and
// (when the emulator can be started) the client, apply, wait and exec against it.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/apply.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/exec.h"
#include "fatectl/kube/kubeconfig.h"

using namespace fatectl;
using namespace fatectl::kube;

namespace {

std::string write_tmp(const std::string& dir, const std::string& name, const std::string& text) {
  std::string p = dir + "/" + name;
  std::ofstream(p) << text;
  return p;
}

std::string tmpdir() {
  char t[] = "/tmp/fatectl-kube-test-XXXXXX";
  REQUIRE(mkdtemp(t) != nullptr);
  return t;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

/// One emulator for the whole test binary (started lazily, stopped at exit).
struct Emulator {
  std::string dir;
  bool ok = false;
  Emulator() {
    const char* src = std::getenv("FATECTL_SOURCE_DIR");
    std::string here = __FILE__;
    std::string root = src ? src : here.substr(0, here.rfind("/src/kube/"));
    if (access((root + "/scripts/kube-emulator").c_str(), X_OK) != 0) return;
    if (access("/usr/bin/python3", X_OK) != 0) return;
    dir = tmpdir();
    std::string cmd = root + "/scripts/kube-emulator start " + dir + " --max-lifetime 600 --watch-pid " +
                      std::to_string(getpid()) + " >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0;
    stop_cmd = root + "/scripts/kube-emulator stop " + dir + " >/dev/null 2>&1";
  }
  ~Emulator() {
    if (ok) std::system(stop_cmd.c_str());
    if (!dir.empty()) std::system(("rm -rf " + dir).c_str());
  }
  std::string admin() const {
    std::ifstream f(dir + "/admin-url");
    std::string u;
    f >> u;
    return u;
  }
  std::string stop_cmd;
};

Emulator& emu() {
  static Emulator e;
  return e;
}

Config ctx(const std::string& name) {
  LoadOptions o;
  o.kubeconfig = emu().dir + "/kubeconfig";
  o.context = name;
  return load_config(o);
}

YAML::Node obj(const std::string& yaml_text) { return yaml::parse(yaml_text, "test"); }

// Creates a one-container busybox pod in namespace default and waits until it is Running.
void running_pod(Client& c, const std::string& name) {
  apply(c, obj("{apiVersion: v1, kind: Pod, metadata: {name: " + name +
               ", namespace: default}, spec: {containers: [{name: main, image: \"busybox:1.36\"}]}}"));
  for (int i = 0; i < 100; ++i) {
    auto p = get(c, ObjectRef{"v1", "Pod", "default", name});
    if (p && (*p)["status"]["phase"] && (*p)["status"]["phase"].Scalar() == "Running") return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

TEST_CASE("base64 and RFC 3339") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9v\nYmFy") == "foobar");
  CHECK(base64_decode("Zg==") == "f");
  CHECK_THROWS_AS(base64_decode("Zm9v!"), Error);
  auto t = parse_rfc3339("2026-11-30T04:50:00Z");
  CHECK(format_rfc3339(t) == "2026-11-30T04:50:00Z");
  CHECK(format_rfc3339(parse_rfc3339("2026-11-30T06:50:00.123+02:00")) == "2026-11-30T04:50:00Z");
  CHECK_THROWS_AS(parse_rfc3339("yesterday"), Error);
}

TEST_CASE("RFC 3339: every field range-checked; times past the clock saturate, never wrap") {
  for (const char* bad : {"2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z",
                          "2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z", "2024-01-01T00:00:00+24:00",
                          "2024-01-01T00:00:00", "2024-01-01T00:00:00Z junk", "1e308", "99999-01-01T00:00:00Z",
                          "2024-01-01T00:00:00.Z", "+024-01-01T00:00:00Z"})
    CHECK_THROWS_AS_MESSAGE(parse_rfc3339(bad), Error, bad);
  CHECK(format_rfc3339(parse_rfc3339("2024-02-29T23:59:60Z")) == "2024-03-01T00:00:00Z");
  using TP = std::chrono::system_clock::time_point;
  CHECK(parse_rfc3339("9999-12-31T23:59:59Z") == TP::max());  // wrapped into 1817 before
  CHECK(parse_rfc3339("0000-01-01T00:00:00Z") == TP::min());
  CHECK(parse_rfc3339("2262-01-01T00:00:00Z") < TP::max());
}

TEST_CASE("exec credential output: library exceptions and odd shapes are refusals (exit 3)") {
  const std::string v1 = "client.authentication.k8s.io/v1";
  auto parse = [&](const std::string& text) { return parse_exec_credential(text, v1, "plugin 'p'"); };
  CHECK(parse(R"({"kind":"ExecCredential","status":{"token":"abcd","expirationTimestamp":"9999-01-01T00:00:00Z"}})")
            .expires == std::chrono::system_clock::time_point::max());
  for (const char* bad : {"", ",", "[1]", R"({"kind":"ExecCredential","status":"x"})",
                          R"({"kind":{"a":1},"status":{"token":"t"}})", R"({"kind":"ExecCredential","status":{"token":[1]}})",
                          R"({"kind":"ExecCredential","status":{"token":"t","expirationTimestamp":"2024-02-30T00:00:00Z"}})"}) {
    try {
      parse(bad);
      FAIL("accepted: " << bad);
    } catch (const Error& e) {
      CHECK_MESSAGE(e.kind() == ErrorKind::Unreachable, bad);
    }
  }
}

TEST_CASE("Secret values: short ones redacted in base64 only, so names stay readable") {
  YAML::Node sec = YAML::Load(
      "kind: Secret\nstringData: {pass: fate, long: S3cretLongValue}\n"
      "data: {enc: " + fatectl::kube::base64_encode("An0therLongOne") + "}\n");
  fatectl::kube::register_secret_values(sec);
  using fatectl::log::redact;
  CHECK(redact("name: fate-9999") == "name: fate-9999");
  CHECK(redact("v=" + fatectl::kube::base64_encode("fate")) == "v=***");
  CHECK(redact("pw S3cretLongValue") == "pw ***");
  CHECK(redact("pw An0therLongOne") == "pw ***");
  CHECK(redact(fatectl::kube::base64_encode("S3cretLongValue")) == "***");
}

TEST_CASE("kubeconfig: merged files, first wins, errors name context and field") {
  std::string d = tmpdir();
  write_tmp(d, "ca.pem", "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
  std::string a = R"(
apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster: {server: "https://a.example:6443/", certificate-authority: ca.pem, tls-server-name: api.internal}
users:
- name: u1
  user: {token: "tok-from-a-123"}
contexts:
- name: one
  context: {cluster: c1, user: u1, namespace: fate}
)";
  std::string b = R"(
current-context: two
clusters:
- name: c1
  cluster: {server: "https://b.example:6443"}
- name: c2
  cluster: {server: "http://127.0.0.1:8080", insecure-skip-tls-verify: true, proxy-url: "socks5://p:1080"}
users:
- name: u2
  user: {username: admin, password: "pw-secret-b"}
- name: u3
  user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./plug, args: [a, b], env: [{name: K, value: V}]}}
- name: bad
  user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}
contexts:
- name: two
  context: {cluster: c2, user: u2}
- name: three
  context: {cluster: c1, user: u3}
- name: broken
  context: {cluster: nowhere, user: u2}
- name: badexec
  context: {cluster: c2, user: bad}
)";
  std::vector<std::pair<std::string, std::string>> files{{d + "/a", a}, {d + "/b", b}};
  Config c = resolve_config(files, "");
  CHECK(c.context == "one");  // current-context of the first file that sets it
  CHECK(c.server == "https://a.example:6443");
  CHECK(c.namespace_ == "fate");
  CHECK(c.tls_server_name == "api.internal");
  CHECK(c.ca_data.find("BEGIN CERTIFICATE") != std::string::npos);  // relative to a's folder
  CHECK(c.token == "tok-from-a-123");
  CHECK(log::redact("Bearer tok-from-a-123") == "Bearer ***");

  Config two = resolve_config(files, "two");
  CHECK(two.insecure);
  CHECK(two.proxy_url == "socks5://p:1080");
  CHECK(two.username == "admin");
  CHECK(two.namespace_ == "default");
  Config three = resolve_config(files, "three");
  CHECK(three.server == "https://a.example:6443");  // cluster c1 from file a wins
  REQUIRE(three.exec);
  CHECK(three.exec->args == std::vector<std::string>{"a", "b"});
  CHECK(three.exec->env.size() == 1);
  CHECK(three.exec->base_dir == d);

  try {
    resolve_config(files, "broken");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("context 'broken'") != std::string::npos);
    CHECK(std::string(e.what()).find("cluster 'nowhere'") != std::string::npos);
    CHECK(e.exit_code() == 2);
  }
  try {
    resolve_config(files, "badexec");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("exec.apiVersion") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(resolve_config(files, "nope"), doctest::Contains("context 'nope' not found"), Error);
}

TEST_CASE("kubeconfig: KUBECONFIG list skips missing files; --kubeconfig must exist") {
  std::string d = tmpdir();
  std::string one = write_tmp(d, "one", "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n");
  std::string two = write_tmp(d, "two",
                              "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
                              "users: [{name: u, user: {tokenFile: tok}}]\ncurrent-context: y\n");
  setenv("KUBECONFIG", (d + "/missing:" + one + ":" + two).c_str(), 1);
  Config c = load_config({});
  CHECK(c.context == "x");
  CHECK(c.server == "https://h:1");
  CHECK(c.token_file == d + "/tok");
  unsetenv("KUBECONFIG");
  CHECK_THROWS_WITH_AS(load_config({d + "/nothing", ""}), doctest::Contains("does not exist"), Error);
}

TEST_CASE("in-pod service account") {
  std::string d = tmpdir();
  write_tmp(d, "token", "sa-token-value\n");
  write_tmp(d, "namespace", "fate-9999\n");
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
  Config c = in_cluster_config(d);
  CHECK(c.server == "https://10.0.0.1:6443");
  CHECK(c.namespace_ == "fate-9999");
  Client cl(c);
  CHECK(cl.authorization() == "Bearer sa-token-value");
  CHECK(log::redact("sa-token-value") == "***");
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
}

TEST_CASE("WebSocket frames round-trip, masked and fragmented") {
  uint8_t mask[4] = {1, 2, 3, 4};
  std::string big(70000, 'x');
  big[69999] = 'y';
  for (const std::string& payload : {std::string("\x01hello", 6), std::string(200, 'a'), big}) {
    std::string f = ws::encode(2, payload, mask);
    ws::Decoder d;
    ws::Frame fr;
    d.feed(f.substr(0, 3));
    CHECK_FALSE(d.next(fr));
    d.feed(f.substr(3));
    REQUIRE(d.next(fr));
    CHECK(fr.opcode == 2);
    CHECK(fr.fin);
    CHECK(fr.payload == payload);
    CHECK(d.buffered() == 0);
  }
  std::string two = ws::encode(1, "ab", nullptr, false) + ws::encode(0, "cd", nullptr, true);
  ws::Decoder d;
  d.feed(two);
  ws::Frame a, b;
  REQUIRE(d.next(a));
  REQUIRE(d.next(b));
  CHECK_FALSE(a.fin);
  CHECK(b.opcode == 0);
  CHECK(a.payload + b.payload == "abcd");
  // RFC 6455 §1.3 example
  CHECK(ws::accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("JSON from the API server round-trips through yaml::parse and to_json") {
  std::string in =
      R"({"a":"123","b":123,"c":12345678901234567890123,"d":"true","e":true,"f":null,"g":"",)"
      R"("h":"caf\u00e9 \"q\" back\\slash\ttab\nnl","i":"\u2603","j":[1,"2",3.5e10],"k":{},"l":[],)"
      R"("m":"yes","n":"0755","o":-0.5,"p":"\ud83d\ude00","q":"a\/b","r":"line1\r\n"})";
  YAML::Node n = parse_json(in, "t");
  std::string out = yaml::to_json(n, false);
  CHECK(out ==
        R"({"a":"123","b":123,"c":12345678901234567890123,"d":"true","e":true,"f":null,"g":"",)"
        "\"h\":\"caf\xc3\xa9 \\\"q\\\" back\\\\slash\\ttab\\nnl\",\"i\":\"\xe2\x98\x83\",\"j\":[1,\"2\",3.5e10],"
        "\"k\":{},\"l\":[],\"m\":\"yes\",\"n\":\"0755\",\"o\":-0.5,\"p\":\"\xf0\x9f\x98\x80\",\"q\":\"a/b\","
        "\"r\":\"line1\\r\\n\"}");
  // And again: stable.
  CHECK(yaml::to_json(yaml::parse(out, "t2"), false) == out);
}

TEST_CASE("apply order puts dependencies first and keeps input order within a stage") {
  std::vector<Manifest> m;
  for (auto k : {"Ingress", "Deployment", "Service", "ConfigMap", "Namespace", "Secret", "PersistentVolumeClaim",
                 "RoleBinding", "ServiceAccount", "StatefulSet"})
    m.push_back(Manifest{"x", obj(std::string("{apiVersion: v1, kind: ") + k + ", metadata: {name: a}}")});
  auto o = in_apply_order(m);
  std::vector<std::string> kinds;
  for (auto& x : o) kinds.push_back(x.node["kind"].Scalar());
  std::string joined;
  for (auto& k : kinds) joined += k + " ";
  INFO(joined);
  CHECK(kinds == std::vector<std::string>{"Namespace", "ServiceAccount", "RoleBinding", "ConfigMap", "Secret",
                                          "PersistentVolumeClaim", "Service", "Deployment", "StatefulSet", "Ingress"});
}

TEST_CASE("readiness from status") {
  auto dep = obj(R"({kind: Deployment, metadata: {generation: 2}, spec: {replicas: 2},
    status: {observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1}})");
  CHECK_FALSE(readiness(dep).ready);
  CHECK(readiness(dep).progress == "1/2 available");
  dep["status"]["availableReplicas"] = 2;
  CHECK(readiness(dep).ready);
  dep["metadata"]["generation"] = 3;
  CHECK_FALSE(readiness(dep).ready);
  auto pvc = obj("{kind: PersistentVolumeClaim, status: {phase: Pending}}");
  CHECK_FALSE(readiness(pvc).ready);
  auto lb = obj("{kind: Service, spec: {type: LoadBalancer}, status: {loadBalancer: {}}}");
  CHECK(waits_for(lb));
  CHECK_FALSE(readiness(lb).ready);
  CHECK_FALSE(waits_for(obj("{kind: Service, spec: {type: NodePort}}")));
}

// ---- against the emulator ----------------------------------------------------------------

TEST_CASE("client: every auth mode reaches the emulator; refused identities are named") {
  if (!emu().ok) {
    MESSAGE("kube emulator not available; skipped");
    return;
  }
  for (auto name : {"cert", "token", "exec"}) {
    Client c(ctx(name));
    ServerVersion v = c.version();
    CHECK(v.major == 1);
    CHECK(v.minor >= 20);
    auto ns = get(c, ObjectRef{"v1", "Namespace", "", "default"});
    CHECK(ns.has_value());
  }
  // The exec plugin ran once for many requests (credential cached until it expires).
  {
    std::string calls_file = emu().dir + "/exec-plugin.calls";
    auto count = [&] { return run("cat " + calls_file + " 2>/dev/null | wc -l"); };
    std::string before = count();
    Client c(ctx("exec"));
    for (int i = 0; i < 5; ++i) c.get_json("/api/v1/namespaces/default");
    CHECK(std::stoi(count()) == std::stoi(before) + 1);
  }
  Client anon(ctx("anonymous"));
  try {
    apply(anon, obj("{apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: default}, data: {a: b}}"));
    FAIL("anonymous apply should be refused");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK(e.exit_code() == 3);
    CHECK(m.find("anonymous") != std::string::npos);
  }
}

TEST_CASE("apply, get, list, delete and JSON fidelity through the emulator") {
  if (!emu().ok) return;
  Client c(ctx("cert"));
  auto cm = obj(R"({apiVersion: v1, kind: ConfigMap, metadata: {name: fid, namespace: default, labels: {app: t}},
    data: {port: "9370", flag: "true", text: "caf\u00e9 ☃ \"q\"\nline2", big: "12345678901234567890"}})");
  YAML::Node live = apply(c, cm);
  CHECK(live["data"]["port"].Scalar() == "9370");
  CHECK(yaml::scalar_type(live["data"]["port"]) == yaml::ScalarType::String);
  CHECK(live["data"]["text"].Scalar() == "caf\xc3\xa9 \xe2\x98\x83 \"q\"\nline2");
  CHECK(live["data"]["big"].Scalar() == "12345678901234567890");
  YAML::Node again = apply(c, cm);  // no change
  CHECK(yaml::to_json(again["data"]) == yaml::to_json(live["data"]));
  CHECK(again["metadata"]["uid"].Scalar() == live["metadata"]["uid"].Scalar());
  auto items = list(c, "v1", "ConfigMap", "default", "app=t");
  REQUIRE(items.size() == 1);
  CHECK(items[0]["kind"].Scalar() == "ConfigMap");
  CHECK(remove(c, ObjectRef::of(cm)));
  CHECK_FALSE(remove(c, ObjectRef::of(cm)));
  CHECK_FALSE(get(c, ObjectRef::of(cm)).has_value());
}

TEST_CASE("retries: 500s and 429 are retried, 4xx are not") {
  if (!emu().ok) return;
  std::string admin = emu().admin();
  ClientOptions quick;
  quick.backoff_base_s = 0.05;
  quick.backoff_cap_s = 0.2;
  Client c(ctx("token"), quick);
  // Two 500s on configmaps, then success.
  run("curl -s -X POST " + admin + "/faults -d '{\"action\":\"status\",\"status\":500,\"times\":2,\"path_regex\":\"configmaps/retry\"}'");
  auto cm = obj("{apiVersion: v1, kind: ConfigMap, metadata: {name: retry, namespace: default}}");
  int before = c.stats().retries;
  apply(c, cm);
  CHECK(c.stats().retries - before >= 2);
  run("curl -s -X POST " + admin + "/faults -d '{\"action\":\"status\",\"status\":429,\"times\":1,\"retry_after\":1,\"path_regex\":\"configmaps/retry\"}'");
  before = c.stats().retries;
  apply(c, cm);
  CHECK(c.stats().retries - before == 1);
  run("curl -s -X DELETE " + admin + "/faults");
  // 422: not retried, error names the object
  before = c.stats().retries;
  CHECK_THROWS_WITH_AS(apply(c, obj("{apiVersion: v1, kind: ConfigMap, metadata: {name: Bad_Name, namespace: default}}")),
                       doctest::Contains("Bad_Name"), Error);
  CHECK(c.stats().retries == before);
}

TEST_CASE("exec: stdout, stderr, exit codes, stdin, v4 fallback, refusal") {
  if (!emu().ok) return;
  Client c(ctx("cert"));
  running_pod(c, "shell");
  ExecResult r = exec(c, "default", "shell", {"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(r.protocol == "v5.channel.k8s.io");
  CHECK(r.exit_code == 3);
  CHECK(r.stdout_data == "out\n");
  CHECK(r.stderr_data == "err\n");

  // Same stdout and exit code as the real kubectl for the same command.
  if (access("/usr/bin/kubectl", X_OK) == 0) {
    std::string kc = "timeout 60 /usr/bin/kubectl --kubeconfig " + emu().dir + "/kubeconfig --cache-dir " + emu().dir +
                     "/kcache exec shell -n default -- sh -c 'echo out; printf \"a\\tb\"; exit 3' 2>/dev/null; echo \"rc=$?\"";
    std::string kout = run(kc);
    ExecResult mine = exec(c, "default", "shell", {"sh", "-c", "echo out; printf \"a\\tb\"; exit 3"});
    CHECK(kout == mine.stdout_data + "rc=" + std::to_string(mine.exit_code) + "\n");
  }

  // Bearer-token and exec-plugin identities work for exec too.
  for (auto name : {"token", "exec"}) {
    Client other(ctx(name));
    ExecResult t = exec(other, "default", "shell", {"sh", "-c", "printf ok"});
    CHECK(t.exit_code == 0);
    CHECK(t.stdout_data == "ok");
  }

  ExecOptions o;
  o.stdin_data = std::string("line one\nline two\n");
  ExecResult cat = exec(c, "default", "shell", {"cat"}, o);
  CHECK(cat.exit_code == 0);
  CHECK(cat.stdout_data == "line one\nline two\n");

  ExecOptions v4;
  v4.protocols = {"v4.channel.k8s.io"};
  std::string streamed;
  v4.on_stdout = [&](std::string_view d) { streamed.append(d); };
  ExecResult r4 = exec(c, "default", "shell", {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' z; exit 0"}, v4);
  CHECK(r4.protocol == "v4.channel.k8s.io");
  CHECK(r4.exit_code == 0);
  CHECK(streamed.size() == 100000);
  CHECK(r4.stdout_data.empty());

  ExecResult nf = exec(c, "default", "shell", {"/no/such/binary"});
  CHECK(nf.exit_code == -1);
  CHECK(nf.error.find("not found") != std::string::npos);

  CHECK_THROWS_WITH_AS(exec(c, "default", "missing-pod", {"true"}), doctest::Contains("missing-pod"), Error);
  Client anon(ctx("anonymous"));
  try {
    exec(anon, "default", "shell", {"true"});
    FAIL("anonymous exec should be refused");
  } catch (const Error& e) {
    CHECK(e.exit_code() == 3);
    CHECK(std::string(e.what()).find("anonymous") != std::string::npos);
  }
  ExecOptions quick;
  quick.timeout = std::chrono::milliseconds(800);
  CHECK_THROWS_WITH_AS(exec(c, "default", "shell", {"sleep", "5"}, quick), doctest::Contains("timeout"), Error);
  // The stream is cut after 10 bytes: an error, never a made-up exit code.
  run("curl -s -X POST " + emu().admin() + "/faults -d '{\"action\":\"exec-cut\",\"after_bytes\":10,\"times\":1}'");
  CHECK_THROWS_WITH_AS(exec(c, "default", "shell", {"sh", "-c", "echo 0123456789abcdef; sleep 1"}),
                       doctest::Contains("exit status"), Error);
  run("curl -s -X DELETE " + emu().admin() + "/faults");
  remove(c, ObjectRef{"v1", "Pod", "default", "shell"});
}

TEST_CASE("apply_all + wait_ready: a Deployment and a PVC become ready; a bad image is explained") {
  if (!emu().ok) return;
  Client c(ctx("cert"));
  std::vector<Manifest> m = {
      {"web", obj(R"({apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: default},
        spec: {replicas: 1, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}},
        spec: {containers: [{name: web, image: "nginx:1.25"}]}}}})")},
      {"data", obj(R"({apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: default},
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}})")},
      {"web", obj("{apiVersion: v1, kind: ConfigMap, metadata: {name: web-conf, namespace: default}, data: {a: b}}")},
  };
  apply_all(c, m);
  WaitOptions w;
  w.timeout = std::chrono::seconds(30);
  w.interval = std::chrono::milliseconds(200);
  std::vector<std::string> last;
  w.on_progress = [&](const std::vector<std::string>& l) { last = l; };
  wait_ready(c, m, w);
  REQUIRE(last.size() == 2);
  CHECK(last[0] == "web: ready");

  std::vector<Manifest> bad = {{"broken", obj(R"({apiVersion: apps/v1, kind: Deployment,
      metadata: {name: broken, namespace: default}, spec: {replicas: 1, selector: {matchLabels: {app: broken}},
      template: {metadata: {labels: {app: broken}}, spec: {containers: [{name: b, image: "registry.invalid/nope:0"}]}}}})")}};
  run("curl -s -X POST " + emu().admin() +
      "/pod-failures -d '{\"image_regex\":\"registry.invalid\",\"reason\":\"ImagePullBackOff\"}'");
  apply_all(c, bad);
  w.timeout = std::chrono::seconds(3);
  w.explain_every = std::chrono::milliseconds(500);
  try {
    wait_ready(c, bad, w);
    FAIL("expected a timeout");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK(e.exit_code() == 4);
    CHECK(msg.find("Deployment default/broken") != std::string::npos);
    CHECK(msg.find("ImagePullBackOff") != std::string::npos);
    CHECK(msg.find("registry.invalid/nope:0") != std::string::npos);
  }
  run("curl -s -X DELETE " + emu().admin() + "/pod-failures");
  for (auto& x : m) remove(c, x.ref());
  remove(c, bad[0].ref());
}

TEST_CASE("tls-server-name and certificate-authority checks against the emulator") {
  if (!emu().ok) return;
  std::string kc = run("cat " + emu().dir + "/kubeconfig");
  std::string port = run("cat " + emu().dir + "/port");
  while (!port.empty() && port.back() == '\n') port.pop_back();
  auto with = [&](const std::string& extra) {
    std::string t = kc;
    std::string key = "    server: https://127.0.0.1:" + port + "\n";
    auto pos = t.find(key);
    REQUIRE(pos != std::string::npos);
    t.insert(pos + key.size(), extra);
    return resolve_config({{emu().dir + "/kubeconfig", t}}, "token");
  };
  // The server certificate is for 127.0.0.1 and localhost: SNI/verification as "localhost" works...
  Client ok_client(with("    tls-server-name: localhost\n"));
  CHECK(ok_client.version().major == 1);
  // ... as another name it fails, exit 3, naming the context.
  Client bad(with("    tls-server-name: api.other.example\n"));
  try {
    bad.version();
    FAIL("expected a TLS failure");
  } catch (const Error& e) {
    CHECK(e.exit_code() == 3);
    CHECK(std::string(e.what()).find("context 'token'") != std::string::npos);
  }
  // A kubeconfig without its CA cannot verify the emulator's certificate (system trust only).
  std::string t = kc;
  auto a = t.find("    certificate-authority-data:");
  t.erase(a, t.find('\n', a) - a + 1);
  Client untrusted(resolve_config({{"k", t}}, "token"));
  CHECK_THROWS_WITH_AS(untrusted.version(), doctest::Contains("certificate"), Error);
}

TEST_CASE("JSON values are counted before parsing, and too many are refused") {
  CHECK(json_values("{}", 100) == 1);
  CHECK(json_values(R"({"a":"b","c":[1,2,{"d":null}]})", 100) == 10);
  CHECK(json_values(R"({"a\"b,:{[":"c"})", 100) == 3);  // structure inside strings does not count
  std::string many = "[";
  for (int i = 0; i < 5000; ++i) many += "{},";
  many += "{}]";
  CHECK(json_values(many, 100) == 101);  // stops counting past the limit
  CHECK(parse_json(many, "many").size() == 5001);
  try {
    parse_json(many, "many", 1000);
    FAIL("expected ResponseTooLarge");
  } catch (const ResponseTooLarge& e) {
    CHECK(e.exit_code() == 3);
  }
  // A frame header announcing more than kMaxFrameBytes is refused before its payload arrives.
  std::string head = ws::encode(2, std::string(10, 'x'), nullptr).substr(0, 1);
  head += static_cast<char>(127);
  uint64_t n = ws::kMaxFrameBytes + 1;
  for (int i = 7; i >= 0; --i) head += static_cast<char>((n >> (8 * i)) & 0xff);
  ws::Decoder d;
  d.feed(head);
  ws::Frame f;
  CHECK_THROWS_AS(d.next(f), ResponseTooLarge);
}

namespace {

// Sets one emulator fault (clearing the others).
void fault(const std::string& json) {
  run("curl -s -X DELETE " + emu().admin() + "/faults >/dev/null; curl -s -X POST " + emu().admin() + "/faults -d '" +
      json + "' >/dev/null");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs fn, which must throw; returns the error's exit code and message and how long it took.
struct Ended {
  int code = 0;
  std::string msg;
  double secs = 0;
};
template <class Fn>
Ended ends(Fn&& fn) {
  Ended e;
  auto t0 = std::chrono::steady_clock::now();
  try {
    fn();
    e.msg = "(no error)";
  } catch (const Error& err) {
    e.code = err.exit_code();
    e.msg = err.what();
  }
  e.secs = seconds_since(t0);
  return e;
}

}  // namespace

TEST_CASE("hostile API server: requests end by the deadline and read within their limits") {
  if (!emu().ok) return;
  ClientOptions o;
  o.deadline = Deadline::from_request_timeout("1500ms");
  o.low_speed_window_s = 2;
  Client c(ctx("cert"), o);
  ObjectRef cm{"v1", "ConfigMap", "default", "hostile"};

  fault(R"({"action":"hang","path_regex":"configmaps/hostile"})");
  Ended e = ends([&] { get(c, cm); });
  CHECK(e.code == 4);
  CHECK(e.msg.find("no answer from https://127.0.0.1:") != std::string::npos);
  CHECK(e.msg.find("--request-timeout 1500ms") != std::string::npos);
  CHECK(e.secs < 5);

  // A command deadline shorter than the request limit wins, and says so.
  ClientOptions oc = o;
  oc.deadline = Deadline::from_request_timeout("30s").for_command(std::chrono::milliseconds(1200), "--timeout 1200ms");
  Client cc(ctx("cert"), oc);
  e = ends([&] { get(cc, cm); });
  CHECK(e.code == 4);
  CHECK(e.msg.find("--timeout 1200ms") != std::string::npos);
  CHECK(e.secs < 5);

  fault(R"({"action":"status","status":429,"retry_after":999999,"path_regex":"configmaps/hostile"})");
  e = ends([&] { get(c, cm); });
  CHECK(e.code == 4);
  CHECK(e.msg.find("retry after 999999 s") != std::string::npos);
  CHECK(e.secs < 1.4);  // not waited for
  fault(R"({"action":"status","status":429,"retry_after":1,"times":1,"path_regex":"configmaps/hostile"})");
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(get(c, cm).has_value());  // honoured: it fits the time left
  CHECK(seconds_since(t0) >= 0.9);

  ClientOptions slow = o;
  slow.deadline = Deadline::from_request_timeout("30s");
  Client cs(ctx("cert"), slow);
  fault(R"({"action":"trickle","path_regex":"configmaps/hostile"})");
  e = ends([&] { get(cs, cm); });
  CHECK(e.code == 3);
  CHECK(e.msg.find("sent only") != std::string::npos);
  CHECK(e.secs < 6);

  for (const char* f : {R"({"action":"oversize","bytes":20000000,"path_regex":"configmaps/hostile"})",
                        R"({"action":"oversize","bytes":20000000,"chunked":true,"path_regex":"configmaps/hostile"})",
                        R"({"action":"gzip-bomb","bytes":67108864,"path_regex":"configmaps/hostile"})",
                        R"({"action":"endless-body","path_regex":"configmaps/hostile"})"}) {
    INFO(f);
    fault(f);
    e = ends([&] { get(cs, cm); });
    CHECK(e.code == 3);
    CHECK(e.msg.find("more than 16 MiB") != std::string::npos);
  }
  run("curl -s -X DELETE " + emu().admin() + "/faults >/dev/null");
}

TEST_CASE("hostile API server: lists end when continue repeats or never ends; big pages shrink") {
  if (!emu().ok) return;
  Client c(ctx("cert"));
  fault(R"({"action":"endless-continue","path_regex":"/configmaps\\?"})");
  Ended e = ends([&] { list(c, "v1", "ConfigMap", "default"); });
  CHECK(e.code == 3);
  CHECK(e.msg.find("same continue token") != std::string::npos);

  fault(R"({"action":"endless-continue","mode":"new","path_regex":"/configmaps\\?"})");
  int items = 0;
  e = ends([&] { list_each(c, "v1", "ConfigMap", "kube-system", "", [&](const YAML::Node&) { ++items; }); });
  CHECK(e.code == 3);
  CHECK(e.msg.find("stopped after 1000 pages") != std::string::npos);
  CHECK(items >= 1000);

  run("curl -s -X DELETE " + emu().admin() + "/requests >/dev/null");
  fault(R"({"action":"big-list","items":260000,"path_regex":"/configmaps\\?"})");
  e = ends([&] { list(c, "v1", "ConfigMap", "default"); });
  CHECK(e.code == 3);
  CHECK(e.msg.find("250000 JSON values") != std::string::npos);
  std::string log = run("curl -s '" + emu().admin() + "/requests?path_regex=/configmaps'");
  CHECK(log.find("\"limit=100\"") != std::string::npos);  // asked again with smaller pages
  CHECK(log.find("\"limit=10\"") != std::string::npos);
  CHECK(log.find("\"limit=1\"") != std::string::npos);
  run("curl -s -X DELETE " + emu().admin() + "/faults >/dev/null");
}

TEST_CASE("hostile API server: an exec that streams without end") {
  if (!emu().ok) return;
  Client c(ctx("cert"));
  running_pod(c, "flood");
  fault(R"({"action":"exec-flood","path_regex":"pods/flood/"})");
  ExecOptions streamed;
  streamed.timeout = std::chrono::milliseconds(1500);
  uint64_t seen = 0;
  streamed.on_stdout = [&](std::string_view d) { seen += d.size(); };
  Ended e = ends([&] { exec(c, "default", "flood", {"true"}, streamed); });
  CHECK(e.code == 4);
  CHECK(e.msg.find("did not finish within 1.5 s") != std::string::npos);
  CHECK(e.secs < 5);
  CHECK(seen > 0);

  ExecOptions collected;
  collected.max_output = kMiB;
  e = ends([&] { exec(c, "default", "flood", {"true"}, collected); });
  CHECK(e.code == 3);
  CHECK(e.msg.find("more than 1 MiB of output") != std::string::npos);
  run("curl -s -X DELETE " + emu().admin() + "/faults >/dev/null");
  remove(c, ObjectRef{"v1", "Pod", "default", "flood"});
}
