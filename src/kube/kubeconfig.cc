#include "fatectl/kube/kubeconfig.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"

extern char** environ;

namespace fatectl::kube {
namespace {

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string dir_of(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  if (p.size() > 1 && p[0] == '~' && p[1] == '/') {
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + p.substr(1);
  }
  return base_dir + "/" + p;
}

std::string read_or_throw(const std::string& path, const std::string& what) {
  try {
    return yaml::read_file(path);
  } catch (const Error&) {
    throw invalid(what + ": cannot read file '" + path + "'");
  }
}

/// One named entry (cluster, user or context) with the file that defined it.
struct Entry {
  YAML::Node node;
  std::string file;
};

std::string scalar(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  if (!v || v.IsNull()) return "";
  if (!v.IsScalar()) return "";
  return v.Scalar();
}

bool truthy(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return false;
  const std::string& s = v.Scalar();
  return s == "true" || s == "True" || s == "TRUE";
}

void collect(const YAML::Node& root, const char* list, const char* inner, const std::string& file,
             std::map<std::string, Entry>& out) {
  YAML::Node l = root[list];
  if (!l || l.IsNull()) return;
  if (!l.IsSequence()) {
    Location at = yaml::where(l, file);
    throw invalid_at(at, list, "must be a list");
  }
  for (size_t i = 0; i < l.size(); ++i) {
    YAML::Node e = l[i];
    std::string key = std::string(list) + "[" + std::to_string(i) + "]";
    if (!e.IsMap()) throw invalid_at(yaml::where(e, file), key, std::string("expected a mapping with name and ") + inner);
    std::string name = scalar(e, "name");
    if (name.empty()) throw invalid_at(yaml::where(e, file), key + ".name", "missing name");
    if (out.count(name)) continue;  // first file wins
    YAML::Node body = e[inner];
    if (body && !body.IsNull() && !body.IsMap())
      throw invalid_at(yaml::where(body, file), key + "." + inner, "expected a mapping");
    out[name] = Entry{body && !body.IsNull() ? body : YAML::Node(YAML::NodeType::Map), file};
  }
}

std::string decode_data(const std::string& b64, const std::string& where) {
  try {
    return base64_decode(b64);
  } catch (const Error&) {
    throw invalid(where + ": not valid base64");
  }
}

}  // namespace

std::string Config::identity() const {
  if (context.empty()) return "the pod's service account";
  std::string who = user_name.empty() ? "anonymous user" : "user '" + user_name + "'";
  return who + " of context '" + context + "'";
}

Config resolve_config(const std::vector<std::pair<std::string, std::string>>& files, const std::string& context) {
  // names and values quoted in messages: one line, at most 64 bytes
  auto q = [](const std::string& v) { return "'" + yaml::one_line(v, 64) + "'"; };
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current;
  std::string sources;
  for (const auto& file : files) {
    const std::string& path = file.first;
    YAML::Node root = yaml::parse(file.second, path);
    sources += (sources.empty() ? "" : ":") + path;
    if (!root || root.IsNull()) continue;
    if (!root.IsMap()) throw invalid(path + ": not a kubeconfig (expected a mapping)");
    yaml::at_edge(path, [&] {
      collect(root, "clusters", "cluster", path, clusters);
      collect(root, "users", "user", path, users);
      collect(root, "contexts", "context", path, contexts);
      if (current.empty()) current = scalar(root, "current-context");
    });
  }
  Config c;
  c.source = sources;
  c.context = context.empty() ? current : context;
  if (c.context.empty())
    throw invalid("kubeconfig " + sources + ": no current-context set; pass --context (contexts: " +
                  [&] {
                    std::string s;
                    size_t shown = 0;
                    for (auto& kv : contexts) {
                      if (++shown > 10) { s += ", ..."; break; }
                      s += (s.empty() ? "" : ", ") + yaml::one_line(kv.first, 64);
                    }
                    return s.empty() ? std::string("none") : s;
                  }() + ")");
  auto ctx_it = contexts.find(c.context);
  if (ctx_it == contexts.end())
    throw invalid("kubeconfig " + sources + ": context " + q(c.context) + " not found");
  const Entry& ctx = ctx_it->second;
  c.cluster_name = scalar(ctx.node, "cluster");
  c.user_name = scalar(ctx.node, "user");
  if (std::string ns = scalar(ctx.node, "namespace"); !ns.empty()) c.namespace_ = ns;
  std::string where_ctx = ctx.file + ": context " + q(c.context);
  if (c.cluster_name.empty()) throw invalid(where_ctx + ": field 'cluster' is empty");
  auto cl_it = clusters.find(c.cluster_name);
  if (cl_it == clusters.end())
    throw invalid(where_ctx + ": cluster " + q(c.cluster_name) + " is not defined in " + sources);

  const Entry& cl = cl_it->second;
  std::string where_cl = cl.file + ": cluster " + q(c.cluster_name) + " (context " + q(c.context) + ")";
  std::string base = dir_of(cl.file);
  c.server = scalar(cl.node, "server");
  if (c.server.empty()) throw invalid(where_cl + ": field 'server' is empty");
  while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
  if (c.server.rfind("https://", 0) != 0 && c.server.rfind("http://", 0) != 0)
    throw invalid(where_cl + ": field 'server' must start with https:// or http:// (got " + q(c.server) + ")");
  if (std::string d = scalar(cl.node, "certificate-authority-data"); !d.empty())
    c.ca_data = decode_data(d, where_cl + ": field 'certificate-authority-data'");
  else if (std::string f = scalar(cl.node, "certificate-authority"); !f.empty())
    c.ca_data = read_or_throw(resolve_path(base, f), where_cl + ": field 'certificate-authority'");
  c.insecure = truthy(cl.node, "insecure-skip-tls-verify");
  c.tls_server_name = scalar(cl.node, "tls-server-name");
  c.proxy_url = scalar(cl.node, "proxy-url");

  if (!c.user_name.empty()) {
    auto u_it = users.find(c.user_name);
    if (u_it == users.end())
      throw invalid(where_ctx + ": user " + q(c.user_name) + " is not defined in " + sources);
    const Entry& u = u_it->second;
    std::string where_u = u.file + ": user " + q(c.user_name) + " (context " + q(c.context) + ")";
    std::string ubase = dir_of(u.file);
    if (std::string d = scalar(u.node, "client-certificate-data"); !d.empty())
      c.client_cert_data = decode_data(d, where_u + ": field 'client-certificate-data'");
    else if (std::string f = scalar(u.node, "client-certificate"); !f.empty())
      c.client_cert_data = read_or_throw(resolve_path(ubase, f), where_u + ": field 'client-certificate'");
    if (std::string d = scalar(u.node, "client-key-data"); !d.empty())
      c.client_key_data = decode_data(d, where_u + ": field 'client-key-data'");
    else if (std::string f = scalar(u.node, "client-key"); !f.empty())
      c.client_key_data = read_or_throw(resolve_path(ubase, f), where_u + ": field 'client-key'");
    if (c.client_cert_data.empty() != c.client_key_data.empty())
      throw invalid(where_u + ": client-certificate and client-key must be given together");
    c.token = scalar(u.node, "token");
    if (std::string f = scalar(u.node, "tokenFile"); !f.empty()) c.token_file = resolve_path(ubase, f);
    c.username = scalar(u.node, "username");
    c.password = scalar(u.node, "password");
    if (u.node["auth-provider"] && !u.node["auth-provider"].IsNull())
      throw invalid(where_u + ": field 'auth-provider' (" +
                    (u.node["auth-provider"].IsMap() ? yaml::one_line(scalar(u.node["auth-provider"], "name"), 64) : std::string("?")) +
                    ") is the removed legacy mechanism; use an exec credential plugin instead");
    if (YAML::Node e = u.node["exec"]; e && e.IsMap()) {
      ExecPlugin p;
      p.api_version = scalar(e, "apiVersion");
      p.command = scalar(e, "command");
      p.install_hint = scalar(e, "installHint");
      p.base_dir = ubase;
      if (p.command.empty()) throw invalid(where_u + ": field 'exec.command' is empty");
      if (p.api_version != "client.authentication.k8s.io/v1" && p.api_version != "client.authentication.k8s.io/v1beta1")
        throw invalid(where_u + ": field 'exec.apiVersion' must be client.authentication.k8s.io/v1 or v1beta1 (got '" +
                      yaml::one_line(p.api_version, 64) + "')");
      if (YAML::Node a = e["args"]; a && a.IsSequence())
        for (const auto& x : a) p.args.push_back(x.Scalar());
      if (YAML::Node ev = e["env"]; ev && ev.IsSequence())
        for (const auto& x : ev) {
          if (!x.IsMap()) throw invalid(where_u + ": field 'exec.env': expected a list of {name, value}");
          p.env.emplace_back(scalar(x, "name"), scalar(x, "value"));
        }
      c.exec = p;
    }
  }
  log::add_secret(c.token);
  log::add_secret(c.password);
  log::add_secret(c.client_key_data);
  return c;
}

Config in_cluster_config(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host) throw invalid("not running in a pod: KUBERNETES_SERVICE_HOST is not set");
  Config c;
  c.source = sa_dir;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  c.server = "https://" + h + ":" + (port && *port ? port : "443");
  c.token_file = sa_dir + "/token";
  if (!file_exists(c.token_file)) throw invalid("in-pod service account: " + c.token_file + " does not exist");
  if (file_exists(sa_dir + "/ca.crt")) c.ca_data = yaml::read_file(sa_dir + "/ca.crt");
  if (file_exists(sa_dir + "/namespace")) {
    std::string ns = yaml::read_file(sa_dir + "/namespace");
    while (!ns.empty() && (ns.back() == '\n' || ns.back() == ' ')) ns.pop_back();
    if (!ns.empty()) c.namespace_ = ns;
  }
  return c;
}

