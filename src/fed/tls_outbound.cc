// TlsChannel, the sending side: splits messages into DATA frames and queues them within the
// window, and per peer one thread connects (direct or through the Exchange), checks the peer's
// certificate, says hello, resends what the welcome says is missing, writes frames, reads
// acknowledgements, and reconnects with back-off until transport.connectTimeout.
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fatectl/core/log.h"
#include "tls_channel_impl.h"

namespace fatectl::fed {

using std::chrono::milliseconds;
using Event = FrameDecoder::Event;

Outbound& TlsChannel::Impl::outbound(long to) {
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

void TlsChannel::Impl::wake(Outbound& ob) {
  std::uint64_t one = 1;
  ssize_t n = ::write(ob.wake, &one, sizeof one);
  (void)n;
}

void TlsChannel::Impl::throw_fatal(const Outbound& ob) { throw Error(ob.fatal_kind, ob.fatal); }

void TlsChannel::Impl::enqueue(Outbound& ob, std::string frame, std::uint64_t payload, Clock::time_point deadline,
                               const std::string& name) {
  std::unique_lock<std::mutex> l(mu);
  bool ok = cv.wait_until(l, deadline, [&] {
    return stopping || !ob.fatal.empty() || ob.q.fits(frame.size(), o.transport.window_bytes);
  });
  if (!ob.fatal.empty()) throw_fatal(ob);
  if (stopping) throw failed(who() + ": channel closed while sending '" + name + "'");
  if (!ok)
    throw timed_out(who() + ": sending '" + name + "' to party " + std::to_string(ob.peer) + ": no acknowledgement within " +
                    format_duration(o.transport.message_timeout) + " (" + std::to_string(ob.q.q.size()) +
                    " frames in flight via " + ob.route.str() + ")");
  ob.q.push(std::move(frame), payload);
  l.unlock();
  cv.notify_all();
  wake(ob);
}

void TlsChannel::Impl::check_name(const std::string& name) {
  if (name.empty() || name.size() > 1024) throw invalid(who() + ": message names are 1-1024 bytes");
}

void TlsChannel::Impl::deliver_local(const std::string& name, std::string data) {
  auto inc = std::make_shared<Incoming>();
  inc->total = data.size();
  inc->received = data.size();
  inc->blocks.push_back(std::move(data));
  inc->complete = true;
  std::lock_guard<std::mutex> l(mu);
  boxes[{o.self, name}].push_back(inc);
  cv.notify_all();
}

void TlsChannel::Impl::send_message(long to, const std::string& name, std::uint64_t total,
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
    FrameHeader h;
    h.type = FrameType::Data;
    h.sender = o.self;
    h.receiver = to;
    h.seq = ob.q.next_seq;  // stable: only this thread (holding send_mu) advances it
    h.flags = (first ? kFrameFirst : 0) | (off + n == total ? kFrameLast : 0);
    h.total = total;
    std::string f = encode_frame(h, o.job_id, name, nullptr, n);
    if (n) fill(f.data() + (f.size() - n), n);
    enqueue(ob, std::move(f), n, Clock::now() + o.transport.message_timeout, name);
    off += n;
    first = false;
  } while (off < total);
}

std::pair<SSL*, int> TlsChannel::Impl::open_connection(Outbound& ob) {
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
    FrameHeader h;
    h.type = FrameType::Hello;
    h.sender = o.self;
    h.receiver = ob.peer;
    h.total = session;
    write_all(ssl, fd, encode_frame(h, o.job_id, "", nullptr, 0), deadline, "hello to " + to);
    // WELCOME (or ERROR: the receiver refuses us)
    FrameReader rd(kControlFrameBytes);
    const std::string what = "welcome from " + to;
    const std::string garbage = to + " answered with garbage (not a fatectl party?)";
    FrameHeader w;
    std::string text;  // an error frame's payload
    try {
      try {
        rd.next_blocking(ssl, fd, deadline, what);  // Header
      } catch (const ConnFail& f) {
        std::string m = f.what();
        if (m.find("alert") != std::string::npos)
          throw ConnFail(to + " refused this party's certificate " + o.cert_file + " (" + m.substr(m.rfind(": ") + 2) + ")", true);
        throw;
      }
      w = rd.dec.header();
      for (Event ev; (ev = rd.next_blocking(ssl, fd, deadline, what)) != Event::End;)
        if (ev == Event::Payload && text.size() < 65536) text.append(rd.dec.piece().substr(0, 65536 - text.size()));
    } catch (const FrameError&) {
      throw ConnFail(garbage, false);
    }
    if (w.type == FrameType::Error) throw ConnFail(text, true, ErrorKind::Failed);
    if (w.type != FrameType::Welcome)
      throw ConnFail(to + " answered the hello with frame type " + std::to_string((int)w.type), false);
    std::lock_guard<std::mutex> l(mu);
    if (ob.q.lost(w.seq))
      throw ConnFail("party " + std::to_string(ob.peer) + " lost frames " + std::to_string(w.seq + 1) + ".." +
                         std::to_string(ob.q.resume_from() - 1) + " (did it restart?)",
                     true, ErrorKind::Failed);
    ack_up_to(ob, w.seq);
    return {ssl, fd};
  } catch (...) {
    SSL_free(ssl);
    ::close(fd);
    throw;
  }
}

