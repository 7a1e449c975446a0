#include "fatectl/fed/tls_channel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/fed/certs.h"
#include "ossl.h"

namespace fatectl::fed {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::uint32_t kMagic = 0x46544631;  // "FTF1"
constexpr size_t kHeader = 48;
enum FrameType : std::uint8_t { kHello = 1, kWelcome = 2, kData = 3, kAck = 4, kError = 5 };
enum : std::uint8_t { kFirst = 1, kLast = 2 };

/// A connection-level failure. `fatal`: retrying cannot help (certificates, refusal).
struct ConnFail : std::runtime_error {
  bool fatal;
  ErrorKind kind;
  ConnFail(const std::string& m, bool f, ErrorKind k = ErrorKind::Unreachable) : std::runtime_error(m), fatal(f), kind(k) {}
};

struct Header {
  std::uint8_t type = 0, flags = 0;
  std::uint16_t name_len = 0, job_len = 0;
  std::int64_t sender = 0, receiver = 0;
  std::uint64_t seq = 0, total = 0;
  std::uint32_t payload_len = 0;
};

void put(char*& p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) *p++ = (char)((v >> (8 * i)) & 0xff);
}
std::uint64_t get(const char*& p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | (unsigned char)*p++;
  return v;
}

void encode_header(const Header& h, char* out) {
  char* p = out;
  put(p, kMagic, 4);
  put(p, h.type, 1);
  put(p, h.flags, 1);
  put(p, h.name_len, 2);
  put(p, h.job_len, 2);
  put(p, 0, 2);
  put(p, (std::uint64_t)h.sender, 8);
  put(p, (std::uint64_t)h.receiver, 8);
  put(p, h.seq, 8);
  put(p, h.total, 8);
  put(p, h.payload_len, 4);
}

bool decode_header(const char* in, Header& h) {
  const char* p = in;
  if (get(p, 4) != kMagic) return false;
  h.type = (std::uint8_t)get(p, 1);
  h.flags = (std::uint8_t)get(p, 1);
  h.name_len = (std::uint16_t)get(p, 2);
  h.job_len = (std::uint16_t)get(p, 2);
  get(p, 2);
  h.sender = (std::int64_t)get(p, 8);
  h.receiver = (std::int64_t)get(p, 8);
  h.seq = get(p, 8);
  h.total = get(p, 8);
  h.payload_len = (std::uint32_t)get(p, 4);
  return true;
}

/// A whole frame in one buffer; the payload area is left for the caller when `payload` is null.
std::string make_frame(Header h, const std::string& job, const std::string& name, const char* payload, size_t n) {
  h.job_len = (std::uint16_t)job.size();
  h.name_len = (std::uint16_t)name.size();
  h.payload_len = (std::uint32_t)n;
  std::string f(kHeader + job.size() + name.size() + n, '\0');
  encode_header(h, f.data());
  std::memcpy(f.data() + kHeader, job.data(), job.size());
  std::memcpy(f.data() + kHeader + job.size(), name.data(), name.size());
  if (payload && n) std::memcpy(f.data() + kHeader + job.size() + name.size(), payload, n);
  return f;
}

std::string sys_error(int e) { return std::strerror(e); }

std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, (sockaddr*)&ss, &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = (sockaddr_in*)&ss;
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  auto* a = (sockaddr_in6*)&ss;
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  port = ntohs(a->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

void tune_socket(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

int remaining_ms(Clock::time_point deadline) {
  auto d = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return d < 0 ? 0 : (int)std::min<long long>(d, 1 << 30);
}

/// Waits for `events` on fd until the deadline; throws a transient ConnFail on timeout.
void wait_fd(int fd, short events, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    pollfd p{fd, events, 0};
    int ms = remaining_ms(deadline);
    int r = ::poll(&p, 1, ms);
    if (r > 0) return;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw ConnFail(what + ": timed out", false, ErrorKind::Timeout);
    throw ConnFail(what + ": poll: " + sys_error(errno), false);
  }
}

int connect_tcp(const Endpoint& ep, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res);
  if (rc != 0) throw ConnFail("cannot resolve " + ep.host + ": " + gai_strerror(rc), false);
  std::string last = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) { last = sys_error(errno); continue; }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      try {
        wait_fd(fd, POLLOUT, deadline, "connect to " + ep.str());
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) {
          ::freeaddrinfo(res);
          tune_socket(fd);
          return fd;
        }
        last = sys_error(err);
      } catch (const ConnFail& f) {
        last = f.what();
      }
    } else {
      last = sys_error(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  throw ConnFail("connect to " + ep.str() + ": " + last, false);
}

/// Text for a failed SSL call, including the certificate verification result when there is one.
std::string ssl_failure(SSL* ssl, int err, int saved_errno) {
  std::string q = ossl::errors();
  long v = SSL_get_verify_result(ssl);
  std::string s;
  if (err == SSL_ERROR_SYSCALL) s = saved_errno ? sys_error(saved_errno) : "connection closed by the peer";
  else if (err == SSL_ERROR_ZERO_RETURN) s = "connection closed by the peer";
  else s = q.empty() ? "TLS error " + std::to_string(err) : q;
  if (v != X509_V_OK && s.find("verify") != std::string::npos)
    s += " (" + std::string(X509_verify_cert_error_string(v)) + ")";
  return s;
}

/// Runs a non-blocking SSL operation to completion (or deadline).
template <typename F>
int drive(SSL* ssl, int fd, Clock::time_point deadline, const std::string& what, F op) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = op();
    if (r > 0) return r;
    int saved = errno;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) wait_fd(fd, POLLIN, deadline, what);
    else if (e == SSL_ERROR_WANT_WRITE) wait_fd(fd, POLLOUT, deadline, what);
    else {
      std::string msg = ssl_failure(ssl, e, saved);
      bool alert = msg.find("alert") != std::string::npos;
      bool verify = msg.find("verify") != std::string::npos;
      throw ConnFail(what + ": " + msg, alert || verify);
    }
  }
}

