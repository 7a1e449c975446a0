// The native toy check: FATE's secure-add toy protocol between two fatectl parties, with a
// report of every hop of the path (DNS, TCP, TLS with SNI, RTT, throughput).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "fatectl/core/duration.h"
#include "fatectl/core/error.h"
#include "fatectl/core/output.h"
#include "fatectl/core/ssl_errors.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/program.h"
#include "fatectl/fed/tls_channel.h"
#include "fatectl/ops/toy.h"

namespace fatectl::ops {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string fmt_ms(double ms) {
  char b[32];
  std::snprintf(b, sizeof b, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
  return b;
}

std::string subject_of(X509* cert) {
  if (!cert) return "(none)";
  char b[512];
  X509_NAME_oneline(X509_get_subject_name(cert), b, sizeof b);
  std::string s = b;  // "/CN=10000.fate.org/OU=..."
  if (!s.empty() && s[0] == '/') s.erase(0, 1);
  std::replace(s.begin(), s.end(), '/', ',');
  return s;
}

std::string put_u64(const std::vector<std::uint64_t>& v) {
  std::string s(v.size() * 8, '\0');
  for (size_t i = 0; i < v.size(); ++i)
    for (int b = 0; b < 8; ++b) s[i * 8 + static_cast<size_t>(b)] = static_cast<char>((v[i] >> (56 - 8 * b)) & 0xff);
  return s;
}

std::vector<std::uint64_t> get_u64(const std::string& s) {
  std::vector<std::uint64_t> v(s.size() / 8);
  for (size_t i = 0; i < v.size(); ++i) {
    std::uint64_t x = 0;
    for (int b = 0; b < 8; ++b) x = (x << 8) | static_cast<unsigned char>(s[i * 8 + static_cast<size_t>(b)]);
    v[i] = x;
  }
  return v;
}

// Connects with a deadline; returns fd or -1 with `err`.
int connect_timeout(const addrinfo* ai, std::chrono::milliseconds timeout, std::string& err) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    err = std::strerror(errno);
    return -1;
  }
  int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (rc != 0 && errno != EINPROGRESS) {
    err = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n <= 0) {
      err = n == 0 ? "timed out after " + std::to_string(timeout.count()) + " ms" : std::strerror(errno);
      ::close(fd);
      return -1;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      err = std::strerror(soerr);
      ::close(fd);
      return -1;
    }
  }
  ::fcntl(fd, F_SETFL, fl);
  timeval tv{};
  tv.tv_sec = static_cast<long>(timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

std::string addr_str(const addrinfo* ai) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ai->ai_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, host, sizeof host);
  else if (ai->ai_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, host, sizeof host);
  return host;
}

long long param_int(const fed::Job& job, const char* key, long long dflt) {
  if (!job.params || !job.params.IsMap() || !job.params[key]) return dflt;
  try {
    return std::stoll(job.params[key].Scalar());
  } catch (...) {
    throw invalid_at(yaml::where(job.params[key], job.file), std::string("algorithm.params.") + key, "expected a whole number");
  }
}

std::string param_str(const fed::Job& job, const char* key) {
  if (!job.params || !job.params.IsMap() || !job.params[key] || !job.params[key].IsScalar()) return "";
  return job.params[key].Scalar();
}

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void print_hop(const HopResult& h) {
  char b[64];
  std::snprintf(b, sizeof b, "%-14s %-4s ", h.hop.c_str(), h.ok ? "ok" : "FAIL");
  say(std::string("toy: ") + b + h.detail);
}

}  // namespace

