// Path probes through the Exchange: sockets with deadlines, TLS with the peer's SNI, and the
// Pulsar hops on top (pulsar_wire.h). Each failure is classified into the likely cause.
#include "fatectl/federation/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "fatectl/core/ssl_errors.h"
#include "fatectl/federation/pulsar_wire.h"

namespace fatectl::federation {

using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

int left_ms(Clock::time_point deadline) {
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return d < 0 ? 0 : static_cast<int>(std::min<long long>(d, 1LL << 30));
}

std::string common_name(X509* c) {
  if (!c) return "";
  char b[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, b, sizeof b);
  return n > 0 ? std::string(b, static_cast<size_t>(n)) : "";
}

Hop hop(const std::string& name, bool ok, double ms, const std::string& detail, const std::string& fix = "") {
  return Hop{name, ok ? "ok" : "failed", ms, detail, ok ? "" : fix};
}

struct AddrList {
  addrinfo* ai = nullptr;
  ~AddrList() {
    if (ai) ::freeaddrinfo(ai);
  }
};

std::string addr_text(const addrinfo* ai) {
  char h[INET6_ADDRSTRLEN] = "?";
  if (ai->ai_family == AF_INET) ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, h, sizeof h);
  if (ai->ai_family == AF_INET6) ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, h, sizeof h);
  return h;
}