void write_all(SSL* ssl, int fd, const std::string& data, Clock::time_point deadline, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    size_t n = 0;
    drive(ssl, fd, deadline, what, [&] { return SSL_write_ex(ssl, data.data() + off, data.size() - off, &n); });
    off += n;
  }
}

void read_exact(SSL* ssl, int fd, char* buf, size_t n, Clock::time_point deadline, const std::string& what) {
  size_t off = 0;
  while (off < n) {
    size_t got = 0;
    drive(ssl, fd, deadline, what, [&] { return SSL_read_ex(ssl, buf + off, n - off, &got); });
    off += got;
  }
}

/// One message being received (assembled in place, once).
struct Incoming {
  std::string data;
  std::uint64_t total = 0, received = 0;
  bool complete = false, claimed = false;
};

/// What a receiver remembers about one sending peer across connections.
struct InState {
  std::uint64_t session = 0;
  std::uint64_t applied = 0;  ///< last DATA sequence number applied
  std::shared_ptr<Incoming> current;
  std::string current_name;
  std::uint64_t gen = 0;      ///< generation of the connection allowed to apply frames
  int active_fd = -1;
  bool active = false;
};

struct OutFrame {
  std::uint64_t seq;
  std::string bytes;
  std::uint64_t payload;
};

/// The sending side towards one peer: queue of unacknowledged frames and its I/O thread.
struct Outbound {
  long peer = 0;
  Route route;
  std::mutex send_mu;  // one message at a time, so a message's frames are contiguous
  std::deque<OutFrame> q;
  std::uint64_t next_seq = 1, acked = 0, q_bytes = 0, high_sent = 0;
  std::string fatal;
  ErrorKind fatal_kind = ErrorKind::Unreachable;
  std::thread th;
  int wake = -1;
  bool connected = false;
};

}  // namespace

struct TlsChannel::Impl {
  TlsOptions o;
  ossl::SslCtx ctx;
  std::string self_name;
  int listen_fd = -1, port = 0, stop_fd = -1;
  std::atomic<bool> stopping{false};
  bool closed = false;
  std::uint64_t session = 0;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<long, std::unique_ptr<Outbound>> out;
  std::map<long, InState> in;
  std::map<std::pair<long, std::string>, std::deque<std::shared_ptr<Incoming>>> boxes;
  ChannelStats st;
  std::vector<std::string> refused;
  std::thread acceptor;
  std::vector<std::thread> inbound;

  std::string who() const { return "party " + std::to_string(o.self); }