Config load_config(const LoadOptions& opts) {
  std::vector<std::string> paths;
  if (!opts.kubeconfig.empty()) {
    if (!file_exists(opts.kubeconfig)) throw invalid("--kubeconfig: file '" + opts.kubeconfig + "' does not exist");
    paths.push_back(opts.kubeconfig);
  } else if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::set<std::string> seen;
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      std::string p = list.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!p.empty() && !seen.count(p) && file_exists(p)) {
        paths.push_back(p);
        seen.insert(p);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } else if (const char* home = std::getenv("HOME"); home && file_exists(std::string(home) + "/.kube/config")) {
    paths.push_back(std::string(home) + "/.kube/config");
  }
  if (paths.empty()) {
    if (std::getenv("KUBERNETES_SERVICE_HOST")) {
      Config c = in_cluster_config();
      if (!opts.context.empty())
        throw invalid("--context '" + opts.context + "': no kubeconfig file found (running in a pod)");
      return c;
    }
    throw invalid(
        "no kubeconfig found: pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config");
  }
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& p : paths) files.emplace_back(p, yaml::read_file(p));
  return resolve_config(files, opts.context);
}

// ---- exec credential plugins ------------------------------------------------------------

static ExecCredential read_exec_credential(std::string_view text, const std::string& api_version, const std::string& what);

