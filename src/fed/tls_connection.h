#pragma once
// One TLS connection's plumbing, private to fed/: TCP connect with a deadline, non-blocking
// OpenSSL calls driven to completion, and FrameReader, which feeds a connection's bytes to the
// FrameDecoder (frame.h). The channel's protocol on top: tls_inbound.cc and tls_outbound.cc.
#include <openssl/ssl.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>

#include "fatectl/core/error.h"
#include "fatectl/fed/job.h"
#include "frame.h"
#include "ossl.h"

namespace fatectl::fed {

using Clock = std::chrono::steady_clock;

/// How far a failed connection attempt got: whether the first hop (the Exchange, or the peer's own
/// address on a direct route) answered. Liveness (liveness.h) tells an outage from a dead peer by it.
enum class Reach {
  Session,       ///< not an attempt: an established connection broke
  FirstHopDown,  ///< no TCP connection to the route's address (timeout, unreachable, DNS, refused by the Exchange)
  Refused,       ///< the route's address refused the TCP connection (RST): its host is up, nothing listens there
  Beyond,        ///< TCP connected, then no TLS session with the peer (closed, reset, or silent)
};

/// A connection-level failure. `fatal`: retrying cannot help (certificates, refusal).
struct ConnFail : std::runtime_error {
  bool fatal;
  ErrorKind kind;
  Reach reach = Reach::Session;
  ConnFail(const std::string& m, bool f, ErrorKind k = ErrorKind::Unreachable, Reach r = Reach::Session)
      : std::runtime_error(m), fatal(f), kind(k), reach(r) {}
};

std::string sys_error(int e);
/// "host:port" of the other end of a connected socket ("?" when unknown).
std::string peer_address(int fd);
/// TCP_NODELAY and keep-alive.
void tune_socket(int fd);
/// Milliseconds until `deadline` (0 when past), for poll().
int remaining_ms(Clock::time_point deadline);
/// Waits for `events` on fd until the deadline; throws a transient ConnFail on timeout.
void wait_fd(int fd, short events, Clock::time_point deadline, const std::string& what);
/// A non-blocking TCP connection to `ep` (every resolved address in turn); throws ConnFail with
/// reach Refused when every address refused, else FirstHopDown.
int connect_tcp(const Endpoint& ep, Clock::time_point deadline);
/// Text for a failed SSL call, including the certificate verification result when there is one.
std::string ssl_failure(SSL* ssl, int err, int saved_errno);

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

/// Writes all of `data` (blocking until the deadline).
void write_all(SSL* ssl, int fd, const std::string& data, Clock::time_point deadline, const std::string& what);

/// The frames arriving on one connection: bytes read from TLS go to a FrameDecoder. Reads never
/// ask for more than the current frame still needs, so nothing is read past a frame's end.
struct FrameReader {
  FrameDecoder dec;
  std::string_view pending;  ///< read but not yet decoded (points into buf)
  char buf[16384];

  explicit FrameReader(std::uint64_t max_frame_bytes) : dec(max_frame_bytes) {}
  /// The next decoder event; NeedMore only when everything read so far is decoded.
  FrameDecoder::Event next() { return dec.next(pending); }
  /// One non-blocking read after next() said NeedMore: SSL_ERROR_NONE when bytes arrived, else
  /// the SSL error (WANT_READ, WANT_WRITE, ZERO_RETURN, ...) with errno in `saved_errno`.
  int fill(SSL* ssl, int& saved_errno);
  /// next(), reading (blocking until the deadline) until an event other than NeedMore.
  FrameDecoder::Event next_blocking(SSL* ssl, int fd, Clock::time_point deadline, const std::string& what);
};

}  // namespace fatectl::fed