std::vector<HopResult> probe_route(const fed::Job& job, long self, const fed::Route& route,
                                   std::chrono::milliseconds timeout) {
  std::vector<HopResult> hops;
  // 1. name resolution
  HopResult dns{"dns", false, 0, ""};
  auto t0 = Clock::now();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string host = route.endpoint.host;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  int gai = ::getaddrinfo(host.c_str(), std::to_string(route.endpoint.port).c_str(), &hints, &res);
  dns.ms = ms_since(t0);
  if (gai != 0) {
    dns.detail = "cannot resolve " + host + ": " + gai_strerror(gai);
    hops.push_back(dns);
    return hops;
  }
  dns.ok = true;
  dns.detail = host + " -> " + addr_str(res) + " (" + fmt_ms(dns.ms) + ")";
  hops.push_back(dns);
  // 2. TCP
  HopResult tcp{"tcp connect", false, 0, ""};
  t0 = Clock::now();
  int fd = -1;
  std::string err;
  std::string where;
  // the peer may still be starting: keep trying until the deadline (like the channel does)
  auto deadline = Clock::now() + timeout;
  int attempts = 0;
  while (fd < 0) {
    ++attempts;
    for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
      where = addr_str(ai) + ":" + std::to_string(route.endpoint.port);
      fd = connect_timeout(ai, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()) +
                                   std::chrono::milliseconds(1),
                           err);
    }
    if (fd >= 0 || Clock::now() + std::chrono::milliseconds(250) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ::freeaddrinfo(res);
  tcp.ms = ms_since(t0);
  if (fd < 0) {
    if (attempts > 1) err += " (kept trying for " + std::to_string(timeout.count() / 1000) + " s)";
    tcp.detail = where + ": " + err + (route.via == fed::Route::Via::Exchange ? " (is the Exchange's Traffic Server up and its port open?)"
                                                                                  : " (is the peer party running and listening there?)");
    hops.push_back(tcp);
    return hops;
  }
  tcp.ok = true;
  tcp.detail = where + " (" + fmt_ms(tcp.ms) + ")";
  hops.push_back(tcp);
  // 3. TLS with SNI, mutual authentication, peer name checked. Through the Exchange a peer that
  // is not listening yet shows up as the Exchange closing the connection before any TLS answer:
  // keep trying (a new connection each time) until the deadline, as the channel does.
  HopResult tls{"tls handshake", false, 0, ""};
  fed::TlsOptions to = fed::tls_options_for(job, self);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // verify after the handshake (SSL_get_verify_result), so a wrong peer is named by its subject
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  bool loaded = SSL_CTX_load_verify_locations(ctx, to.ca_file.c_str(), nullptr) == 1 &&
                SSL_CTX_use_certificate_chain_file(ctx, to.cert_file.c_str()) == 1 &&
                SSL_CTX_use_PrivateKey_file(ctx, to.key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!loaded) {
    tls.detail = "cannot load this party's certificates (" + to.cert_file + ", " + to.ca_file + "): " + ssl_error_queue();
    SSL_CTX_free(ctx);
    ::close(fd);
    hops.push_back(tls);
    return hops;
  }
  bool via_exchange = route.via == fed::Route::Via::Exchange;
  auto tls_start = Clock::now();
  int tries = 0;
  auto backoff = std::chrono::milliseconds(250);
  for (;;) {
    ++tries;
    ERR_clear_error();
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, route.sni.c_str());
    SSL_set1_host(ssl, route.sni.c_str());
    t0 = Clock::now();
    int rc = SSL_connect(ssl);
    tls.ms = ms_since(t0);
    int ssl_err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
    bool eof = ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN ||
               (ssl_err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
    X509* peer = SSL_get1_peer_certificate(ssl);
    std::string subj = subject_of(peer);
    long vr = SSL_get_verify_result(ssl);
    if (rc == 1 && (vr != X509_V_OK || !peer)) rc = 0;
    // closed before any answer (no certificate, no alert): the Exchange found nobody behind the route
    bool closed_early = rc != 1 && !peer && vr == X509_V_OK && eof;
    if (rc != 1 && closed_early && via_exchange && Clock::now() + std::chrono::milliseconds(100) < deadline) {
      if (tries == 1)
        say("toy: tls handshake: the Exchange closed the connection before party " + std::to_string(route.party) +
            " answered -- waiting for it to come up (up to " + std::to_string(timeout.count() / 1000) + " s)");
      SSL_free(ssl);
      ::close(fd);
      fd = -1;
      std::this_thread::sleep_for(
          std::min<std::chrono::milliseconds>(backoff, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      // a new connection to the Exchange for the next try
      addrinfo* again = nullptr;
      if (::getaddrinfo(host.c_str(), std::to_string(route.endpoint.port).c_str(), &hints, &again) == 0) {
        for (addrinfo* ai = again; ai && fd < 0; ai = ai->ai_next)
          fd = connect_timeout(ai, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()) +
                                       std::chrono::milliseconds(1),
                               err);
        ::freeaddrinfo(again);
      }
      if (fd >= 0) continue;
      tls.detail = "sni " + route.sni + ": the Exchange stopped accepting connections while waiting for party " +
                   std::to_string(route.party) + " (" + err + ")";
      SSL_CTX_free(ctx);
      hops.push_back(tls);
      return hops;
    }
    if (rc != 1) {
      std::string why = vr != X509_V_OK ? X509_verify_cert_error_string(vr) : ssl_error_queue();
      if (why.empty()) why = "connection closed during the handshake";
      tls.detail = "sni " + route.sni + ": " + why + (peer ? "; peer certificate " + subj : "");
      if (closed_early && via_exchange) {
        tls.detail += " -- peer not up yet, or route wrong: the Exchange accepted the connection but closed it before "
                      "party " + std::to_string(route.party) + " answered, every time for " +
                      std::to_string((timeout.count() + 500) / 1000) + " s (connectTimeout, " + std::to_string(tries) +
                      " tries): party " + std::to_string(route.party) +
                      " is not listening at the address the Exchange routes " + route.sni +
                      " to -- it is not up yet, or that route points at the wrong host:port (fatectl exchange route list)";
      } else if (peer && subj.find("CN=" + route.sni) == std::string::npos) {
        tls.detail += via_exchange
                          ? " -- route wrong: the Exchange answered with a certificate that is not " + route.sni +
                                ": it has no SNI route for it (fatectl exchange route add --party " +
                                std::to_string(route.party) + " ...), or the route points at the wrong party"
                          : " -- the peer is not party " + std::to_string(route.party) + " or uses another certificate";
      } else if (peer) {
        tls.detail += " -- the peer's certificate is not signed by this federation's CA (" + to.ca_file + ")";
      }
    } else {
      tls.ok = true;
      tls.detail = "sni " + route.sni + ", peer " + subj + ", " + SSL_get_version(ssl) + " (" + fmt_ms(tls.ms) + ")";
      if (tries > 1)
        tls.detail += "; party " + std::to_string(route.party) + " came up after " +
                      std::to_string(static_cast<long>(ms_since(tls_start) / 1000)) + " s";
      SSL_shutdown(ssl);
    }
    if (peer) X509_free(peer);
    SSL_free(ssl);
    break;
  }
  SSL_CTX_free(ctx);
  ::close(fd);
  hops.push_back(tls);
  return hops;
}

int toy_secure_add_party(const fed::Job& job, long party, fed::Channel& ch) {
  long guest = job.first_with_role(fed::Role::Guest);
  long host = job.first_with_role(fed::Role::Host);
  if (!guest || !host) throw invalid(job.file + ": the toy needs one guest and one host");
  if (party != guest && party != host) {
    say("toy: party " + std::to_string(party) + " takes no part in the toy (guest and host only)");
    return 0;
  }
  bool is_guest = party == guest;
  long peer = is_guest ? host : guest;
  long long n = param_int(job, "dataNum", 1000);
  if (n < 1 || n > 10'000'000) throw invalid(job.file + ": algorithm.params.dataNum must be in 1..10000000");
  long long rounds = param_int(job, "rttRounds", 10);
  long long bulk = param_int(job, "throughputBytes", 1 << 20);
  if (rounds < 0 || rounds > 1'000'000) throw invalid(job.file + ": algorithm.params.rttRounds must be in 0..1000000");
  if (bulk < 0 || static_cast<unsigned long long>(bulk) > job.transport.max_message_bytes)
    throw invalid(job.file + ": algorithm.params.throughputBytes must be in 0..transport.maxMessageBytes (" +
                  std::to_string(job.transport.max_message_bytes) + ")");
  long long timeout_s = param_int(job, "timeoutSeconds", 60);
  if (timeout_s < 1 || timeout_s > kMaxDuration.count() / 1000)
    throw invalid_at(yaml::where(job.params["timeoutSeconds"], job.file), "algorithm.params.timeoutSeconds",
                     "must be 1-" + std::to_string(kMaxDuration.count() / 1000) + " seconds (365d at most)");
  std::chrono::milliseconds timeout(timeout_s * 1000);
  std::string report_file = param_str(job, "reportFile");
  // with several parties of one job on this machine (run --local) only one writes the report
  long long report_party = param_int(job, "reportParty", 0);
  if (report_party != 0 && report_party != party) report_file.clear();

  NativeToyReport rep;
  rep.self = party;
  rep.peer = peer;
  rep.data_num = n;
  fed::Route route = job.route_to(peer);
  rep.route = route.str();
  say("toy: party " + std::to_string(party) + " (" + (is_guest ? "guest" : "host") + ") -> party " +
      std::to_string(peer) + " via " + rep.route);

  auto finish = [&](int rc) {
    rep.ok = rc == 0;
    if (!report_file.empty()) {
      std::ofstream f(report_file);
      f << yaml::to_json(native_report_yaml(rep)) << "\n";
    }
    say(std::string("toy: ") + (rc == 0 ? "PASS" : "FAIL") +
        (rep.failed_hop.empty() ? "" : " (failed hop: " + rep.failed_hop + ")"));
    return rc;
  };

  // DNS, TCP, TLS towards the peer, before the channel needs them
  // the peer may start after us: wait for it as long as the channel would (connectTimeout)
  for (auto& h : probe_route(job, party, route, std::min(timeout, job.transport.connect_timeout))) {
    rep.hops.push_back(h);
    print_hop(h);
    if (!h.ok) {
      rep.failed_hop = h.hop;
      return finish(3);
    }
  }
  ToyParams tp;
  tp.data_num = n;
  tp.rtt_rounds = rounds;
  tp.throughput_bytes = bulk;
  tp.timeout = timeout;
  return finish(run_toy_protocol(ch, is_guest, peer, tp, rep));
}

int run_toy_protocol(fed::Channel& ch, bool is_guest, long peer, const ToyParams& p, NativeToyReport& rep) {
  long long n = p.data_num, rounds = p.rtt_rounds, bulk = p.throughput_bytes;
  std::chrono::milliseconds timeout = p.timeout;
  rep.data_num = n;
  auto finish = [&](int rc) {
    rep.ok = rc == 0;
    return rc;
  };
  auto fail_hop = [&](HopResult h) {
    rep.hops.push_back(h);
    print_hop(h);
    rep.failed_hop = h.hop;
  };
  std::string stage = is_guest ? "round trip" : "channel";
  try {
    // round trip and throughput (guest measures; host answers)
    if (is_guest) {
      std::vector<double> rtts;
      for (long long i = 0; i < rounds; ++i) {
        auto t0 = Clock::now();
        ch.send(peer, "toy/ping/" + std::to_string(i), std::string(8, 'p'));
        ch.recv(peer, "toy/pong/" + std::to_string(i), timeout);
        rtts.push_back(ms_since(t0));
      }
      std::sort(rtts.begin(), rtts.end());
      HopResult rt{"round trip", true, rtts.empty() ? 0 : rtts[rtts.size() / 2], ""};
      rt.detail = "p50 " + fmt_ms(rt.ms) + ", max " + fmt_ms(rtts.empty() ? 0 : rtts.back()) + " over " +
                  std::to_string(rounds) + " messages (includes connecting)";
      rep.hops.push_back(rt);
      print_hop(rt);
      stage = "throughput";
      auto t0 = Clock::now();
      ch.send_stream(peer, "toy/bulk", static_cast<std::uint64_t>(bulk), [](char* dst, size_t k) { std::memset(dst, 'x', k); });
      std::string ack = ch.recv(peer, "toy/bulk-ack", timeout);
      double ms = ms_since(t0);
      HopResult tp{"throughput", ack == std::to_string(bulk), ms, ""};
      char b[96];
      std::snprintf(b, sizeof b, "%lld bytes in %s (%.1f MiB/s)", bulk, fmt_ms(ms).c_str(),
                    ms > 0 ? (static_cast<double>(bulk) / (1 << 20)) / (ms / 1000) : 0.0);
      tp.detail = tp.ok ? b : "peer received " + ack + " bytes of " + std::to_string(bulk);
      if (!tp.ok) {
        fail_hop(tp);
        return finish(1);
      }
      rep.hops.push_back(tp);
      print_hop(tp);
    } else {
      for (long long i = 0; i < rounds; ++i) {
        ch.recv(peer, "toy/ping/" + std::to_string(i), timeout);
        ch.send(peer, "toy/pong/" + std::to_string(i), std::string(8, 'q'));
      }
      std::uint64_t got = ch.recv_stream(peer, "toy/bulk", timeout, [](std::string_view) {});
      ch.send(peer, "toy/bulk-ack", std::to_string(got));
    }
    stage = "secure add";
    // secure add: values are n ones; shares are additive modulo 2^64
    std::mt19937_64 rng(std::random_device{}());
    std::vector<std::uint64_t> mine(static_cast<size_t>(n)), theirs(static_cast<size_t>(n));
    std::uint64_t keep_sum = 0;
    for (size_t i = 0; i < mine.size(); ++i) {
      std::uint64_t r = rng();
      theirs[i] = r;             // sent to the peer
      keep_sum += 1 - r;         // kept: value - r (wraps modulo 2^64)
      (void)mine;
    }
    auto t0 = Clock::now();
    ch.send(peer, is_guest ? "toy/share/guest" : "toy/share/host", put_u64(theirs));
    std::vector<std::uint64_t> recvd = get_u64(ch.recv(peer, is_guest ? "toy/share/host" : "toy/share/guest", timeout));
    if (recvd.size() != static_cast<size_t>(n))
      throw failed("the peer sent " + std::to_string(recvd.size()) + " shares, expected " + std::to_string(n) +
                   " (do both sides run with the same dataNum?)");
    std::uint64_t partial = keep_sum;
    for (auto v : recvd) partial += v;
    if (!is_guest) {
      ch.send(peer, "toy/partial", put_u64({partial}));
      std::string verdict = ch.recv(peer, "toy/verdict", timeout);
      ch.flush(timeout);
      HopResult sa{"secure add", verdict.rfind("ok", 0) == 0, ms_since(t0), "guest says: " + verdict};
      // the guest reconstructs the sum; the host learns it from the verdict ("ok: sum 2000 = 2 x 1000")
      if (verdict.rfind("ok: sum ", 0) == 0) rep.sum = verdict.substr(8, verdict.find(' ', 8) - 8);
      if (!sa.ok) {
        fail_hop(sa);
        return finish(1);
      }
      rep.hops.push_back(sa);
      print_hop(sa);
      return finish(0);
    }
    auto other = get_u64(ch.recv(peer, "toy/partial", timeout));
    std::uint64_t sum = partial + (other.empty() ? 0 : other[0]);
    rep.sum = std::to_string(sum);
    bool ok = sum == static_cast<std::uint64_t>(2 * n);
    std::string verdict = ok ? "ok: sum " + rep.sum + " = 2 x " + std::to_string(n)
                             : "wrong: sum " + rep.sum + ", expected " + std::to_string(2 * n);
    ch.send(peer, "toy/verdict", verdict);
    ch.flush(timeout);
    HopResult sa{"secure add", ok, ms_since(t0), verdict};
    if (!ok) {
      fail_hop(sa);
      return finish(1);
    }
    rep.hops.push_back(sa);
    print_hop(sa);
    say("toy: success to calculate secure_sum, it is " + rep.sum);
    return finish(0);
  } catch (const Error& e) {
    HopResult h{stage, false, 0, e.what()};
    fail_hop(h);
    return finish(e.kind() == ErrorKind::Timeout ? 4 : e.kind() == ErrorKind::Failed ? 1 : 3);
  }
}

void register_toy_programs() {
  fed::register_program("toy_secure_add",
                        "FATE's toy secure-add between guest and host, with a per-hop report (fatectl toy --native)",
                        &toy_secure_add_party);
}

YAML::Node native_report_yaml(const NativeToyReport& r) {
  YAML::Node n;
  n["party"] = r.self;
  n["peer"] = r.peer;
  n["route"] = yaml::str(r.route);
  n["ok"] = r.ok;
  if (!r.failed_hop.empty()) n["failedHop"] = yaml::str(r.failed_hop);
  n["dataNum"] = r.data_num;
  if (!r.sum.empty()) n["sum"] = r.sum;
  n["hops"] = YAML::Node(YAML::NodeType::Sequence);
  for (auto& h : r.hops) {
    YAML::Node e;
    e["hop"] = yaml::str(h.hop);
    e["ok"] = h.ok;
    e["ms"] = h.ms;
    e["detail"] = yaml::str(h.detail);
    n["hops"].push_back(e);
  }
  return n;
}

NativeToyReport native_report_from_yaml(const YAML::Node& n) {
  NativeToyReport r;
  r.self = n["party"].as<long>(0);
  r.peer = n["peer"].as<long>(0);
  r.route = n["route"].as<std::string>("");
  r.ok = n["ok"].as<bool>(false);
  r.failed_hop = n["failedHop"].as<std::string>("");
  r.data_num = n["dataNum"].as<long>(0);
  r.sum = n["sum"].as<std::string>("");
  for (auto h : n["hops"]) r.hops.push_back(HopResult{h["hop"].as<std::string>(""), h["ok"].as<bool>(false),
                                                      h["ms"].as<double>(0), h["detail"].as<std::string>("")});
  return r;
}

std::string native_report_text(const NativeToyReport& r) {
  output::Table t;
  t.headers = {"HOP", "RESULT", "DETAIL"};
  for (auto& h : r.hops) t.rows.push_back({h.hop, h.ok ? "ok" : "FAIL", h.detail});
  std::string o = "party " + std::to_string(r.self) + " -> party " + std::to_string(r.peer) + " via " + r.route + "\n";
  o += t.render();
  if (!r.ok) o += "FAIL at hop '" + r.failed_hop + "'\n";
  else if (r.sum.empty()) o += "PASS: the guest verified the secure sum = 2 x " + std::to_string(r.data_num) + "\n";
  else o += "PASS: secure sum " + r.sum + " = 2 x " + std::to_string(r.data_num) + "\n";
  return o;
}

}  // namespace fatectl::ops