ExecCredential run_exec_plugin(const ExecPlugin& plugin, const std::string& context) {
  std::string what = "exec credential plugin '" + plugin.command + "' (context '" + context + "')";
  std::string cmd = plugin.command;
  if (cmd.find('/') != std::string::npos) cmd = resolve_path(plugin.base_dir, cmd);

  std::vector<std::string> argv_s{cmd};
  for (const auto& a : plugin.args) argv_s.push_back(a);
  std::vector<std::string> env_s;
  std::set<std::string> overridden;
  for (const auto& [k, v] : plugin.env) overridden.insert(k);
  overridden.insert("KUBERNETES_EXEC_INFO");
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    std::string k = kv.substr(0, kv.find('='));
    if (!overridden.count(k)) env_s.push_back(kv);
  }
  for (const auto& [k, v] : plugin.env) env_s.push_back(k + "=" + v);
  env_s.push_back("KUBERNETES_EXEC_INFO={\"apiVersion\":\"" + plugin.api_version +
                  "\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}");
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw failed(what + ": pipe: " + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  pid_t pid = 0;
  // posix_spawnp searches PATH from the *parent's* environment, as kubectl does (exec.LookPath).
  int rc = ::posix_spawnp(&pid, cmd.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    std::string hint = plugin.install_hint.empty() ? "" : " (" + plugin.install_hint + ")";
    throw unreachable(what + ": cannot run it: " + std::strerror(rc) + hint);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw unreachable(what + ": exited with status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  return parse_exec_credential(text, plugin.api_version, what);
}

ExecCredential parse_exec_credential(std::string_view text, const std::string& api_version, const std::string& what) {
  return yaml::at_edge(what, [&] { return read_exec_credential(text, api_version, what); }, ErrorKind::Unreachable);
}

static ExecCredential read_exec_credential(std::string_view text, const std::string& api_version, const std::string& what) {
  YAML::Node doc;
  try {
    doc = yaml::parse(text, "exec plugin output");
  } catch (const Error&) {
    throw unreachable(what + ": printed something that is not an ExecCredential JSON object");
  }
  if (!doc.IsMap() || !doc["kind"] || doc["kind"].Scalar() != "ExecCredential")
    throw unreachable(what + ": output is not an ExecCredential");
  if (doc["apiVersion"] && doc["apiVersion"].Scalar() != api_version)
    throw unreachable(what + ": returned apiVersion " + yaml::quote_excerpt(doc["apiVersion"].Scalar()) + ", expected " +
                      api_version);
  YAML::Node st = doc["status"];
  ExecCredential cred;
  if (st && st.IsMap()) {
    cred.token = scalar(st, "token");
    cred.client_cert_data = scalar(st, "clientCertificateData");
    cred.client_key_data = scalar(st, "clientKeyData");
    if (std::string exp = scalar(st, "expirationTimestamp"); !exp.empty()) {
      try {
        cred.expires = parse_rfc3339(exp);
      } catch (const Error&) {
        throw unreachable(what + ": status.expirationTimestamp " + yaml::quote_excerpt(exp) + " is not RFC 3339");
      }
    }
  }
  if (cred.token.empty() && cred.client_cert_data.empty())
    throw unreachable(what + ": ExecCredential has neither status.token nor status.clientCertificateData");
  if (cred.client_cert_data.empty() != cred.client_key_data.empty())
    throw unreachable(what + ": ExecCredential must set clientCertificateData and clientKeyData together");
  log::add_secret(cred.token);
  log::add_secret(cred.client_key_data);
  return cred;
}

ExecCredential CredentialCache::get(const ExecPlugin& plugin, const std::string& context, bool refresh) {
  std::lock_guard<std::mutex> l(mu_);
  auto now = std::chrono::system_clock::now();
  if (cached_ && !refresh && (!cached_->expires || *cached_->expires > now)) return *cached_;
  cached_ = run_exec_plugin(plugin, context);
  ++runs_;
  log::debug("exec credential plugin '{}' ran ({} time(s) this run)", plugin.command, runs_);
  return *cached_;
}

// ---- time and base64 -------------------------------------------------------------------

namespace {

// Days from 1970-01-01 to a proleptic Gregorian date (no normalisation, no time_t, no overflow
// for years 0-9999).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

}  // namespace

std::chrono::system_clock::time_point parse_rfc3339(const std::string& s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), every field range-checked.
  auto bad = [&] { return invalid("not an RFC 3339 time: '" + yaml::one_line(s, 64) + "'"); };
  size_t i = 0;
  auto num = [&](size_t digits, int lo, int hi) {
    int v = 0;
    for (size_t k = 0; k < digits; ++k, ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') throw bad();
      v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) throw bad();
    return v;
  };
  auto lit = [&](const char* chars) {
    if (i >= s.size() || !std::strchr(chars, s[i]) || s[i] == '\0') throw bad();
    ++i;
  };
  int Y = num(4, 0, 9999);
  lit("-");
  int M = num(2, 1, 12);
  lit("-");
  int D = num(2, 1, 31);
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
  if (D > mdays[M - 1] || (M == 2 && D == 29 && !leap)) throw bad();
  lit("Tt");
  int h = num(2, 0, 23);
  lit(":");
  int m = num(2, 0, 59);
  lit(":");
  int sec = num(2, 0, 60);  // 60: a leap second, read as the next second
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) throw bad();
  }
  long long offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i++] == '+' ? 1 : -1;
    int oh = num(2, 0, 23);
    lit(":");
    int om = num(2, 0, 59);
    offset = sign * (oh * 3600LL + om * 60LL);
  } else {
    throw bad();
  }
  if (i != s.size()) throw bad();
  long long t = days_from_civil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D)) * 86400LL + h * 3600LL +
                m * 60LL + sec - offset;
  // system_clock counts nanoseconds in 64 bits (years 1678-2262): a time outside that range
  // saturates (a credential "valid until 9999" never expires) instead of wrapping around.
  using namespace std::chrono;
  using TP = system_clock::time_point;
  const long long max_s = duration_cast<seconds>(TP::max().time_since_epoch()).count() - 1;
  const long long min_s = duration_cast<seconds>(TP::min().time_since_epoch()).count() + 1;
  if (t > max_s) return TP::max();
  if (t < min_s) return TP::min();
  return TP(duration_cast<system_clock::duration>(seconds(t)));
}

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool pad = false;
  for (char ch : in) {
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    if (ch == '=') {
      pad = true;
      continue;
    }
    if (pad) throw invalid("base64: data after padding");
    const char* p = std::strchr(kB64, ch);
    int v;
    if (ch == '-') v = 62;  // URL-safe alphabet accepted too
    else if (ch == '_') v = 63;
    else if (!p || !ch) throw invalid("base64: invalid character");
    else v = static_cast<int>(p - kB64);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace fatectl::kube