/// Non-blocking connect with a deadline; the socket stays non-blocking. -1 with `err`/`refused`.
int connect_by(const addrinfo* ai, Clock::time_point deadline, std::string& err, bool& refused) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
  if (fd < 0) {
    err = std::strerror(errno);
    return -1;
  }
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (rc != 0 && errno != EINPROGRESS) {
    refused = errno == ECONNREFUSED;
    err = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, left_ms(deadline));
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (n > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (n <= 0 || soerr) {
      refused = soerr == ECONNREFUSED;
      err = n == 0 ? "no answer (timed out)" : std::strerror(n < 0 ? errno : soerr);
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

bool resolve(const std::string& host_in, int port, AddrList& out, std::string& err) {
  std::string host = host_in;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &out.ai);
  if (gai != 0) {
    err = gai_strerror(gai);
    return false;
  }
  return true;
}

/// Runs an SSL operation until done or the deadline; returns its result (<= 0 on failure).
template <typename Op>
int drive(SSL* ssl, int fd, Clock::time_point deadline, Op op, std::string& err) {
  for (;;) {
    ERR_clear_error();
    int rc = op();
    if (rc > 0) return rc;
    int e = SSL_get_error(ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      pollfd p{fd, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
      int n = ::poll(&p, 1, left_ms(deadline));
      if (n == 0) {
        err = "timed out";
        return -1;
      }
      if (n < 0 && errno != EINTR) {
        err = std::strerror(errno);
        return -1;
      }
      continue;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
      err = "closed by the peer";
      return 0;
    }
    std::string s = ssl_error_queue();
    if (s.empty()) s = errno ? std::string(std::strerror(errno)) : std::string("connection closed");
    if (s == "Success") s = "connection closed";
    err = s;
    return 0;
  }
}

/// The likely cause of a TLS failure through the Exchange, from what answered.
void classify_tls(const TlsTarget& t, X509* peer, long verify, const std::string& err, bool timed_out, Hop& h) {
  std::string cn = common_name(peer);
  std::string party = t.expect_cn.substr(0, t.expect_cn.find('.'));
  if (!peer) {
    if (timed_out) {
      h.detail = "sni " + t.sni + ": no TLS answer before the deadline";
      h.fix = "the Exchange accepted the connection but nothing answered through the tunnel: a firewall between the "
              "Exchange and party " + party + " drops it, or the route's tunnel address is wrong (fatectl federation status)";
    } else if (err.find("alert") != std::string::npos) {
      h.detail = "sni " + t.sni + ": the far side refused the handshake (" + err + ")";
      h.fix = "party " + party + "'s broker does not accept this party's certificate: its pulsar-cert Secret comes from "
              "another CA, or it wants another client certificate (fatectl federation up re-applies the federation's)";
    } else {
      h.detail = "sni " + t.sni + ": the connection was closed during the handshake (" + err + ")";
      h.fix = "Traffic Server closed the tunnel: the route's tunnel port is outside its connect_ports, or party " + party +
              "'s broker is not reachable from the Exchange (its pulsar Service/NodePort, a firewall); see fatectl "
              "federation status";
    }
    return;
  }
  h.detail = "sni " + t.sni + ": the certificate that answered is CN=" + cn;
  if (cn == t.exchange_cn) {
    h.fix = "the Exchange answered with its own certificate: Traffic Server has no SNI route for " + t.sni +
            " in sni.yaml (or has not reloaded since it was added): fatectl federation up";
  } else if (cn != t.expect_cn && cn.size() > t.domain.size() + 1 &&
             cn.compare(cn.size() - t.domain.size(), t.domain.size(), t.domain) == 0) {
    h.fix = "the route for " + t.sni + " leads to party " + cn.substr(0, cn.find('.')) +
            "'s broker: its tunnelRoute in sni.yaml points at the wrong address (fatectl federation up rewrites it)";
  } else if (cn != t.expect_cn) {
    h.fix = "the tunnel for " + t.sni + " does not end at party " + party + "'s broker (its pulsar-cert Secret is not "
            "the federation's, or the route's address belongs to something else)";
  } else if (verify == X509_V_ERR_CERT_HAS_EXPIRED) {
    h.fix = "party " + party + "'s certificate has expired: re-issue it (fatectl certs issue --party " + party +
            " --force --dir <certificates.dir>) and run fatectl federation up";
  } else {
    h.detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    h.fix = "party " + party + "'s certificate is not signed by the federation CA (" + t.ca +
            "): its pulsar-cert Secret comes from another CA; fatectl federation up applies the federation's";
  }
}

/// Reads commands until one of `want` arrives, answering the broker's PINGs.
bool await(TlsPath& p, pulsar::Decoder& d, std::initializer_list<int> want, Clock::time_point deadline, pulsar::Command& out,
           std::string& err) {
  char buf[16384];
  for (;;) {
    while (auto c = d.next()) {
      if (c->type == pulsar::kPing) {
        if (!p.write(pulsar::pong_frame(), deadline, err)) return false;
        continue;
      }
      if (std::find(want.begin(), want.end(), c->type) != want.end() || c->type == pulsar::kError) {
        out = *c;
        return true;
      }
    }
    long n = p.read(buf, sizeof buf, deadline, err);
    if (n <= 0) {
      if (n == 0) err = "closed by the far side";
      return false;
    }
    d.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

/// CONNECT with `payload` bytes; true when CONNECTED came back.
bool pulsar_connect(TlsPath& p, pulsar::Decoder& d, size_t payload, std::chrono::milliseconds timeout, pulsar::Command& got,
                    std::string& err) {
  auto deadline = Clock::now() + timeout;
  if (!p.write(pulsar::connect_frame("fatectl-probe", payload), deadline, err)) return false;
  if (!await(p, d, {pulsar::kConnected}, deadline, got, err)) return false;
  if (got.type == pulsar::kError) {
    err = "the broker answered ERROR: " + got.error;
    return false;
  }
  return true;
}

/// Why CONNECT got no CONNECTED: with TLS 1.3 a broker that refuses our certificate says so only now.
std::string connect_fix(const std::string& err) {
  if (err.find("alert") != std::string::npos)
    return "the broker refused this party's certificate after the handshake: its pulsar-cert CA is not the "
           "federation's (fatectl federation up applies the federation's Secrets)";
  return "the tunnel ends at something that is not a Pulsar broker answering CONNECT: the route's tunnel port is not "
         "the party's pulsar TLS port (6651, or its httpsNodePort), or the broker is still starting";
}

}  // namespace

std::string fmt_ms(double ms) {
  char b[32];
  if (ms >= 10000) std::snprintf(b, sizeof b, "%.1f s", ms / 1000);
  else std::snprintf(b, sizeof b, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
  return b;
}

std::string fmt_bytes(double v) {
  char b[32];
  if (v >= 1 << 20) std::snprintf(b, sizeof b, "%.1f MiB", v / (1 << 20));
  else if (v >= 1 << 10) std::snprintf(b, sizeof b, "%.0f KiB", v / (1 << 10));
  else std::snprintf(b, sizeof b, "%.0f B", v);
  return b;
}

// ---- TlsPath -----------------------------------------------------------------------------------

TlsPath::~TlsPath() { close(); }

void TlsPath::close() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  fd_ = -1;
}

bool TlsPath::open_quiet(const TlsTarget& t, std::string& err) {
  std::vector<Hop> hops;
  if (open(t, hops)) return true;
  err = hops.empty() ? "failed" : hops.back().hop + ": " + hops.back().detail;
  return false;
}

bool TlsPath::open(const TlsTarget& t, std::vector<Hop>& hops) {
  close();
  std::signal(SIGPIPE, SIG_IGN);  // a peer that closes mid-write is a finding, not a reason to die
  auto deadline = Clock::now() + t.timeout;
  std::string where = t.host + ":" + std::to_string(t.port);
  auto t0 = Clock::now();
  AddrList al;
  std::string err;
  if (!resolve(t.host, t.port, al, err)) {
    hops.push_back(hop("dns", false, ms_since(t0), "cannot resolve " + t.host + ": " + err,
                       "fix name resolution on this machine, or give the Exchange's address as an IP (exchange.address)"));
    return false;
  }
  hops.push_back(hop("dns", true, ms_since(t0), t.host + " -> " + addr_text(al.ai)));
  t0 = Clock::now();
  bool refused = false;
  for (addrinfo* ai = al.ai; ai && fd_ < 0; ai = ai->ai_next) fd_ = connect_by(ai, deadline, err, refused);
  if (fd_ < 0) {
    hops.push_back(hop("tcp connect", false, ms_since(t0), where + ": " + err,
                       refused ? "nothing listens there: the Exchange's traffic-server Service (its NodePort) or pods are "
                                 "down, or the address is not the Exchange's (fatectl federation status)"
                               : "no answer: a firewall drops the connection, or the node address is not reachable from here"));
    return false;
  }
  hops.push_back(hop("tcp connect", true, ms_since(t0), where));
  t0 = Clock::now();
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // verified below, so a wrong peer is named
  if (SSL_CTX_load_verify_locations(ctx_, t.ca.c_str(), nullptr) != 1 ||
      SSL_CTX_use_certificate_chain_file(ctx_, t.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_, t.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    hops.push_back(hop("tls handshake", false, 0, "cannot load " + t.cert + " / " + t.key + " / " + t.ca + ": " + ssl_error_queue(),
                       "run fatectl federation up (or provision) to issue the party's certificate"));
    return false;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, t.sni.c_str());
  int rc = drive(ssl_, fd_, deadline, [this] { return SSL_connect(ssl_); }, err);
  X509* peer = SSL_get1_peer_certificate(ssl_);
  long verify = SSL_get_verify_result(ssl_);
  std::string cn = common_name(peer);
  Hop h{"tls handshake", "failed", ms_since(t0), "", ""};
  if (rc == 1 && peer && verify == X509_V_OK && cn == t.expect_cn) {
    h.result = "ok";
    h.detail = "sni " + t.sni + "; peer CN=" + cn + ", signed by the federation CA; " + SSL_get_version(ssl_);
    X509_free(peer);
    hops.push_back(h);
    return true;
  }
  classify_tls(t, peer, verify, err, rc < 0, h);
  if (peer) X509_free(peer);
  hops.push_back(h);
  return false;
}

bool TlsPath::write(const std::string& bytes, Clock::time_point deadline, std::string& err) {
  size_t off = 0;
  while (off < bytes.size()) {
    size_t chunk = std::min<size_t>(bytes.size() - off, 1u << 20);
    int n = drive(ssl_, fd_, deadline,
                  [&] { return SSL_write(ssl_, bytes.data() + off, static_cast<int>(chunk)); }, err);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

long TlsPath::read(char* buf, size_t n, Clock::time_point deadline, std::string& err) {
  int r = drive(ssl_, fd_, deadline, [&] { return SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1u << 30))); }, err);
  return r < 0 ? -1 : r;
}

// ---- probes ------------------------------------------------------------------------------------

std::vector<Hop> check_pulsar_path(const TlsTarget& t) {
  std::vector<Hop> hops;
  TlsPath p;
  if (!p.open(t, hops)) return hops;
  pulsar::Decoder d;
  pulsar::Command got;
  std::string err;
  auto t0 = Clock::now();
  if (!pulsar_connect(p, d, 0, t.timeout, got, err)) {
    hops.push_back(hop("pulsar connect", false, ms_since(t0), err, connect_fix(err)));
    return hops;
  }
  hops.push_back(hop("pulsar connect", true, ms_since(t0), "CONNECTED (broker " + got.server_version + ")"));
  t0 = Clock::now();
  if (!p.write(pulsar::ping_frame(), Clock::now() + t.timeout, err) ||
      !await(p, d, {pulsar::kPong}, Clock::now() + t.timeout, got, err)) {
    hops.push_back(hop("round trip", false, ms_since(t0), "PING: " + err, "the broker stopped answering after CONNECT"));
    return hops;
  }
  hops.push_back(hop("round trip", true, ms_since(t0), "PING -> PONG"));
  return hops;
}

std::vector<Hop> probe_pulsar_path(const TlsTarget& t, const PulsarProbeOptions& o) {
  std::vector<Hop> hops;
  static const char* kAll[] = {"dns", "tcp connect", "tls handshake", "pulsar connect", "round trip", "throughput",
                               "largest message", "idle connection"};
  auto finish = [&]() {
    for (const char* name : kAll) {
      bool have = false;
      for (auto& h : hops) have |= h.hop == name;
      if (!have) hops.push_back(Hop{name, "skipped", 0, "after the failure above", ""});
    }
    return hops;
  };
  TlsPath p;
  if (!p.open(t, hops)) return finish();
  pulsar::Decoder d;
  pulsar::Command got;
  std::string err;
  auto t0 = Clock::now();
  if (!pulsar_connect(p, d, 0, o.timeout, got, err)) {
    hops.push_back(hop("pulsar connect", false, ms_since(t0), err, connect_fix(err)));
    return finish();
  }
  long long broker_max = got.max_message_size;
  hops.push_back(hop("pulsar connect", true, ms_since(t0),
                     "CONNECTED (broker " + got.server_version + (broker_max > 0 ? ", max message " + fmt_bytes(double(broker_max)) : std::string()) + ")"));
  // round trip: PING -> PONG
  std::vector<double> rtt;
  for (int i = 0; i < std::max(1, o.rtt_rounds); ++i) {
    t0 = Clock::now();
    auto deadline = Clock::now() + o.timeout;
    if (!p.write(pulsar::ping_frame(), deadline, err) || !await(p, d, {pulsar::kPong}, deadline, got, err)) {
      hops.push_back(hop("round trip", false, ms_since(t0), "PING " + std::to_string(i + 1) + ": " + err,
                         "the connection through the Exchange broke while idle-free: the broker or the Exchange reset it"));
      return finish();
    }
    rtt.push_back(ms_since(t0));
  }
  std::sort(rtt.begin(), rtt.end());
  double p50 = rtt[rtt.size() / 2], p90 = rtt[std::min(rtt.size() - 1, rtt.size() * 9 / 10)];
  hops.push_back(hop("round trip", true, p50,
                     "p50 " + fmt_ms(p50) + ", p90 " + fmt_ms(p90) + " over " + std::to_string(rtt.size()) + " PING/PONG"));
  // throughput: one CONNECT carrying `payload` bytes, on a fresh connection
  size_t payload = o.payload;
  if (broker_max > 0 && payload + 1024 > static_cast<size_t>(broker_max)) payload = static_cast<size_t>(broker_max) / 2;
  {
    TlsPath q;
    pulsar::Decoder qd;
    std::string e2;
    t0 = Clock::now();
    if (!q.open_quiet(t, e2) || !pulsar_connect(q, qd, payload, o.timeout, got, e2)) {
      hops.push_back(hop("throughput", false, ms_since(t0), fmt_bytes(double(payload)) + ": " + e2,
                         "a " + fmt_bytes(double(payload)) + " frame does not pass: see the largest message hop"));
    } else {
      double ms = ms_since(t0);
      hops.push_back(hop("throughput", true, ms,
                         fmt_bytes(double(payload) / (ms / 1000.0)) + "/s (" + fmt_bytes(double(payload)) + " in " +
                             fmt_ms(ms) + ", including the TLS handshake)"));
    }
  }
  // largest message: doubling frame sizes until one does not pass
  if (o.max_message > 0) {
    size_t passed = 0, failed = 0;
    std::string why;
    t0 = Clock::now();
    for (size_t s = 64u << 10; s <= o.max_message; s *= 2) {
      TlsPath q;
      pulsar::Decoder qd;
      std::string e2;
      if (!q.open_quiet(t, e2) || !pulsar_connect(q, qd, s, o.timeout, got, e2)) {
        failed = s;
        why = e2;
        break;
      }
      passed = s;
      if (s > o.max_message / 2) break;
    }
    Hop h = hop("largest message", failed == 0, ms_since(t0), "");
    if (failed == 0) {
      h.detail = fmt_bytes(double(passed)) + " passes (tried up to " + fmt_bytes(double(o.max_message)) + ")";
    } else {
      h.detail = (passed ? fmt_bytes(double(passed)) + " passes, " : std::string("")) + fmt_bytes(double(failed)) +
                 " does not (" + why + ")";
      if (passed >= (1u << 20)) h.result = "warning";
      h.fix = broker_max > 0 && static_cast<long long>(failed) > broker_max
                  ? "the broker's limit is " + fmt_bytes(double(broker_max)) +
                        ": FATE sends larger messages -- raise maxMessageSize in the party's pulsar standalone.conf "
                        "(KubeFATE sets 128 MiB)"
                  : "a frame of " + fmt_bytes(double(failed)) + " is cut on the way although the broker accepts it: "
                        "something between this machine and the broker limits message size (a proxy or middlebox)";
    }
    hops.push_back(h);
  }
  // idle connection: a fresh connection (so it is idle exactly from here), held idle answering the
  // broker's PINGs, then PING
  if (o.idle.count() > 0) {
    p.close();
    TlsPath ip;
    pulsar::Decoder id;
    std::string e2;
    if (!ip.open_quiet(t, e2) || !pulsar_connect(ip, id, 0, o.timeout, got, e2)) {
      hops.push_back(hop("idle connection", false, 0, "a new connection: " + e2, connect_fix(e2)));
      return finish();
    }
    t0 = Clock::now();
    auto until = Clock::now() + o.idle;
    bool alive = true;
    char buf[4096];
    while (Clock::now() < until) {
      long n = ip.read(buf, sizeof buf, until, e2);
      if (n == 0 || (n < 0 && e2 != "timed out")) {
        alive = false;
        break;
      }
      if (n > 0) {
        id.feed(std::string_view(buf, static_cast<size_t>(n)));
        while (auto c = id.next())
          if (c->type == pulsar::kPing && !ip.write(pulsar::pong_frame(), until + o.timeout, e2)) alive = false;
      }
    }
    double idle_ms = ms_since(t0);
    if (alive) {
      auto deadline = Clock::now() + o.timeout;
      alive = ip.write(pulsar::ping_frame(), deadline, e2) && await(ip, id, {pulsar::kPong}, deadline, got, e2);
    }
    if (alive) {
      hops.push_back(hop("idle connection", true, idle_ms, "still answers PING after " + fmt_ms(idle_ms) + " idle"));
    } else {
      hops.push_back(hop("idle connection", false, idle_ms,
                         "closed after " + fmt_ms(idle_ms) + " idle (" + e2 + ")",
                         "an idle connection through the Exchange does not survive " + fmt_ms(double(o.idle.count())) +
                             ": Traffic Server closes tunnels idle longer than proxy.config.http.transaction_no_activity_timeout_in/_out, "
                             "and Pulsar only pings every keepAliveIntervalSeconds (30 s): keep the Exchange's timeouts above it"));
    }
  }
  return finish();
}

std::vector<Hop> probe_tcp_path(const std::string& host, int port, const std::string& what, std::chrono::milliseconds timeout,
                                int rounds) {
  std::vector<Hop> hops;
  auto t0 = Clock::now();
  AddrList al;
  std::string err;
  if (!resolve(host, port, al, err)) {
    hops.push_back(hop("dns", false, ms_since(t0), what + ": cannot resolve " + host + ": " + err,
                       "fix name resolution, or use an IP address in the federation file"));
    return hops;
  }
  hops.push_back(hop("dns", true, ms_since(t0), what + ": " + host + " -> " + addr_text(al.ai)));
  std::vector<double> times;
  for (int i = 0; i < std::max(1, rounds); ++i) {
    t0 = Clock::now();
    bool refused = false;
    int fd = connect_by(al.ai, Clock::now() + timeout, err, refused);
    if (fd < 0) {
      hops.push_back(hop("tcp connect", false, ms_since(t0), what + " " + host + ":" + std::to_string(port) + ": " + err,
                         refused ? "nothing listens there: the Service's NodePort or its pods are down"
                                 : "no answer: a firewall drops it, or the node address is not reachable"));
      return hops;
    }
    times.push_back(ms_since(t0));
    ::close(fd);
  }
  std::sort(times.begin(), times.end());
  hops.push_back(hop("tcp connect", true, times.front(), what + " " + host + ":" + std::to_string(port)));
  hops.push_back(hop("round trip", true, times[times.size() / 2],
                     "p50 " + fmt_ms(times[times.size() / 2]) + " over " + std::to_string(times.size()) + " TCP connects"));
  return hops;
}

}  // namespace fatectl::federation