  // ---------------------------------------------------------------- setup
  void setup_tls() {
    ctx.reset(SSL_CTX_new(TLS_method()));
    if (!ctx) throw failed("TLS: cannot create a context: " + ossl::errors());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1)
      throw invalid(o.ca_file + ": cannot load the federation CA certificate (" + ossl::errors() + ")");
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1)
      throw invalid(o.cert_file + ": cannot load this party's certificate (" + ossl::errors() +
                    "); issue one with `fatectl certs issue --party " + std::to_string(o.self) + "`");
    check_private_key_file(o.key_file);
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw invalid(o.key_file + ": cannot load this party's private key (" + ossl::errors() + ")");
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
      throw invalid(o.key_file + ": the key does not match " + o.cert_file);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    // Our own certificate must carry our name, or peers will refuse us.
    X509* mine = SSL_CTX_get0_certificate(ctx.get());
    if (X509_check_host(mine, self_name.c_str(), self_name.size(), 0, nullptr) != 1)
      throw invalid(o.cert_file + ": certificate is for '" + ossl::common_name(mine) + "', not " + self_name);
  }

  void start_listener() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* res = nullptr;
    std::string host = o.listen.host == "*" ? "0.0.0.0" : o.listen.host;
    int rc = ::getaddrinfo(host.c_str(), std::to_string(o.listen.port).c_str(), &hints, &res);
    if (rc != 0) throw invalid("listen address " + o.listen.str() + ": " + gai_strerror(rc));
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      int e = errno;
      ::freeaddrinfo(res);
      if (fd >= 0) ::close(fd);
      throw failed(who() + ": cannot listen on " + o.listen.str() + ": " + sys_error(e));
    }
    ::freeaddrinfo(res);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, (sockaddr*)&ss, &len);
    port = ss.ss_family == AF_INET ? ntohs(((sockaddr_in*)&ss)->sin_port) : ntohs(((sockaddr_in6*)&ss)->sin6_port);
    listen_fd = fd;
    stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    acceptor = std::thread([this] { accept_loop(); });
  }

  // ---------------------------------------------------------------- receiving side
  void refuse(const std::string& msg) {
    log::warn("{}: {}", who(), msg);
    std::lock_guard<std::mutex> l(mu);
    refused.push_back(msg);
  }

  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      int r = ::poll(p, 2, -1);
      if (stopping) return;
      if (r <= 0) continue;
      if (!(p[0].revents & POLLIN)) continue;
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      tune_socket(fd);
      std::lock_guard<std::mutex> l(mu);
      inbound.emplace_back([this, fd] { serve_connection(fd); });
    }
  }

  /// Sends an ERROR frame, half-closes, and drains briefly so the peer can read it.
  void send_error_and_close(SSL* ssl, int fd, long peer, const std::string& msg) {
    Header h;
    h.type = kError;
    h.sender = o.self;
    h.receiver = peer;
    std::string f = make_frame(h, o.job_id, "", msg.data(), msg.size());
    try {
      write_all(ssl, fd, f, Clock::now() + milliseconds(2000), "error frame");
    } catch (const ConnFail&) {
    }
    ::shutdown(fd, SHUT_WR);
    auto deadline = Clock::now() + milliseconds(2000);
    char buf[16384];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
    }
  }

  /// Parses "<id>.<domain>" from a certificate that must name a party of this job.
  long party_of_cert(X509* cert) {
    std::string cn = ossl::common_name(cert);
    std::string suffix = "." + o.domain;
    if (cn.size() <= suffix.size() || cn.compare(cn.size() - suffix.size(), suffix.size(), suffix) != 0) return 0;
    std::string id = cn.substr(0, cn.size() - suffix.size());
    if (id.empty() || id.size() > 15 || id.find_first_not_of("0123456789") != std::string::npos) return 0;
    long p = std::stol(id);
    std::string host = party_host_name(p, o.domain);
    if (X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) != 1) return 0;
    return p;
  }

  void serve_connection(int fd) {
    std::string addr = peer_address(fd);
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, fd);
    SSL_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_set_accept_state(ssl);
    long peer = 0;
    std::uint64_t my_gen = 0;
    bool registered = false;
    try {
      auto deadline = Clock::now() + o.transport.handshake_timeout;
      try {
        drive(ssl, fd, deadline, "TLS handshake", [&] { return SSL_accept(ssl); });
      } catch (const ConnFail& f) {
        if (f.fatal) refuse("refused a connection from " + addr + ": " + f.what());
        else log::debug("{}: connection from {} dropped during the handshake: {}", who(), addr, f.what());
        throw;
      }
      X509* cert = SSL_get0_peer_certificate(ssl);
      peer = party_of_cert(cert);
      if (peer == 0 || !o.parties.count(peer) || peer == o.self) {
        std::string msg = "refused a connection from " + addr + ": its certificate names '" + ossl::common_name(cert) +
                          "', which is not another party of job " + o.job_id + " in domain " + o.domain;
        refuse(msg);
        send_error_and_close(ssl, fd, peer, msg);
        throw ConnFail(msg, true);
      }
      const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
      if (sni && self_name != sni) {
        std::string msg = "refused a connection from party " + std::to_string(peer) + " (" + addr + "): it asked for " +
                          sni + " but this is " + self_name + " (check the route or the Exchange's sni table)";
        refuse(msg);
        send_error_and_close(ssl, fd, peer, msg);
        throw ConnFail(msg, true);
      }
      // HELLO
      char hb[kHeader];
      read_exact(ssl, fd, hb, kHeader, deadline, "hello");
      Header h;
      if (!decode_header(hb, h) || h.type != kHello || h.payload_len != 0 || h.name_len != 0 || h.job_len > 256)
        throw ConnFail("party " + std::to_string(peer) + " (" + addr + ") did not start with a hello frame", false);
      std::string job(h.job_len, '\0');
      read_exact(ssl, fd, job.data(), job.size(), deadline, "hello");
      if (job != o.job_id || h.receiver != o.self || h.sender != peer) {
        std::string msg = "refused party " + std::to_string(peer) + " (" + addr + "): it runs job '" + job + "' as party " +
                          std::to_string(h.sender) + " towards party " + std::to_string(h.receiver) + ", this is job '" +
                          o.job_id + "', party " + std::to_string(o.self);
        refuse(msg);
        send_error_and_close(ssl, fd, peer, msg);
        throw ConnFail(msg, true);
      }
      std::uint64_t welcome_seq;
      {
        std::unique_lock<std::mutex> l(mu);
        InState& s = in[peer];
        if (s.active) {  // a newer connection replaces an older one: stop the old reader first
          ::shutdown(s.active_fd, SHUT_RDWR);
          cv.wait_for(l, milliseconds(5000), [&] { return !s.active; });
        }
        if (s.session != h.total) {
          if (s.session != 0)
            log::warn("{}: party {} restarted (new session); its unfinished message is dropped", who(), peer);
          s.session = h.total;
          s.applied = 0;
          s.current.reset();
        }
        s.gen++;
        s.active = true;
        s.active_fd = fd;
        my_gen = s.gen;
        registered = true;
        welcome_seq = s.applied;
      }
      Header w;
      w.type = kWelcome;
      w.sender = o.self;
      w.receiver = peer;
      w.seq = welcome_seq;
      write_all(ssl, fd, make_frame(w, o.job_id, "", nullptr, 0), deadline, "welcome");
      log::debug("{}: accepted party {} from {} (resuming after frame {})", who(), peer, addr, welcome_seq);
      receive_loop(ssl, fd, peer, my_gen, addr);
    } catch (const ConnFail& f) {
      if (peer) log::debug("{}: connection from party {} ended: {}", who(), peer, f.what());
    } catch (const std::exception& e) {
      log::warn("{}: connection from {}: {}", who(), addr, e.what());
    }
    if (registered) {
      std::lock_guard<std::mutex> l(mu);
      InState& s = in[peer];
      if (s.gen == my_gen) { s.active = false; s.active_fd = -1; }
      cv.notify_all();
    }
    SSL_shutdown(ssl);
    SSL_free(ssl);
    ::close(fd);
  }

  /// Reads DATA frames from one authenticated peer, applies them once, and acknowledges them.
  void receive_loop(SSL* ssl, int fd, long peer, std::uint64_t gen, const std::string& addr) {
    const std::string from = "party " + std::to_string(peer);
    char hb[kHeader];
    size_t hgot = 0;
    Header h;
    std::string meta;
    size_t meta_got = 0;
    int stage = 0;  // 0 header, 1 meta, 2 payload
    char* dst = nullptr;
    size_t pgot = 0;
    bool dup = false;
    std::string scratch;
    std::shared_ptr<Incoming> fresh;  // a FIRST frame's message, published once its chunk is in
    std::shared_ptr<Incoming> cur;
    std::string ack;
    size_t ack_off = 0;
    std::uint64_t acked_sent = 0;
    bool ack_due = false;
    std::uint64_t since_ack = 0;
    const std::uint64_t ack_every = std::max<std::uint64_t>(o.transport.window_bytes / 4, 1);

    auto finish_frame = [&] {
      std::lock_guard<std::mutex> l(mu);
      InState& s = in[peer];
      if (s.gen != gen) throw ConnFail("replaced by a newer connection", false);
      if (dup) {
        st.duplicates_dropped++;
      } else {
        if (h.flags & kFirst) {
          boxes[{peer, s.current_name}].push_back(fresh);
          s.current = fresh;
          cur = fresh;
          fresh.reset();
        }
        cur->received += h.payload_len;
        s.applied = h.seq;
        st.frames_received++;
        st.bytes_received += h.payload_len;
        if (h.flags & kLast) {
          cur->complete = true;
          s.current.reset();
          cur.reset();
        }
        cv.notify_all();
      }
      ack_due = true;
      since_ack += h.payload_len + kHeader;
    };

    auto begin_payload = [&] {
      std::string job = meta.substr(0, h.job_len), name = meta.substr(h.job_len);
      if (job != o.job_id) throw ConnFail(from + " sent a frame for job '" + job + "'", false);
      std::lock_guard<std::mutex> l(mu);
      InState& s = in[peer];
      if (s.gen != gen) throw ConnFail("replaced by a newer connection", false);
      dup = h.seq <= s.applied;
      if (dup) {
        scratch.resize(h.payload_len);
        dst = scratch.data();
        return;
      }
      if (h.seq != s.applied + 1)
        throw ConnFail(from + " skipped from frame " + std::to_string(s.applied) + " to " + std::to_string(h.seq), false);
      if (h.flags & kFirst) {
        if (s.current) throw ConnFail(from + " started '" + name + "' before finishing '" + s.current_name + "'", false);
        if (h.total > o.transport.max_message_bytes)
          throw ConnFail(from + " sent a message of " + std::to_string(h.total) + " bytes, over this party's limit of " +
                             std::to_string(o.transport.max_message_bytes) + " (transport.maxMessageBytes)",
                         true, ErrorKind::Failed);
        if (h.payload_len > h.total) throw ConnFail(from + " sent a chunk larger than its message", false);
        fresh = std::make_shared<Incoming>();
        fresh->total = h.total;
        fresh->data.resize(h.total);
        s.current_name = name;
        dst = fresh->data.data();
      } else {
        if (!s.current || name != s.current_name)
          throw ConnFail(from + " continued a message it never started ('" + name + "')", false);
        cur = s.current;
        if (h.payload_len > cur->total - cur->received) throw ConnFail(from + " overran message '" + name + "'", false);
        dst = cur->data.data() + cur->received;
      }
    };

    for (;;) {
      if (stopping && !ack_due && ack.empty()) return;
      bool want_write = false;
      // 1. read what is available (stopping early to acknowledge; then do not wait in poll)
      size_t read_budget = ack_every;
      bool drained = false;
      for (;;) {
        char* buf;
        size_t want;
        if (stage == 0) { buf = hb + hgot; want = kHeader - hgot; }
        else if (stage == 1) { buf = meta.data() + meta_got; want = meta.size() - meta_got; }
        else { buf = dst + pgot; want = h.payload_len - pgot; }
        size_t got = 0;
        int r = want == 0 ? 1 : (ERR_clear_error(), errno = 0, SSL_read_ex(ssl, buf, want, &got));
        if (r <= 0) {
          int saved = errno;
          int e = SSL_get_error(ssl, r);
          if (e == SSL_ERROR_WANT_READ) { drained = true; break; }
          if (e == SSL_ERROR_WANT_WRITE) { want_write = true; drained = true; break; }
          if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved == 0)) return;  // peer closed
          throw ConnFail(from + ": " + ssl_failure(ssl, e, saved), false);
        }
        if (stage == 0) {
          hgot += got;
          if (hgot < kHeader) continue;
          hgot = 0;
          if (!decode_header(hb, h)) throw ConnFail(from + " (" + addr + ") sent garbage (bad frame magic)", false);
          std::uint64_t frame = kHeader + (std::uint64_t)h.job_len + h.name_len + h.payload_len;
          if (frame > o.transport.max_frame_bytes) {
            std::string msg = "party " + std::to_string(o.self) + " refused a frame of " + std::to_string(frame) +
                              " bytes from party " + std::to_string(peer) + ": over its limit of " +
                              std::to_string(o.transport.max_frame_bytes) + " bytes (transport.maxFrameBytes)";
            refuse(msg);
            send_error_and_close(ssl, fd, peer, msg);
            throw ConnFail(msg, true, ErrorKind::Failed);
          }
          if (h.type != kData || h.sender != peer || h.receiver != o.self || h.name_len == 0)
            throw ConnFail(from + " sent an unexpected frame (type " + std::to_string(h.type) + ")", false);
          meta.assign(h.job_len + h.name_len, '\0');
          meta_got = 0;
          stage = 1;
          if (meta.empty()) continue;
        } else if (stage == 1) {
          meta_got += got;
          if (meta_got < meta.size()) continue;
          try {
            begin_payload();
          } catch (const ConnFail& f) {
            if (f.fatal) {
              refuse(f.what());
              send_error_and_close(ssl, fd, peer, f.what());
            }
            throw;
          }
          pgot = 0;
          stage = 2;
          if (h.payload_len == 0) {
            finish_frame();
            stage = 0;
          }
        } else {
          pgot += got;
          if (pgot < h.payload_len) {
            if (got >= read_budget) break;
            read_budget -= got;
            continue;
          }
          finish_frame();
          stage = 0;
          if (since_ack >= ack_every) break;
        }
      }
      // 2. acknowledge
      if (ack.empty() && ack_due) {
        std::uint64_t applied;
        {
          std::lock_guard<std::mutex> l(mu);
          applied = in[peer].applied;
        }
        if (applied != acked_sent || since_ack > 0) {
          Header a;
          a.type = kAck;
          a.sender = o.self;
          a.receiver = peer;
          a.seq = applied;
          ack = make_frame(a, o.job_id, "", nullptr, 0);
          ack_off = 0;
          acked_sent = applied;
        }
        ack_due = false;
        since_ack = 0;
      }
      if (!ack.empty()) {
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_write_ex(ssl, ack.data() + ack_off, ack.size() - ack_off, &n);
        if (r > 0) {
          ack_off += n;
          if (ack_off == ack.size()) ack.clear();
        } else {
          int saved = errno;
          int e = SSL_get_error(ssl, r);
          if (e == SSL_ERROR_WANT_WRITE) want_write = true;
          else if (e != SSL_ERROR_WANT_READ) throw ConnFail(from + ": " + ssl_failure(ssl, e, saved), false);
        }
      }
      // 3. wait (readable, or writable while an acknowledgement is pending)
      if (!drained || SSL_pending(ssl) > 0) continue;
      pollfd p{fd, (short)(POLLIN | (want_write || !ack.empty() ? POLLOUT : 0)), 0};
      int r = ::poll(&p, 1, 100);
      if (r < 0 && errno != EINTR) throw ConnFail(from + ": poll: " + sys_error(errno), false);
      {
        std::lock_guard<std::mutex> l(mu);
        if (in[peer].gen != gen) return;
      }
    }
  }

  // ---------------------------------------------------------------- sending side
  Outbound& outbound(long to) {
    std::lock_guard<std::mutex> l(mu);
    auto it = out.find(to);
    if (it != out.end()) return *it->second;
    if (!o.parties.count(to)) throw invalid(who() + ": party " + std::to_string(to) + " is not in job " + o.job_id);
    auto r = o.routes.find(to);
    if (r == o.routes.end()) throw invalid(who() + ": no route to party " + std::to_string(to));
    auto ob = std::make_unique<Outbound>();
    ob->peer = to;
    ob->route = r->second;
    ob->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    Outbound* raw = ob.get();
    ob->th = std::thread([this, raw] { sender_thread(*raw); });
    return *out.emplace(to, std::move(ob)).first->second;
  }

  void wake(Outbound& ob) {
    std::uint64_t one = 1;
    ssize_t n = ::write(ob.wake, &one, sizeof one);
    (void)n;
  }

  [[noreturn]] void throw_fatal(const Outbound& ob) {
    throw Error(ob.fatal_kind, ob.fatal);
  }

  /// Queues one frame, waiting for window space.
  void enqueue(Outbound& ob, std::string frame, std::uint64_t payload, Clock::time_point deadline,
               const std::string& name) {
    std::unique_lock<std::mutex> l(mu);
    bool ok = cv.wait_until(l, deadline, [&] {
      return stopping || !ob.fatal.empty() || ob.q.empty() || ob.q_bytes + frame.size() <= o.transport.window_bytes;
    });
    if (!ob.fatal.empty()) throw_fatal(ob);
    if (stopping) throw failed(who() + ": channel closed while sending '" + name + "'");
    if (!ok)
      throw timed_out(who() + ": sending '" + name + "' to party " + std::to_string(ob.peer) + ": no acknowledgement within " +
                      format_duration(o.transport.message_timeout) + " (" + std::to_string(ob.q.size()) + " frames in flight via " +
                      ob.route.str() + ")");
    ob.q_bytes += frame.size();
    ob.q.push_back(OutFrame{ob.next_seq, std::move(frame), payload});
    ob.next_seq++;
    l.unlock();
    cv.notify_all();
    wake(ob);
  }

  void check_name(const std::string& name) {
    if (name.empty() || name.size() > 1024) throw invalid(who() + ": message names are 1-1024 bytes");
  }

  void deliver_local(const std::string& name, std::string data) {
    auto inc = std::make_shared<Incoming>();
    inc->total = data.size();
    inc->received = data.size();
    inc->data = std::move(data);
    inc->complete = true;
    std::lock_guard<std::mutex> l(mu);
    boxes[{o.self, name}].push_back(inc);
    cv.notify_all();
  }

  void send_message(long to, const std::string& name, std::uint64_t total,
                    const std::function<void(char*, size_t)>& fill) {
    check_name(name);
    if (total > o.transport.max_message_bytes)
      throw invalid(who() + ": message '" + name + "' to party " + std::to_string(to) + " is " + std::to_string(total) +
                    " bytes, over the limit of " + std::to_string(o.transport.max_message_bytes) + " (transport.maxMessageBytes)");
    if (to == o.self) {
      std::string d(total, '\0');
      if (total) fill(d.data(), total);
      deliver_local(name, std::move(d));
      return;
    }
    Outbound& ob = outbound(to);
    std::lock_guard<std::mutex> sl(ob.send_mu);
    {
      std::lock_guard<std::mutex> l(mu);
      if (!ob.fatal.empty()) throw_fatal(ob);
    }
    const std::uint64_t chunk = o.transport.chunk_bytes;
    std::uint64_t off = 0;
    bool first = true;
    do {
      std::uint64_t n = std::min(chunk, total - off);
      Header h;
      h.type = kData;
      h.sender = o.self;
      h.receiver = to;
      h.seq = ob.next_seq;  // stable: only this thread (holding send_mu) advances it
      h.flags = (first ? kFirst : 0) | (off + n == total ? kLast : 0);
      h.total = total;
      std::string f = make_frame(h, o.job_id, name, nullptr, n);
      if (n) fill(f.data() + (f.size() - n), n);
      enqueue(ob, std::move(f), n, Clock::now() + o.transport.message_timeout, name);
      off += n;
      first = false;
    } while (off < total);
  }

  /// Connects, authenticates the peer, says hello and learns where to resume.
  std::pair<SSL*, int> open_connection(Outbound& ob) {
    const Route& r = ob.route;
    std::string to = "party " + std::to_string(ob.peer) + " via " + r.str();
    auto deadline = Clock::now() + o.transport.handshake_timeout;
    int fd = connect_tcp(r.endpoint, deadline);
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, r.sni.c_str());
    SSL_set_connect_state(ssl);
    try {
      try {
        drive(ssl, fd, deadline, "TLS handshake with " + to, [&] { return SSL_connect(ssl); });
      } catch (const ConnFail& f) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
          throw ConnFail("TLS handshake with " + to + ": its certificate is not trusted by the federation CA " + o.ca_file +
                             " (" + X509_verify_cert_error_string(v) + ")",
                         true);
        throw;
      }
      X509* cert = SSL_get0_peer_certificate(ssl);
      if (!cert || X509_check_host(cert, r.sni.c_str(), r.sni.size(), 0, nullptr) != 1)
        throw ConnFail("the peer reached via " + r.str() + " presented a certificate for '" + ossl::common_name(cert) +
                           "', not " + r.sni + ": refusing to send it party " + std::to_string(ob.peer) + "'s messages",
                       true);
      Header h;
      h.type = kHello;
      h.sender = o.self;
      h.receiver = ob.peer;
      h.total = session;
      write_all(ssl, fd, make_frame(h, o.job_id, "", nullptr, 0), deadline, "hello to " + to);
      char hb[kHeader];
      try {
        read_exact(ssl, fd, hb, kHeader, deadline, "welcome from " + to);
      } catch (const ConnFail& f) {
        std::string m = f.what();
        if (m.find("alert") != std::string::npos)
          throw ConnFail(to + " refused this party's certificate " + o.cert_file + " (" + m.substr(m.rfind(": ") + 2) + ")", true);
        throw;
      }
      Header w;
      if (!decode_header(hb, w)) throw ConnFail(to + " answered with garbage (not a fatectl party?)", false);
      std::string rest(w.job_len + w.name_len + (size_t)std::min<std::uint32_t>(w.payload_len, 65536), '\0');
      if (!rest.empty()) read_exact(ssl, fd, rest.data(), rest.size(), deadline, "welcome from " + to);
      if (w.type == kError) throw ConnFail(rest.substr(w.job_len + w.name_len), true, ErrorKind::Failed);
      if (w.type != kWelcome) throw ConnFail(to + " answered the hello with frame type " + std::to_string(w.type), false);
      std::lock_guard<std::mutex> l(mu);
      if (!ob.q.empty() && w.seq + 1 < ob.q.front().seq)
        throw ConnFail("party " + std::to_string(ob.peer) + " lost frames " + std::to_string(w.seq + 1) + ".." +
                           std::to_string(ob.q.front().seq - 1) + " (did it restart?)",
                       true, ErrorKind::Failed);
      ack_up_to(ob, w.seq);
      return {ssl, fd};
    } catch (...) {
      SSL_free(ssl);
      ::close(fd);
      throw;
    }
  }

  void ack_up_to(Outbound& ob, std::uint64_t seq) {  // mu held
    while (!ob.q.empty() && ob.q.front().seq <= seq) {
      ob.q_bytes -= ob.q.front().bytes.size();
      ob.q.pop_front();
    }
    if (seq > ob.acked) ob.acked = seq;
    cv.notify_all();
  }

  /// Writes queued frames and reads acknowledgements until the connection fails or we stop.
  void send_loop(Outbound& ob, SSL* ssl, int fd) {
    const std::string to = "party " + std::to_string(ob.peer);
    std::uint64_t next;  // sequence number of the next frame to write
    {
      std::lock_guard<std::mutex> l(mu);
      next = ob.q.empty() ? ob.next_seq : ob.q.front().seq;
    }
    const std::string* cur = nullptr;
    size_t off = 0;
    char hb[kHeader];
    size_t hgot = 0;
    Header h;
    std::string rest;
    size_t rgot = 0;
    int stage = 0;
    auto last_progress = Clock::now();
    std::uint64_t last_acked = ob.acked;
    for (;;) {
      bool want_write = false;
      // 1. read acks / errors
      for (;;) {
        char* buf = stage == 0 ? hb + hgot : rest.data() + rgot;
        size_t want = stage == 0 ? kHeader - hgot : rest.size() - rgot;
        size_t got = 0;
        ERR_clear_error();
        errno = 0;
        int r = want == 0 ? 1 : SSL_read_ex(ssl, buf, want, &got);
        if (r <= 0) {
          int saved = errno;
          int e = SSL_get_error(ssl, r);
          if (e == SSL_ERROR_WANT_READ) break;
          if (e == SSL_ERROR_WANT_WRITE) { want_write = true; break; }
          std::lock_guard<std::mutex> l(mu);
          if (ob.q.empty()) return;  // closed while idle: reconnect only when there is something to send
          throw ConnFail(to + ": " + ssl_failure(ssl, e, saved), false);
        }
        if (stage == 0) {
          hgot += got;
          if (hgot < kHeader) continue;
          hgot = 0;
          if (!decode_header(hb, h) || h.payload_len > 65536)
            throw ConnFail(to + " sent garbage on the acknowledgement stream", false);
          rest.assign(h.job_len + h.name_len + h.payload_len, '\0');
          rgot = 0;
          stage = 1;
        } else {
          rgot += got;
        }
        if (stage == 1 && rgot == rest.size()) {
          stage = 0;
          if (h.type == kError) throw ConnFail(rest.substr(h.job_len + h.name_len), true, ErrorKind::Failed);
          if (h.type != kAck) throw ConnFail(to + " sent an unexpected frame type " + std::to_string(h.type), false);
          std::lock_guard<std::mutex> l(mu);
          ack_up_to(ob, h.seq);
        }
      }
      // 2. write the next frames
      for (;;) {
        if (!cur) {
          std::lock_guard<std::mutex> l(mu);
          if (ob.acked != last_acked) { last_acked = ob.acked; last_progress = Clock::now(); }
          if (ob.q.empty() || next > ob.q.back().seq) break;
          if (next < ob.q.front().seq) next = ob.q.front().seq;
          const OutFrame& f = ob.q[next - ob.q.front().seq];
          cur = &f.bytes;
          off = 0;
          if (f.seq <= ob.high_sent) st.frames_resent++;
          else { st.frames_sent++; st.bytes_sent += f.payload; ob.high_sent = f.seq; }
        }
        size_t n = 0;
        ERR_clear_error();
        errno = 0;
        int r = SSL_write_ex(ssl, cur->data() + off, cur->size() - off, &n);
        if (r <= 0) {
          int saved = errno;
          int e = SSL_get_error(ssl, r);
          if (e == SSL_ERROR_WANT_WRITE) { want_write = true; break; }
          if (e == SSL_ERROR_WANT_READ) break;
          throw ConnFail(to + ": " + ssl_failure(ssl, e, saved), false);
        }
        off += n;
        if (off == cur->size()) { cur = nullptr; ++next; }
      }
      // 3. stop, stall detection, wait
      {
        std::lock_guard<std::mutex> l(mu);
        if (ob.acked != last_acked) { last_acked = ob.acked; last_progress = Clock::now(); }
        if (stopping && ob.q.empty()) return;
        if (stopping && !cur) return;  // close() gave up waiting for acks
        if (ob.q.empty()) last_progress = Clock::now();
        else if (Clock::now() - last_progress > o.transport.ack_timeout)
          throw ConnFail(to + ": no acknowledgement for " + format_duration(o.transport.ack_timeout), false);
      }
      pollfd p[2] = {{fd, (short)(POLLIN | (want_write ? POLLOUT : 0)), 0}, {ob.wake, POLLIN, 0}};
      int r = ::poll(p, 2, 100);
      if (r > 0 && (p[1].revents & POLLIN)) {
        std::uint64_t v;
        ssize_t nn = ::read(ob.wake, &v, sizeof v);
        (void)nn;
      }
    }
  }

  void sender_thread(Outbound& ob) {
    const std::string to = "party " + std::to_string(ob.peer);
    Clock::time_point fail_since{};
    bool ever = false;
    auto backoff = milliseconds(50);
    std::string last_error;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return stopping || !ob.q.empty(); });
        if (stopping) return;
      }
      try {
        auto [ssl, fd] = open_connection(ob);
        {
          std::lock_guard<std::mutex> l(mu);
          ob.connected = true;
          if (ever) st.reconnects++;
        }
        if (ever) log::info("{}: reconnected to {} via {}", who(), to, ob.route.str());
        else log::debug("{}: connected to {} via {}", who(), to, ob.route.str());
        ever = true;
        fail_since = {};
        backoff = milliseconds(50);
        try {
          send_loop(ob, ssl, fd);
        } catch (...) {
          {
            std::lock_guard<std::mutex> l(mu);
            ob.connected = false;
          }
          SSL_free(ssl);
          ::close(fd);
          throw;
        }
        {
          std::lock_guard<std::mutex> l(mu);
          ob.connected = false;
        }
        SSL_shutdown(ssl);
        SSL_free(ssl);
        ::close(fd);
        if (stopping) return;
      } catch (const ConnFail& f) {
        std::unique_lock<std::mutex> l(mu);
        if (f.fatal) {
          ob.fatal = f.what();
          ob.fatal_kind = f.kind;
          log::error("{}: {}", who(), ob.fatal);
          cv.notify_all();
          return;
        }
        if (fail_since == Clock::time_point{}) fail_since = Clock::now();
        last_error = f.what();
        if (Clock::now() - fail_since > o.transport.connect_timeout) {
          ob.fatal = who() + ": cannot reach " + to + " via " + ob.route.str() + " for " +
                     format_duration(o.transport.connect_timeout) + ": " + last_error;
          ob.fatal_kind = ErrorKind::Unreachable;
          log::error("{}", ob.fatal);
          cv.notify_all();
          return;
        }
        log::debug("{}: {} (retrying in {} ms)", who(), last_error, backoff.count());
        cv.wait_for(l, backoff, [&] { return stopping.load(); });
        backoff = std::min(backoff * 2, milliseconds(2000));
      }
    }
  }

  // ---------------------------------------------------------------- receiving API
  std::shared_ptr<Incoming> wait_message(long from, const std::string& name, milliseconds timeout, bool need_complete,
                                         std::unique_lock<std::mutex>& l) {
    auto key = std::make_pair(from, name);
    auto ready = [&] {
      auto it = boxes.find(key);
      if (it == boxes.end() || it->second.empty()) return false;
      auto& m = it->second.front();
      return !m->claimed && (!need_complete || m->complete);
    };
    // Messages from a peer we cannot talk to (refused certificate, unreachable) will not come:
    // fail the wait with that reason instead of sitting out the timeout.
    auto broken = [&]() -> const Outbound* {
      auto it = out.find(from);
      return it != out.end() && !it->second->fatal.empty() ? it->second.get() : nullptr;
    };
    if (!cv.wait_for(l, timeout, [&] { return ready() || stopping.load() || broken(); }) || !ready()) {
      if (const Outbound* b = broken()) throw_fatal(*b);
      if (stopping) throw failed(who() + ": channel closed while waiting for '" + name + "' from party " + std::to_string(from));
      auto it = boxes.find(key);
      std::string partial;
      if (it != boxes.end() && !it->second.empty())
        partial = " (" + std::to_string(it->second.front()->received) + " of " + std::to_string(it->second.front()->total) +
                  " bytes arrived)";
      throw timed_out(who() + ": no message '" + name + "' from party " + std::to_string(from) + " within " +
                      format_duration(timeout) + partial);
    }
    return boxes[key].front();
  }

  void pop(long from, const std::string& name) {  // mu held
    auto it = boxes.find({from, name});
    it->second.pop_front();
    if (it->second.empty()) boxes.erase(it);
  }

  void check_peer(long from) {
    if (!o.parties.count(from)) throw invalid(who() + ": party " + std::to_string(from) + " is not in job " + o.job_id);
  }
};

