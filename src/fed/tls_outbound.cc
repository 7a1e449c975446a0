// TlsChannel, the sending side: splits messages into DATA frames and queues them within the
// window, and per peer one thread connects (direct or through the Exchange), checks the peer's
// certificate, says hello, resends what the welcome says is missing, writes frames, reads
// acknowledgements, and reconnects with back-off until transport.connectTimeout — or, supervised,
// writes heartbeats, aborts and goodbyes too, and after the peer was once reached keeps
// reconnecting until the job's deadline unless the liveness rule (liveness.h) declares it dead.
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
  if (stopping) throw failed(who() + ": channel closed");
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
                               const std::string& name, std::uint64_t gen) {
  std::unique_lock<std::mutex> l(mu);
  bool ok = cv.wait_until(l, deadline, [&] {
    return stopping || !ob.fatal.empty() || ob.gen != gen || failure.has_value() ||
           ob.q.fits(frame.size(), o.transport.window_bytes);
  });
  if (failure) throw peer_failed(failure->message());
  if (ob.gen != gen)
    throw PeerRestarted(ob.peer, who() + ": party " + std::to_string(ob.peer) + " restarted while '" + name + "' was being sent");
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
  std::unique_lock<std::mutex> l(mu);
  check_run(l, Clock::now() + o.transport.message_timeout);
  boxes[{o.self, tagged(name)}].push_back(inc);
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
  std::uint64_t gen;
  std::string wire_name;  // supervised: tagged with the parties' view
  {
    std::unique_lock<std::mutex> l(mu);
    check_run(l, Clock::now() + o.transport.message_timeout);
    if (!ob.fatal.empty()) throw_fatal(ob);
    gen = ob.gen;
    wire_name = tagged(name);
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
    std::string f = encode_frame(h, o.job_id, wire_name, nullptr, n);
    if (n) fill(f.data() + (f.size() - n), n);
    enqueue(ob, std::move(f), n, Clock::now() + o.transport.message_timeout, name, gen);
    off += n;
    first = false;
  } while (off < total);
}

