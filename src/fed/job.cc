#include "fatectl/fed/job.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"

namespace fatectl::fed {
namespace {

/// Reads one job document, remembering the file for messages.
struct Reader {
  std::string file;

  Error bad(const YAML::Node& n, const std::string& key, const std::string& msg) const {
    return invalid_at(yaml::where(n, file), key, msg);
  }

  static size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> d(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t prev = d[0];
      d[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t t = d[j];
        d[j] = std::min({d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
        prev = t;
      }
    }
    return d[b.size()];
  }

  void only_keys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> allowed) const {
    for (const auto& kv : map) {
      std::string k = kv.first.Scalar();
      bool ok = false;
      std::string best;
      size_t best_d = 99;
      for (const char* a : allowed) {
        if (k == a) ok = true;
        size_t d = edit_distance(k, a);
        if (d < best_d) { best_d = d; best = a; }
      }
      if (!ok) {
        std::string msg = "unknown key";
        if (best_d <= 2) msg += " (did you mean '" + best + "'?)";
        else {
          msg += " (known:";
          for (const char* a : allowed) msg += std::string(" ") + a;
          msg += ")";
        }
        throw bad(kv.first, path.empty() ? k : path + "." + k, msg);
      }
    }
  }

  std::string scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) throw bad(n, key, "expected a single value");
    return n.Scalar();
  }

  long party_id(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    if (s.empty() || s.size() > 15 || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit((unsigned char)c); }) ||
        std::stol(s) <= 0)
      throw bad(n, key, "party id must be a positive integer, e.g. 10000 (got '" + s + "')");
    return std::stol(s);
  }

  Endpoint endpoint(const YAML::Node& n, const std::string& key) const {
    std::string s = scalar(n, key);
    try {
      return parse_endpoint(s, key);
    } catch (const Error& e) {
      throw bad(n, key, e.what());
    }
  }

  std::string resolve(const std::string& p) const {
    if (p.empty() || p[0] == '/') return p;
    auto slash = file.rfind('/');
    if (slash == std::string::npos) return p;
    return file.substr(0, slash + 1) + p;
  }
};

bool is_any_address(const std::string& h) { return h == "0.0.0.0" || h == "::" || h == "*"; }

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::Guest: return "guest";
    case Role::Host: return "host";
    case Role::Arbiter: return "arbiter";
  }
  return "?";
}

Role parse_role(const std::string& s) {
  if (s == "guest") return Role::Guest;
  if (s == "host") return Role::Host;
  if (s == "arbiter") return Role::Arbiter;
  throw invalid("role must be guest, host or arbiter (got '" + s + "')");
}

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Endpoint parse_endpoint(const std::string& s, const std::string& what) {
  Endpoint e;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      throw invalid("'" + s + "' is not host:port (IPv6 as [::1]:9443)");
    e.host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || s.find(':') != colon)
      throw invalid("'" + s + "' is not host:port, e.g. 127.0.0.1:9443");
    e.host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit((unsigned char)c); }))
    throw invalid("'" + s + "': port must be a number 0-65535");
  e.port = std::stoi(port);
  if (e.port > 65535) throw invalid("'" + s + "': port must be a number 0-65535");
  (void)what;
  return e;
}

std::string Route::str() const {
  if (via == Via::Direct) return "direct " + endpoint.str() + " (sni " + sni + ")";
  return "exchange " + endpoint.str() + " (sni " + sni + ")";
}

std::uint64_t parse_size(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit((unsigned char)s[i])) ++i;
  if (i == 0 || i > 19) throw invalid("'" + s + "' is not a size (e.g. 16Mi, 1048576, 2G)");
  std::uint64_t v = std::stoull(s.substr(0, i));
  std::string unit = s.substr(i);
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  std::uint64_t mul;
  if (unit.empty()) mul = 1;
  else if (unit == "Ki") mul = 1ull << 10;
  else if (unit == "Mi") mul = 1ull << 20;
  else if (unit == "Gi") mul = 1ull << 30;
  else if (unit == "k" || unit == "K") mul = 1000;
  else if (unit == "M") mul = 1000 * 1000;
  else if (unit == "G") mul = 1000ull * 1000 * 1000;
  else throw invalid("'" + s + "': unknown size unit '" + unit + "' (use Ki, Mi, Gi, k, M or G)");
  if (v > (~0ull) / mul) throw invalid("'" + s + "': too large");
  return v * mul;
}

