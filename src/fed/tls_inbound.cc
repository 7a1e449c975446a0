// TlsChannel, the receiving side: accepts connections, authenticates the peer by its certificate
// and SNI, answers its hello with a welcome (where to resume), then decodes DATA frames, applies
// each once in sequence order (duplicates after a resend are dropped) and acknowledges them.
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fatectl/core/log.h"
#include "fatectl/fed/certs.h"
#include "tls_channel_impl.h"

namespace fatectl::fed {

using std::chrono::milliseconds;
using Event = FrameDecoder::Event;

void TlsChannel::Impl::refuse(const std::string& msg) {
  log::warn("{}: {}", who(), msg);
  std::lock_guard<std::mutex> l(mu);
  refused.push_back(msg);
}

void TlsChannel::Impl::accept_loop() {
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

void TlsChannel::Impl::send_error_and_close(SSL* ssl, int fd, long peer, const std::string& msg) {
  FrameHeader h;
  h.type = FrameType::Error;
  h.sender = o.self;
  h.receiver = peer;
  std::string f = encode_frame(h, o.job_id, "", msg.data(), msg.size());
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

long TlsChannel::Impl::party_of_cert(X509* cert) {
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

void TlsChannel::Impl::serve_connection(int fd) {
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
    FrameReader rd(o.transport.max_frame_bytes);
    FrameHeader h;
    std::string job;
    {
      const std::string no_hello = "party " + std::to_string(peer) + " (" + addr + ") did not start with a hello frame";
      try {
        rd.next_blocking(ssl, fd, deadline, "hello");  // Header
        h = rd.dec.header();
        if (h.type != FrameType::Hello || h.payload_len != 0 || h.name_len != 0 || h.job_len > 256)
          throw ConnFail(no_hello, false);
        rd.next_blocking(ssl, fd, deadline, "hello");  // Start
        job = rd.dec.job();
        rd.next_blocking(ssl, fd, deadline, "hello");  // End
      } catch (const FrameError&) {
        throw ConnFail(no_hello, false);
      }
    }
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
      std::uint64_t before = s.session;
      if (s.hello(h.total, h.seq) && before != 0 && !o.supervise)
        log::warn("{}: party {} restarted (new session); its unfinished message is dropped", who(), peer);
      learn_session(peer, h.total);
      heard(peer);
      s.gen++;
      s.active = true;
      s.active_fd = fd;
      my_gen = s.gen;
      registered = true;
      welcome_seq = s.applied;
    }
    FrameHeader w;
    w.type = FrameType::Welcome;
    w.sender = o.self;
    w.receiver = peer;
    w.seq = welcome_seq;
    w.total = session;
    fire_event();
    write_all(ssl, fd, encode_frame(w, o.job_id, "", nullptr, 0), deadline, "welcome");
    log::debug("{}: accepted party {} from {} (resuming after frame {})", who(), peer, addr, welcome_seq);
    receive_loop(ssl, fd, rd, peer, my_gen, addr);
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

void TlsChannel::Impl::receive_loop(SSL* ssl, int fd, FrameReader& rd, long peer, std::uint64_t gen,
                                    const std::string& addr) {
  const std::string from = "party " + std::to_string(peer);
  FrameHeader h;
  size_t pgot = 0;
  bool dup = false;
  std::shared_ptr<Incoming> fresh;  // a FIRST frame's message, published once its chunk is in
  std::shared_ptr<Incoming> cur;
  FramePayload payload;             // the current frame's payload as it arrives
  std::string ack;
  size_t ack_off = 0;
  std::uint64_t acked_sent = 0;
  bool ack_due = false;
  std::uint64_t since_ack = 0;
  const std::uint64_t ack_every = std::max<std::uint64_t>(o.transport.window_bytes / 4, 1);
  // Supervised control frames (heartbeat, abort, goodbye): the step or reason they carry, and
  // whether to end the connection once the acknowledgement is out (after an abort or goodbye).
  bool control = false, closing = false;
  std::string ctl_step, ctl_text;
  auto marked = Clock::now();  // when this connection last counted as hearing from the peer

  auto finish_control = [&] {
    {
      std::lock_guard<std::mutex> l(mu);
      heard(peer);
      if (h.type == FrameType::Heartbeat) {
        live[peer].step = ctl_text;
      } else if (h.type == FrameType::Abort) {
        PeerFailure f;
        f.party = (long)h.total;
        f.step = ctl_step;
        f.reason = ctl_text;
        f.reported_by = peer;
        if (f.party <= 0 || !o.parties.count(f.party)) f.party = peer;
        told_us.insert(peer);
        fail_peer(f);
        closing = true;
      } else {  // Bye
        live[peer].finished = true;
        cv.notify_all();
        closing = true;
      }
    }
    fire_event();
    ack_due = true;
    since_ack += h.payload_len + kFrameHeaderBytes;
  };

  auto finish_frame = [&] {
    std::lock_guard<std::mutex> l(mu);
    InState& s = in[peer];
    if (s.gen != gen) throw ConnFail("replaced by a newer connection", false);
    if (dup) {
      st.duplicates_dropped++;
    } else {
      if (h.flags & kFrameFirst) {
        boxes[{peer, s.current_name}].push_back(fresh);
        s.current = fresh;
        cur = fresh;
        fresh.reset();
      }
      cur->add(std::move(payload));
      s.applied = h.seq;
      s.fresh = false;
      st.frames_received++;
      st.bytes_received += h.payload_len;
      if (h.flags & kFrameLast) {
        cur->complete = true;
        s.current.reset();
        cur.reset();
      }
      cv.notify_all();
    }
    ack_due = true;
    since_ack += h.payload_len + kFrameHeaderBytes;
  };

  auto begin_payload = [&] {
    std::string job(rd.dec.job()), name(rd.dec.name());
    if (job != o.job_id) throw ConnFail(from + " sent a frame for job '" + job + "'", false);
    std::lock_guard<std::mutex> l(mu);
    InState& s = in[peer];
    if (s.gen != gen) throw ConnFail("replaced by a newer connection", false);
    InState::Seq seq = s.classify(h.seq);
    dup = seq == InState::Seq::Duplicate;
    if (dup) return;  // its payload is read and dropped
    if (seq == InState::Seq::Gap)
      throw ConnFail(from + " skipped from frame " + std::to_string(s.applied) + " to " + std::to_string(h.seq), false);
    if (h.flags & kFrameFirst) {
      if (s.current) throw ConnFail(from + " started '" + name + "' before finishing '" + s.current_name + "'", false);
      if (h.total > o.transport.max_message_bytes)
        throw ConnFail(from + " sent a message of " + std::to_string(h.total) + " bytes, over this party's limit of " +
                           std::to_string(o.transport.max_message_bytes) + " (transport.maxMessageBytes)",
                       true, ErrorKind::Failed);
      if (h.payload_len > h.total) throw ConnFail(from + " sent a chunk larger than its message", false);
      fresh = std::make_shared<Incoming>();  // holds bytes as they arrive, nothing for the declared size
      fresh->total = h.total;
      s.current_name = name;
    } else {
      if (!s.current || name != s.current_name)
        throw ConnFail(from + " continued a message it never started ('" + name + "')", false);
      cur = s.current;
      if (h.payload_len > cur->total - cur->received) throw ConnFail(from + " overran message '" + name + "'", false);
    }
  };

  for (;;) {
    if (stopping && !ack_due && ack.empty()) return;
    if (closing && !ack_due && ack.empty()) return;  // after an abort or goodbye, once acknowledged
    bool want_write = false;
    // 1. decode what is available (stopping early to acknowledge; then do not wait in poll)
    size_t read_budget = ack_every;
    bool drained = false;
    for (;;) {
      Event ev;
      try {
        ev = rd.next();
      } catch (const FrameError& fe) {
        if (fe.kind == FrameError::Kind::BadMagic)
          throw ConnFail(from + " (" + addr + ") sent garbage (bad frame magic)", false);
        std::string msg = "party " + std::to_string(o.self) + " refused a frame of " + std::to_string(fe.declared) +
                          " bytes from party " + std::to_string(peer) + ": over its limit of " +
                          std::to_string(o.transport.max_frame_bytes) + " bytes (transport.maxFrameBytes)";
        refuse(msg);
        send_error_and_close(ssl, fd, peer, msg);
        throw ConnFail(msg, true, ErrorKind::Failed);
      }
      if (ev == Event::NeedMore) {
        int saved = 0;
        int e = rd.fill(ssl, saved);
        if (e == SSL_ERROR_NONE) {
          if (o.supervise && Clock::now() - marked > milliseconds(200)) {
            marked = Clock::now();
            std::lock_guard<std::mutex> l(mu);
            heard(peer);
          }
          continue;
        }
        if (e == SSL_ERROR_WANT_READ) { drained = true; break; }
        if (e == SSL_ERROR_WANT_WRITE) { want_write = true; drained = true; break; }
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved == 0)) return;  // peer closed
        throw ConnFail(from + ": " + ssl_failure(ssl, e, saved), false);
      }
      if (ev == Event::Header) {
        h = rd.dec.header();
        control = o.supervise && !closing &&
                  (h.type == FrameType::Heartbeat || h.type == FrameType::Abort || h.type == FrameType::Bye);
        bool data = h.type == FrameType::Data && h.name_len > 0 && !closing;
        if ((!control && !data) || h.sender != peer || h.receiver != o.self)
          throw ConnFail(from + " sent an unexpected frame (type " + std::to_string((int)h.type) + ")", false);
        if (control && (h.payload_len > 65536 || h.name_len > 1024))
          throw ConnFail(from + " sent an oversized control frame", false);
        ctl_text.clear();
      } else if (ev == Event::Start && control) {
        if (rd.dec.job() != o.job_id) throw ConnFail(from + " sent a frame for job '" + std::string(rd.dec.job()) + "'", false);
        ctl_step = std::string(rd.dec.name());
      } else if (ev == Event::Payload && control) {
        ctl_text.append(rd.dec.piece());
      } else if (ev == Event::End && control) {
        finish_control();
        if (closing) break;
      } else if (ev == Event::Start) {
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
        payload.clear();
      } else if (ev == Event::Payload) {
        std::string_view piece = rd.dec.piece();
        if (!dup) payload.append(piece, h.payload_len - pgot);
        pgot += piece.size();
        if (pgot < h.payload_len) {
          if (piece.size() >= read_budget) break;
          read_budget -= piece.size();
        }
      } else {  // End
        finish_frame();
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
        FrameHeader a;
        a.type = FrameType::Ack;
        a.sender = o.self;
        a.receiver = peer;
        a.seq = applied;
        ack = encode_frame(a, o.job_id, "", nullptr, 0);
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

}  // namespace fatectl::fed