void TlsChannel::Impl::ack_up_to(Outbound& ob, std::uint64_t seq) {
  ob.q.ack_up_to(seq);
  cv.notify_all();
}

void TlsChannel::Impl::send_loop(Outbound& ob, SSL* ssl, int fd) {
  const std::string to = "party " + std::to_string(ob.peer);
  std::uint64_t next;  // sequence number of the next frame to write
  {
    std::lock_guard<std::mutex> l(mu);
    next = ob.q.resume_from();
  }
  const std::string* cur = nullptr;
  size_t off = 0;
  FrameReader rd(kControlFrameBytes);
  std::string text;  // an error frame's payload
  auto last_progress = Clock::now();
  std::uint64_t last_acked = ob.q.acked;
  for (;;) {
    bool want_write = false;
    // 1. read acks / errors
    for (;;) {
      Event ev;
      try {
        ev = rd.next();
      } catch (const FrameError&) {
        throw ConnFail(to + " sent garbage on the acknowledgement stream", false);
      }
      if (ev == Event::NeedMore) {
        int saved = 0;
        int e = rd.fill(ssl, saved);
        if (e == SSL_ERROR_NONE) continue;
        if (e == SSL_ERROR_WANT_READ) break;
        if (e == SSL_ERROR_WANT_WRITE) { want_write = true; break; }
        std::lock_guard<std::mutex> l(mu);
        if (ob.q.empty()) return;  // closed while idle: reconnect only when there is something to send
        throw ConnFail(to + ": " + ssl_failure(ssl, e, saved), false);
      }
      const FrameHeader& h = rd.dec.header();
      if (ev == Event::Header) {
        if (h.payload_len > 65536) throw ConnFail(to + " sent garbage on the acknowledgement stream", false);
        text.clear();
      } else if (ev == Event::Payload) {
        text.append(rd.dec.piece());
      } else if (ev == Event::End) {
        if (h.type == FrameType::Error) throw ConnFail(text, true, ErrorKind::Failed);
        if (h.type != FrameType::Ack) throw ConnFail(to + " sent an unexpected frame type " + std::to_string((int)h.type), false);
        std::lock_guard<std::mutex> l(mu);
        ack_up_to(ob, h.seq);
      }
    }
    // 2. write the next frames
    for (;;) {
      if (!cur) {
        std::lock_guard<std::mutex> l(mu);
        if (ob.q.acked != last_acked) { last_acked = ob.q.acked; last_progress = Clock::now(); }
        if (ob.q.empty() || next >= ob.q.next_seq) break;
        if (next < ob.q.resume_from()) next = ob.q.resume_from();
        const OutFrame& f = *ob.q.find(next);
        cur = &f.bytes;
        off = 0;
        if (f.seq <= ob.q.high_sent) st.frames_resent++;
        else { st.frames_sent++; st.bytes_sent += f.payload; ob.q.high_sent = f.seq; }
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
      if (ob.q.acked != last_acked) { last_acked = ob.q.acked; last_progress = Clock::now(); }
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

void TlsChannel::Impl::sender_thread(Outbound& ob) {
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

}  // namespace fatectl::fed