TlsOptions tls_options_for(const Job& job, long self) {
  const PartySpec& me = job.party(self);
  TlsOptions o;
  o.job_id = job.id;
  o.self = self;
  o.domain = job.domain;
  o.listen = me.listen;
  CertDir d{job.certs_dir};
  o.ca_file = d.ca_cert();
  o.cert_file = d.party_cert(self);
  o.key_file = d.party_key(self);
  for (const auto& p : job.parties) {
    o.parties.insert(p.id);
    if (p.id != self) o.routes[p.id] = job.route_to(p.id);
  }
  o.transport = job.transport;
  return o;
}

TlsChannel::TlsChannel(TlsOptions opts) : impl_(std::make_unique<Impl>()) {
  // A peer that goes away must be an error code on write, not the end of this process.
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  Impl& m = *impl_;
  m.o = std::move(opts);
  m.self_name = party_host_name(m.o.self, m.o.domain);
  if (m.o.transport.chunk_bytes + kHeader + 2048 > m.o.transport.max_frame_bytes)
    log::debug("party {}: chunkBytes close to maxFrameBytes", m.o.self);
  if (RAND_bytes((unsigned char*)&m.session, sizeof m.session) != 1 || m.session == 0) m.session = 1;
  m.setup_tls();
  if (m.o.listen_enabled) m.start_listener();
}

