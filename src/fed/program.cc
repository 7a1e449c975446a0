#include "fatectl/fed/program.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"

namespace fatectl::fed {
namespace {

struct Entry {
  std::string summary;
  Program fn;
};

std::mutex& reg_mu() {
  static std::mutex m;
  return m;
}

int echo_program(const Job& job, long party, Channel& ch);

std::map<std::string, Entry>& registry() {
  static std::map<std::string, Entry> r = [] {
    std::map<std::string, Entry> m;
    m["echo"] = Entry{"built-in transport check: pings and a hashed stream between the guest and every other party",
                      &echo_program};
    return m;
  }();
  return r;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// SHA-256 over pieces.
struct Sha256 {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  Sha256() { EVP_DigestInit_ex(c, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(c); }
  void add(const void* p, size_t n) { EVP_DigestUpdate(c, p, n); }
  std::string hex() {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(c, md, &n);
    static const char* h = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < n; ++i) { s += h[md[i] >> 4]; s += h[md[i] & 15]; }
    return s;
  }
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = (size_t)std::min<double>(v.size() - 1, q * (v.size() - 1) + 0.5);
  return v[i];
}

std::string mib(std::uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  return buf;
}

int echo_program(const Job& job, long party, Channel& ch) {
  EchoParams p = parse_echo_params(job);
  auto timeout = job.transport.message_timeout;
  const PartySpec& me = job.party(party);
  long guest = job.first_with_role(Role::Guest);
  if (me.role != Role::Guest) {
    echo_peer(ch, guest, p, timeout);
    std::printf("echo: answered %d pings and a %s stream from guest %ld\n", p.rounds, mib(p.stream_bytes).c_str(), guest);
    std::fflush(stdout);
    return 0;
  }
  int bad = 0;
  for (long peer : job.party_ids()) {
    if (peer == party) continue;
    std::printf("echo: exchanging with party %ld (%s) via %s\n", peer, role_name(job.party(peer).role),
                job.route_to(peer).str().c_str());
    std::fflush(stdout);
    EchoResult r = echo_guest(ch, peer, p, timeout);
    std::printf("echo: party %ld: %d pings of %llu B, rtt p50 %.3f ms p99 %.3f ms; stream %s in %.3f s = %.1f MiB/s, sha256 %s\n",
                peer, r.rounds, (unsigned long long)p.frame_bytes, r.rtt_p50_ms, r.rtt_p99_ms, mib(r.stream_bytes).c_str(),
                r.stream_seconds, r.mib_per_s, r.digest_ok ? "match" : "MISMATCH");
    std::fflush(stdout);
    if (!r.digest_ok) ++bad;
  }
  if (bad) {
    std::printf("echo: FAILED: %d peer(s) received a different stream\n", bad);
    std::fflush(stdout);
    return 1;
  }
  size_t n = job.parties.size() - 1;
  std::printf("echo: success, reached %zu other part%s\n", n, n == 1 ? "y" : "ies");
  std::fflush(stdout);
  return 0;
}

}  // namespace

void register_program(const std::string& name, const std::string& summary, Program fn) {
  std::lock_guard<std::mutex> l(reg_mu());
  registry()[name] = Entry{summary, std::move(fn)};
}

const Program* find_program(const std::string& name) {
  std::lock_guard<std::mutex> l(reg_mu());
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : &it->second.fn;
}

std::vector<std::pair<std::string, std::string>> programs() {
  std::lock_guard<std::mutex> l(reg_mu());
  std::vector<std::pair<std::string, std::string>> v;
  for (auto& [k, e] : registry()) v.emplace_back(k, e.summary);
  return v;
}

EchoParams parse_echo_params(const Job& job) {
  EchoParams p;
  const YAML::Node& n = job.params;
  if (!n || n.IsNull()) return p;
  if (!n.IsMap()) throw invalid_at(job.params_where, "algorithm.params", "expected a mapping");
  for (const auto& kv : n) {
    std::string k = kv.first.Scalar();
    std::string key = "algorithm.params." + k;
    Location at = yaml::where(kv.second, job.file);
    if (!kv.second.IsScalar()) throw invalid_at(at, key, "expected a single value");
    std::string v = kv.second.Scalar();
    try {
      if (k == "rounds") {
        std::uint64_t r = parse_size(v);
        if (r > 1000000) throw invalid("at most 1000000");
        p.rounds = (int)r;
      } else if (k == "frameBytes") {
        p.frame_bytes = parse_size(v);
        if (p.frame_bytes == 0) throw invalid("must be at least 1");
      } else if (k == "streamBytes") {
        p.stream_bytes = parse_size(v);
      } else if (k == "seed") {
        p.seed = parse_size(v);
      } else {
        throw invalid_at(yaml::where(kv.first, job.file), key, "unknown echo parameter (known: rounds, frameBytes, streamBytes, seed)");
      }
    } catch (const Error& e) {
      if (std::string(e.what()).find(job.file) == 0) throw;
      throw invalid_at(at, key, e.what());
    }
  }
  return p;
}

void echo_stream_bytes(std::uint64_t seed, std::uint64_t offset, char* dst, size_t n) {
  while (n > 0) {
    std::uint64_t block = offset / 8;
    std::uint64_t w = splitmix(seed * 0x100000001b3ull ^ block);
    unsigned char bytes[8];
    std::memcpy(bytes, &w, 8);
    size_t in = offset % 8;
    size_t take = std::min<size_t>(8 - in, n);
    std::memcpy(dst, bytes + in, take);
    dst += take;
    offset += take;
    n -= take;
  }
}

EchoResult echo_guest(Channel& ch, long peer, const EchoParams& p, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  EchoResult r;
  r.peer = peer;
  std::string ping(p.frame_bytes, '\0');
  std::vector<double> rtts;
  // Ping 0 warms up (it pays for the TCP connect and TLS handshakes) and is not counted.
  for (int i = 0; i <= p.rounds; ++i) {
    echo_stream_bytes(p.seed + 7, (std::uint64_t)i * p.frame_bytes, ping.data(), ping.size());
    auto t0 = Clock::now();
    ch.send(peer, "echo/ping", ping);
    Bytes pong = ch.recv(peer, "echo/pong", timeout);
    if (i > 0) rtts.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (pong != ping) throw failed("echo: party " + std::to_string(peer) + " answered ping " + std::to_string(i) + " with different bytes");
  }
  r.rounds = p.rounds;
  r.rtt_p50_ms = percentile(rtts, 0.5);
  r.rtt_p99_ms = percentile(rtts, 0.99);
  r.rtt_max_ms = rtts.empty() ? 0 : *std::max_element(rtts.begin(), rtts.end());
  Sha256 h;
  auto t0 = Clock::now();
  std::uint64_t off = 0;
  ch.send_stream(peer, "echo/stream", p.stream_bytes, [&](char* dst, size_t n) {
    echo_stream_bytes(p.seed, off, dst, n);
    h.add(dst, n);
    off += n;
  });
  std::string mine = h.hex();
  Bytes theirs = ch.recv(peer, "echo/digest", timeout);
  r.stream_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.stream_bytes = p.stream_bytes;
  r.mib_per_s = r.stream_seconds > 0 ? p.stream_bytes / 1048576.0 / r.stream_seconds : 0;
  r.digest_ok = theirs == mine;
  return r;
}

void echo_peer(Channel& ch, long guest, const EchoParams& p, std::chrono::milliseconds timeout) {
  for (int i = 0; i <= p.rounds; ++i) ch.send(guest, "echo/pong", ch.recv(guest, "echo/ping", timeout));
  Sha256 h;
  std::uint64_t n = ch.recv_stream(guest, "echo/stream", timeout, [&](std::string_view piece) { h.add(piece.data(), piece.size()); });
  if (n != p.stream_bytes)
    throw failed("echo: expected a stream of " + std::to_string(p.stream_bytes) + " bytes from party " + std::to_string(guest) +
                 ", got " + std::to_string(n) + " (do both parties read the same job file?)");
  ch.send(guest, "echo/digest", h.hex());
}

}  // namespace fatectl::fed