std::chrono::milliseconds parse_duration(const std::string& s) {
  using namespace std::chrono;
  size_t i = 0;
  while (i < s.size() && std::isdigit((unsigned char)s[i])) ++i;
  if (i == 0 || i > 12) throw invalid("'" + s + "' is not a duration (e.g. 72h, 30m, 10s, 500ms)");
  long long v = std::stoll(s.substr(0, i));
  std::string unit = s.substr(i);
  if (unit.empty() || unit == "s") return seconds(v);
  if (unit == "ms") return milliseconds(v);
  if (unit == "m") return minutes(v);
  if (unit == "h") return hours(v);
  if (unit == "d") return hours(24 * v);
  throw invalid("'" + s + "': unknown duration unit '" + unit + "' (use ms, s, m, h or d)");
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

const PartySpec& Job::party(long id) const {
  for (const auto& p : parties)
    if (p.id == id) return p;
  std::string ids;
  for (const auto& p : parties) ids += (ids.empty() ? "" : ", ") + std::to_string(p.id);
  throw invalid(file + ": party " + std::to_string(id) + " is not in this job (parties: " + ids + ")");
}

bool Job::has_party(long id) const {
  for (const auto& p : parties)
    if (p.id == id) return true;
  return false;
}

std::vector<long> Job::party_ids() const {
  std::vector<long> v;
  for (const auto& p : parties) v.push_back(p.id);
  return v;
}

long Job::first_with_role(Role r) const {
  for (const auto& p : parties)
    if (p.role == r) return p.id;
  return 0;
}

Route Job::route_to(long id) const {
  auto it = routes.find(id);
  if (it != routes.end()) return it->second;
  Route r;
  r.party = id;
  r.sni = party_host_name(id, domain);
  if (has_default_exchange) {
    r.via = Route::Via::Exchange;
    r.endpoint = default_exchange;
    return r;
  }
  const PartySpec& p = party(id);
  r.via = Route::Via::Direct;
  r.endpoint = p.listen;
  if (is_any_address(r.endpoint.host)) r.endpoint.host = "127.0.0.1";
  return r;
}

Job parse_job(const YAML::Node& doc, const std::string& file) {
  Reader rd{file};
  Job job;
  job.file = file;
  job.source = doc;
  if (!doc.IsMap()) throw rd.bad(doc, "", "a job file is a YAML mapping with keys job, domain, parties, algorithm, ...");
  rd.only_keys(doc, "", {"job", "domain", "certificates", "timeout", "parties", "routes", "algorithm", "transport"});

  auto need = [&](const char* key) {
    YAML::Node n = doc[key];
    if (!n) throw invalid_at(Location{file, 1, 1}, key, "missing (see docs/job-file.md)");
    return n;
  };

  job.id = rd.scalar(need("job"), "job");
  if (job.id.empty() || job.id.size() > 128 ||
      !std::all_of(job.id.begin(), job.id.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.'; }))
    throw rd.bad(doc["job"], "job", "job id must be 1-128 letters, digits, '-', '_' or '.'");

  job.domain = rd.scalar(need("domain"), "domain");
  if (job.domain.empty() || job.domain.find_first_of(" /:") != std::string::npos || job.domain.front() == '.')
    throw rd.bad(doc["domain"], "domain", "not a DNS domain, e.g. fate.org");

  if (doc["certificates"]) job.certs_dir = rd.resolve(rd.scalar(doc["certificates"], "certificates"));
  else job.certs_dir = rd.resolve("certs");

  if (doc["timeout"]) {
    try {
      job.timeout = std::chrono::duration_cast<std::chrono::seconds>(parse_duration(rd.scalar(doc["timeout"], "timeout")));
    } catch (const Error& e) {
      throw rd.bad(doc["timeout"], "timeout", e.what());
    }
    if (job.timeout.count() <= 0) throw rd.bad(doc["timeout"], "timeout", "must be at least 1s");
  }

  // parties
  YAML::Node parties = need("parties");
  if (!parties.IsSequence() || parties.size() == 0)
    throw rd.bad(parties, "parties", "expected a list of parties (id, role, listen)");
  std::set<long> seen;
  std::set<std::string> listens;
  int guests = 0, arbiters = 0;
  for (size_t i = 0; i < parties.size(); ++i) {
    YAML::Node pn = parties[i];
    std::string key = "parties[" + std::to_string(i) + "]";
    if (!pn.IsMap()) throw rd.bad(pn, key, "expected a mapping with id, role, listen");
    rd.only_keys(pn, key, {"id", "role", "listen", "data"});
    PartySpec p;
    p.where = yaml::where(pn, file);
    if (!pn["id"]) throw rd.bad(pn, key + ".id", "missing");
    p.id = rd.party_id(pn["id"], key + ".id");
    if (!seen.insert(p.id).second) throw rd.bad(pn["id"], key + ".id", "party " + std::to_string(p.id) + " is listed twice");
    if (!pn["role"]) throw rd.bad(pn, key + ".role", "missing (guest, host or arbiter)");
    try {
      p.role = parse_role(rd.scalar(pn["role"], key + ".role"));
    } catch (const Error& e) {
      throw rd.bad(pn["role"], key + ".role", e.what());
    }
    if (p.role == Role::Guest) ++guests;
    if (p.role == Role::Arbiter) ++arbiters;
    if (!pn["listen"]) throw rd.bad(pn, key + ".listen", "missing (host:port of this party's TLS listener, e.g. 0.0.0.0:9443)");
    p.listen = rd.endpoint(pn["listen"], key + ".listen");
    if (p.listen.port != 0 && !listens.insert(p.listen.str()).second)
      throw rd.bad(pn["listen"], key + ".listen", p.listen.str() + " is used by another party");
    if (YAML::Node d = pn["data"]) {
      if (d.IsScalar()) p.data.push_back(rd.resolve(d.Scalar()));
      else if (d.IsSequence()) {
        for (size_t j = 0; j < d.size(); ++j) p.data.push_back(rd.resolve(rd.scalar(d[j], key + ".data[" + std::to_string(j) + "]")));
      } else throw rd.bad(d, key + ".data", "expected a path or a list of paths");
    }
    job.parties.push_back(p);
  }
  if (guests != 1) throw rd.bad(parties, "parties", "a job has exactly one guest (found " + std::to_string(guests) + ")");
  if (arbiters > 1) throw rd.bad(parties, "parties", "a job has at most one arbiter (found " + std::to_string(arbiters) + ")");

  // routes
  if (YAML::Node routes = doc["routes"]) {
    if (!routes.IsMap()) throw rd.bad(routes, "routes", "expected a mapping: party id → {direct: host:port} or {exchange: host:port}");
    for (const auto& kv : routes) {
      std::string k = kv.first.Scalar();
      std::string key = "routes." + k;
      YAML::Node v = kv.second;
      if (!v.IsMap() || v.size() != 1 || !(v["direct"] || v["exchange"]))
        throw rd.bad(v, key, "expected exactly one of {direct: host:port} or {exchange: host:port}");
      rd.only_keys(v, key, {"direct", "exchange"});
      bool via_exchange = (bool)v["exchange"];
      YAML::Node ep = via_exchange ? v["exchange"] : v["direct"];
      Endpoint e = rd.endpoint(ep, key + (via_exchange ? ".exchange" : ".direct"));
      if (e.port == 0) throw rd.bad(ep, key, "port 0 is not a route");
      if (k == "default") {
        if (!via_exchange) throw rd.bad(v, key, "the default route must be {exchange: host:port}");
        job.has_default_exchange = true;
        job.default_exchange = e;
        continue;
      }
      long id = rd.party_id(kv.first, key);
      if (!seen.count(id)) throw rd.bad(kv.first, key, "party " + k + " is not in parties");
      Route r;
      r.party = id;
      r.via = via_exchange ? Route::Via::Exchange : Route::Via::Direct;
      r.endpoint = e;
      r.sni = party_host_name(id, job.domain);
      r.where = yaml::where(v, file);
      job.routes[id] = r;
    }
  }

  // algorithm
  YAML::Node alg = need("algorithm");
  if (!alg.IsMap()) throw rd.bad(alg, "algorithm", "expected {name: ..., params: {...}}");
  rd.only_keys(alg, "algorithm", {"name", "params"});
  if (!alg["name"]) throw rd.bad(alg, "algorithm.name", "missing (e.g. echo, secure_add, hetero_lr)");
  job.algorithm = rd.scalar(alg["name"], "algorithm.name");
  job.algorithm_where = yaml::where(alg["name"], file);
  job.params = alg["params"] ? alg["params"] : YAML::Node(YAML::NodeType::Map);
  job.params_where = yaml::where(alg["params"] ? alg["params"] : alg, file);

  // transport
  if (YAML::Node t = doc["transport"]) {
    if (!t.IsMap()) throw rd.bad(t, "transport", "expected a mapping");
    rd.only_keys(t, "transport", {"maxFrameBytes", "chunkBytes", "maxMessageBytes", "windowBytes", "connectTimeout",
                                  "handshakeTimeout", "ackTimeout", "messageTimeout", "closeTimeout",
                                  "heartbeatInterval", "peerDeadTimeout"});
    TransportSettings& s = job.transport;
    auto size = [&](const char* k, std::uint64_t& out, std::uint64_t lo) {
      if (!t[k]) return;
      try {
        out = parse_size(rd.scalar(t[k], std::string("transport.") + k));
      } catch (const Error& e) {
        throw rd.bad(t[k], std::string("transport.") + k, e.what());
      }
      if (out < lo) throw rd.bad(t[k], std::string("transport.") + k, "must be at least " + std::to_string(lo));
    };
    auto dur = [&](const char* k, std::chrono::milliseconds& out) {
      if (!t[k]) return;
      try {
        out = parse_duration(rd.scalar(t[k], std::string("transport.") + k));
      } catch (const Error& e) {
        throw rd.bad(t[k], std::string("transport.") + k, e.what());
      }
      if (out.count() <= 0) throw rd.bad(t[k], std::string("transport.") + k, "must be positive");
    };
    size("maxFrameBytes", s.max_frame_bytes, 4096);
    size("chunkBytes", s.chunk_bytes, 1024);
    size("maxMessageBytes", s.max_message_bytes, 1);
    size("windowBytes", s.window_bytes, 4096);
    dur("connectTimeout", s.connect_timeout);
    dur("handshakeTimeout", s.handshake_timeout);
    dur("ackTimeout", s.ack_timeout);
    dur("messageTimeout", s.message_timeout);
    dur("closeTimeout", s.close_timeout);
    dur("heartbeatInterval", s.heartbeat_interval);
    dur("peerDeadTimeout", s.peer_dead_timeout);
    if (s.heartbeat_interval * 3 > s.peer_dead_timeout)
      throw rd.bad(t[t["heartbeatInterval"] ? "heartbeatInterval" : "peerDeadTimeout"],
                   std::string("transport.") + (t["heartbeatInterval"] ? "heartbeatInterval" : "peerDeadTimeout"),
                   "heartbeatInterval (" + format_duration(s.heartbeat_interval) + ") must be at most a third of peerDeadTimeout (" +
                       format_duration(s.peer_dead_timeout) + ")");
    if (s.chunk_bytes + 4096 > s.max_frame_bytes)
      throw rd.bad(t, "transport.chunkBytes", "must be at least 4 KiB below maxFrameBytes (" + std::to_string(s.max_frame_bytes) + ")");
    if (s.window_bytes < s.chunk_bytes)
      throw rd.bad(t, "transport.windowBytes", "must be at least chunkBytes (" + std::to_string(s.chunk_bytes) + ")");
  }
  return job;
}

Job load_job(const std::string& path) { return parse_job(yaml::load_file(path), path); }

}  // namespace fatectl::fed