TlsChannel::~TlsChannel() {
  try {
    close();
  } catch (...) {
  }
}

long TlsChannel::self() const { return impl_->o.self; }
int TlsChannel::listen_port() const { return impl_->port; }

void TlsChannel::set_route(long party, const Route& route) {
  std::lock_guard<std::mutex> l(impl_->mu);
  if (impl_->out.count(party))
    throw invalid(impl_->who() + ": the route to party " + std::to_string(party) + " is already in use");
  impl_->o.routes[party] = route;
}

void TlsChannel::send(long to, const std::string& name, const Bytes& payload) {
  impl_->send_message(to, name, payload.size(), [&, off = (size_t)0](char* dst, size_t n) mutable {
    std::memcpy(dst, payload.data() + off, n);
    off += n;
  });
}

void TlsChannel::send_stream(long to, const std::string& name, std::uint64_t total, const Producer& fill) {
  impl_->send_message(to, name, total, [&](char* dst, size_t n) { fill(dst, n); });
}

Bytes TlsChannel::recv(long from, const std::string& name, std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  m.check_peer(from);
  std::unique_lock<std::mutex> l(m.mu);
  auto inc = m.wait_message(from, name, timeout, true, l);
  m.pop(from, name);
  return std::move(inc->data);
}

std::uint64_t TlsChannel::recv_stream(long from, const std::string& name, std::chrono::milliseconds timeout,
                                      const Consumer& consume) {
  Impl& m = *impl_;
  m.check_peer(from);
  std::unique_lock<std::mutex> l(m.mu);
  auto inc = m.wait_message(from, name, timeout, false, l);
  inc->claimed = true;
  std::uint64_t done = 0;
  try {
    for (;;) {
      if (done == inc->total && inc->complete) break;
      if (!m.cv.wait_for(l, timeout, [&] { return inc->received > done || m.stopping.load(); }))
        throw timed_out(m.who() + ": message '" + name + "' from party " + std::to_string(from) + " stalled at " +
                        std::to_string(done) + " of " + std::to_string(inc->total) + " bytes for " + format_duration(timeout));
      if (inc->received == done) throw failed(m.who() + ": channel closed while receiving '" + name + "'");
      std::uint64_t upto = inc->received;
      l.unlock();
      consume(std::string_view(inc->data.data() + done, upto - done));
      l.lock();
      done = upto;
    }
  } catch (...) {
    inc->claimed = false;
    throw;
  }
  m.pop(from, name);
  return done;
}

