// One TLS connection's plumbing: TCP connect, OpenSSL calls driven to completion, FrameReader
// (see tls_connection.h).
#include "tls_connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace fatectl::fed {

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
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return d < 0 ? 0 : (int)std::min<long long>(d, 1 << 30);
}

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
  if (rc != 0)
    throw ConnFail("cannot resolve " + ep.host + ": " + gai_strerror(rc), false, ErrorKind::Unreachable, Reach::FirstHopDown);
  std::string last = "no address";
  bool all_refused = res != nullptr;
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) { last = sys_error(errno); all_refused = false; continue; }
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
        if (err != ECONNREFUSED) all_refused = false;
      } catch (const ConnFail& f) {
        last = f.what();
        all_refused = false;
      }
    } else {
      if (errno != ECONNREFUSED) all_refused = false;
      last = sys_error(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  throw ConnFail("connect to " + ep.str() + ": " + last, false, ErrorKind::Unreachable,
                 all_refused ? Reach::Refused : Reach::FirstHopDown);
}

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

void write_all(SSL* ssl, int fd, const std::string& data, Clock::time_point deadline, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    size_t n = 0;
    drive(ssl, fd, deadline, what, [&] { return SSL_write_ex(ssl, data.data() + off, data.size() - off, &n); });
    off += n;
  }
}

int FrameReader::fill(SSL* ssl, int& saved_errno) {
  size_t want = std::min(sizeof buf, dec.wanted());
  size_t got = 0;
  ERR_clear_error();
  errno = 0;
  int r = SSL_read_ex(ssl, buf, want, &got);
  if (r > 0) {
    pending = std::string_view(buf, got);
    return SSL_ERROR_NONE;
  }
  saved_errno = errno;
  return SSL_get_error(ssl, r);
}

FrameDecoder::Event FrameReader::next_blocking(SSL* ssl, int fd, Clock::time_point deadline, const std::string& what) {
  for (;;) {
    FrameDecoder::Event ev = next();
    if (ev != FrameDecoder::Event::NeedMore) return ev;
    size_t want = std::min(sizeof buf, dec.wanted());
    size_t got = 0;
    drive(ssl, fd, deadline, what, [&] { return SSL_read_ex(ssl, buf, want, &got); });
    pending = std::string_view(buf, got);
  }
}

}  // namespace fatectl::fed