std::pair<SSL*, int> TlsChannel::Impl::open_connection(Outbound& ob) {
  const Route& r = ob.route;
  std::string to = "party " + std::to_string(ob.peer) + " via " + r.str();
  for (int round = 0;; ++round) {
    auto deadline = Clock::now() + o.transport.handshake_timeout;
    std::uint64_t first = 0;  // supervised: the first sequence number this connection writes
    if (o.supervise) {
      std::lock_guard<std::mutex> l(mu);
      if (ob.stale_upto >= ob.q.resume_from()) ack_up_to(ob, ob.stale_upto);  // meant for the peer's previous process
      first = ob.q.resume_from();
    }
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
      h.seq = first;
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
      heard(ob.peer);
      if (o.supervise) live[ob.peer].route_ok();
      // A new process of the peer: drop what was meant for its previous one and say hello again, so
      // that it learns where this party's sequence now starts.
      if (learn_session(ob.peer, w.total) && round == 0) {
        SSL_free(ssl);
        ::close(fd);
        continue;
      }
      if (ob.q.lost(w.seq))
        throw ConnFail("party " + std::to_string(ob.peer) + " lost frames " + std::to_string(w.seq + 1) + ".." +
                           std::to_string(ob.q.resume_from() - 1) + " (did it restart?)",
                       true, ErrorKind::Failed);
      ack_up_to(ob, w.seq);
      return {ssl, fd};
    } catch (ConnFail& f) {
      SSL_free(ssl);
      ::close(fd);
      if (f.reach == Reach::Session) f.reach = Reach::Beyond;  // TCP was up: the first hop answered
      throw;
    } catch (...) {
      SSL_free(ssl);
      ::close(fd);
      throw;
    }
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
  std::string ctl;        // a heartbeat, abort or goodbye being written (cur points at it)
  bool ctl_farewell = false;
  FrameReader rd(kControlFrameBytes);
  std::string text;  // an error frame's payload
  auto last_progress = Clock::now();
  std::uint64_t last_acked = ob.q.acked;
  // Supervised: a heartbeat every interval, each answered with an acknowledgement. Nothing read and
  // no DATA written for three intervals: the connection (or the peer) is stuck; reconnect.
  const auto beat = o.transport.heartbeat_interval;
  auto last_read = Clock::now(), last_data = Clock::now(), last_beat = Clock::time_point{};
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
        if (e == SSL_ERROR_NONE) {
          last_read = Clock::now();
          continue;
        }
        if (e == SSL_ERROR_WANT_READ) break;
        if (e == SSL_ERROR_WANT_WRITE) { want_write = true; break; }
        std::lock_guard<std::mutex> l(mu);
        if (ob.farewell_written) {  // the peer read our abort or goodbye and closed
          ob.farewell_done = true;
          cv.notify_all();
          return;
        }
        if (ob.q.empty() && ob.control.empty()) return;  // closed while idle: reconnect only when needed
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
        heard(ob.peer);
      }
    }
    // 2. write the next frames: an abort or goodbye first, a heartbeat when due, else DATA
    for (;;) {
      if (!cur) {
        bool beat_due = false;
        {
          std::lock_guard<std::mutex> l(mu);
          if (ob.q.acked != last_acked) { last_acked = ob.q.acked; last_progress = Clock::now(); }
          if (ob.stale_upto >= ob.q.resume_from() && !ob.q.empty())
            throw ConnFail(to + " restarted: reconnecting to its new process", false);
          if (ob.farewell_written) break;  // nothing after an abort or goodbye
          if (!ob.control.empty()) {
            ctl = std::move(ob.control.front());
            ob.control.pop_front();
            cur = &ctl;
            ctl_farewell = true;
          } else if (o.supervise && Clock::now() - last_beat >= beat) {
            beat_due = true;
          } else {
            if (ob.q.empty() || next >= ob.q.next_seq) break;
            if (next < ob.q.resume_from()) next = ob.q.resume_from();
            const OutFrame& f = *ob.q.find(next);
            cur = &f.bytes;
            if (f.seq <= ob.q.high_sent) st.frames_resent++;
            else { st.frames_sent++; st.bytes_sent += f.payload; ob.q.high_sent = f.seq; }
          }
        }
        if (beat_due) {
          ctl = heartbeat_frame(ob.peer);  // outside the lock: it asks the program for its step
          cur = &ctl;
          ctl_farewell = false;
          last_beat = Clock::now();
        }
        off = 0;
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
      if (cur != &ctl) last_data = Clock::now();
      if (off == cur->size()) {
        if (cur == &ctl) {
          if (ctl_farewell) {
            std::lock_guard<std::mutex> l(mu);
            ob.farewell_written = true;
          }
        } else {
          ++next;
        }
        cur = nullptr;
      }
    }
    // 3. stop, stall detection, wait
    {
      std::lock_guard<std::mutex> l(mu);
      auto now = Clock::now();
      if (ob.q.acked != last_acked) { last_acked = ob.q.acked; last_progress = now; }
      if (stopping && ob.q.empty()) return;
      if (stopping && !cur) return;  // close() gave up waiting for acks
      if (ob.q.empty()) last_progress = now;
      else if (now - last_progress > o.transport.ack_timeout)
        throw ConnFail(to + ": no acknowledgement for " + format_duration(o.transport.ack_timeout), false);
      if (o.supervise && now - last_read > 3 * beat && now - last_data > 3 * beat)
        throw ConnFail(to + ": no answer to heartbeats for " + human_duration(std::chrono::duration_cast<milliseconds>(now - last_read)),
                       false);
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

bool TlsChannel::Impl::wants_connection(const Outbound& ob) const {
  if (!ob.fatal.empty()) return false;
  if (!ob.control.empty()) return true;
  if (ob.farewell_done) return false;  // it read our abort or goodbye (or we gave up on it)
  if (!ob.q.empty()) return true;
  if (!o.supervise || aborted || failure) return false;
  auto it = live.find(ob.peer);
  return it == live.end() || !it->second.finished;  // heartbeats until it says goodbye
}

std::optional<std::pair<std::string, ErrorKind>> TlsChannel::Impl::after_failure(Outbound& ob, const ConnFail& f,
                                                                                 Clock::time_point& fail_since) {
  const auto now = Clock::now();
  if (fail_since == Clock::time_point{}) fail_since = now;
  const Route& r = ob.route;
  const std::string to = "party " + std::to_string(ob.peer);
  const std::string err = f.what();
  auto unreachable = [&] {
    return std::make_pair(who() + ": cannot reach " + to + " via " + r.str() + " for " +
                              format_duration(o.transport.connect_timeout) + ": " + err,
                          ErrorKind::Unreachable);
  };
  if (!o.supervise) {
    if (now - fail_since > o.transport.connect_timeout) return unreachable();
    return std::nullopt;
  }
  PeerLiveness& lv = live[ob.peer];
  if (lv.finished) {  // it left: what is still queued for it is not needed
    if (!ob.q.empty()) ack_up_to(ob, ob.q.next_seq - 1);
    return std::nullopt;
  }
  if (f.reach != Reach::Session) {
    // The first hop answered unless TCP failed; a refusal from a direct route's address is the
    // peer's own host saying nothing listens there.
    bool reached = f.reach == Reach::Beyond || (f.reach == Reach::Refused && r.via == Route::Via::Direct);
    lv.attempt_failed(reached, err, now);
  }
  const auto pdt = o.transport.peer_dead_timeout;
  const std::string hop = r.via == Route::Via::Exchange ? "the exchange " + r.endpoint.str() : "its host " + r.endpoint.str();
  if (lv.misrouted(now, o.transport.connect_timeout, pdt)) {
    std::string why = r.via == Route::Via::Exchange ? "the exchange's route for " + r.sni + " does not lead to it"
                                                    : "its address " + r.endpoint.str() + " does not lead to it";
    return std::make_pair(who() + ": cannot reach " + to + " via " + r.str() + " for " +
                              human_duration(std::chrono::duration_cast<milliseconds>(now - lv.route_failing_since)) +
                              " although it is alive (its own connections arrive): " + why + " (" + err + ")",
                          ErrorKind::Unreachable);
  }
  switch (lv.state(now, pdt)) {
    case PeerLiveness::State::NotUpYet:
      if (now - fail_since > o.transport.connect_timeout) return unreachable();
      break;
    case PeerLiveness::State::Dead: {
      PeerFailure pf;
      pf.party = ob.peer;
      pf.step = lv.step;
      pf.reported_by = o.self;
      pf.reason = "no sign of life for " + human_duration(std::chrono::duration_cast<milliseconds>(now - lv.last_heard)) +
                  " (peerDeadTimeout " + format_duration(pdt) + ") while " + hop + " answered (" + lv.last_error +
                  "); was it killed?";
      fail_peer(pf);
      return std::make_pair(pf.message(), ErrorKind::PeerFailed);
    }
    case PeerLiveness::State::Outage:
    case PeerLiveness::State::Silent: {
      if (o.deadline != Clock::time_point{} && now >= o.deadline)
        return std::make_pair(who() + ": " + to + " still unreachable at the job timeout: " + err, ErrorKind::Timeout);
      if (!lv.report_due(now, o.transport.connect_timeout, std::chrono::minutes(1))) break;
      std::string for_ = human_duration(lv.trouble_for(now));
      std::string until = o.deadline != Clock::time_point{} ? "the job timeout at " + wall_time_of(o.deadline) : "it answers";
      if (lv.state(now, pdt) == PeerLiveness::State::Outage) {
        std::string what = r.via == Route::Via::Exchange ? "exchange " + r.endpoint.str() : to + " at " + r.endpoint.str();
        // One line for an Exchange that several peers are reached through.
        auto& last = outage_reported[what];
        if (last != Clock::time_point{} && now - last < std::chrono::seconds(50)) break;
        last = now;
        log::warn("{}: {} unreachable for {}, retrying until {} ({})", who(), what, for_, until, err);
      } else {
        log::warn("{}: {} not answering via {} for {} while {} answers; it is declared dead once silent for {} (peerDeadTimeout)",
                  who(), to, r.str(), for_, hop, format_duration(pdt));
      }
      break;
    }
    default:
      break;
  }
  log::debug("{}: {} (retrying)", who(), err);
  return std::nullopt;
}

void TlsChannel::Impl::sender_thread(Outbound& ob) {
  const std::string to = "party " + std::to_string(ob.peer);
  Clock::time_point fail_since{};
  bool ever = false;
  auto backoff = milliseconds(50);
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return stopping || wants_connection(ob); });
      if (stopping) return;
    }
    try {
      auto [ssl, fd] = open_connection(ob);
      fire_event();
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
          ob.farewell_written = false;
        }
        SSL_free(ssl);
        ::close(fd);
        throw;
      }
      {
        std::lock_guard<std::mutex> l(mu);
        ob.connected = false;
        ob.farewell_written = false;
      }
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ::close(fd);
      if (stopping) return;
      if (o.supervise) {  // the peer closed an idle connection: reconnect for heartbeats, not in a tight loop
        std::unique_lock<std::mutex> l(mu);
        cv.wait_for(l, milliseconds(50), [&] { return stopping.load(); });
      }
    } catch (const ConnFail& f) {
      std::optional<std::pair<std::string, ErrorKind>> give_up;
      {
        std::unique_lock<std::mutex> l(mu);
        if (relaying && !ob.control.empty()) {
          // Passing another party's abort on: a peer that cannot be reached has likely ended with it
          // (the failing party told it too); waiting for it would only delay this party's exit.
          log::debug("{}: {} did not take the relayed abort ({})", who(), to, f.what());
          ob.control.clear();
          ob.farewell_done = true;
          cv.notify_all();
          continue;
        }
        if (f.fatal) {
          give_up = std::make_pair(std::string(f.what()), f.kind);
          log::error("{}: {}", who(), give_up->first);
        } else {
          give_up = after_failure(ob, f, fail_since);
          if (give_up && give_up->second != ErrorKind::PeerFailed) log::error("{}", give_up->first);
        }
        if (give_up) {
          ob.fatal = give_up->first;
          ob.fatal_kind = give_up->second;
          cv.notify_all();
        }
      }
      fire_event();
      if (give_up) return;
      std::unique_lock<std::mutex> l(mu);
      cv.wait_for(l, backoff, [&] { return stopping.load(); });
      // Supervised, attempts come often enough for a death to be noticed soon after peerDeadTimeout.
      milliseconds cap(2000);
      if (o.supervise) cap = std::clamp(o.transport.peer_dead_timeout / 10, milliseconds(50), cap);
      backoff = std::min(backoff * 2, cap);
    }
  }
}

}  // namespace fatectl::fed