void TlsChannel::flush(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> l(m.mu);
  auto deadline = Clock::now() + timeout;
  for (;;) {
    bool pending = false;
    for (auto& [id, ob] : m.out) {
      if (!ob->fatal.empty()) m.throw_fatal(*ob);
      if (!ob->q.empty()) pending = true;
    }
    if (!pending) return;
    if (m.cv.wait_until(l, deadline) == std::cv_status::timeout) {
      for (auto& [id, ob] : m.out) {
        if (!ob->fatal.empty()) m.throw_fatal(*ob);
        if (!ob->q.empty())
          throw timed_out(m.who() + ": " + std::to_string(ob->q.size()) + " frames to party " + std::to_string(id) +
                          " not acknowledged within " + format_duration(timeout) + " (via " + ob->route.str() + ")");
      }
      return;
    }
  }
}

void TlsChannel::close() {
  Impl& m = *impl_;
  if (m.closed) return;
  m.closed = true;
  std::string err;
  try {
    flush(m.o.transport.close_timeout);
  } catch (const std::exception& e) {
    err = e.what();
  }
  m.stopping = true;
  m.cv.notify_all();
  {
    std::lock_guard<std::mutex> l(m.mu);
    for (auto& [id, ob] : m.out) m.wake(*ob);
  }
  if (m.stop_fd >= 0) {
    std::uint64_t one = 1;
    ssize_t n = ::write(m.stop_fd, &one, sizeof one);
    (void)n;
  }
  if (m.acceptor.joinable()) m.acceptor.join();
  for (auto& [id, ob] : m.out)
    if (ob->th.joinable()) ob->th.join();
  std::vector<std::thread> in;
  {
    std::lock_guard<std::mutex> l(m.mu);
    in.swap(m.inbound);
  }
  for (auto& t : in) t.join();
  for (auto& [id, ob] : m.out)
    if (ob->wake >= 0) ::close(ob->wake);
  if (m.listen_fd >= 0) ::close(m.listen_fd);
  if (m.stop_fd >= 0) ::close(m.stop_fd);
  m.listen_fd = m.stop_fd = -1;
  if (!err.empty()) throw failed(err);
}

ChannelStats TlsChannel::stats() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->st;
}

std::vector<std::string> TlsChannel::refusals() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->refused;
}

}  // namespace fatectl::fed
