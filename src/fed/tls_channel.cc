// TlsChannel: setup (certificates, listener) and the Channel API — send, recv, recv_stream,
// flush, close. The protocol is in include/fatectl/fed/tls_channel.h; the receiving and sending
// sides are tls_inbound.cc and tls_outbound.cc (the files: tls_channel_impl.h).
#include "fatectl/fed/tls_channel.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/fed/certs.h"
#include "tls_channel_impl.h"

namespace fatectl::fed {

using std::chrono::milliseconds;

void TlsChannel::Impl::setup_tls() {
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

void TlsChannel::Impl::start_listener() {
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

std::shared_ptr<Incoming> TlsChannel::Impl::wait_message(long from, const std::string& name, milliseconds timeout,
                                                          bool need_complete, std::unique_lock<std::mutex>& l) {
  check_run(l, Clock::now() + timeout);
  auto key = std::make_pair(from, tagged(name));
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
  // Supervised: a peer's failure or restart ends every wait; a peer that finished sends nothing more.
  auto run_ended = [&] { return failure.has_value() || restarted != 0; };
  auto gone = [&] {
    if (!o.supervise) return false;
    auto it = live.find(from);
    return it != live.end() && it->second.finished;
  };
  if (!cv.wait_for(l, timeout, [&] { return ready() || stopping.load() || broken() || run_ended() || gone(); }) || !ready()) {
    if (run_ended()) check_run(l, Clock::now());
    if (const Outbound* b = broken()) throw_fatal(*b);
    if (gone())
      throw failed(who() + ": party " + std::to_string(from) + " finished without sending '" + name + "'");
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

void TlsChannel::Impl::pop(long from, const std::string& key, const std::shared_ptr<Incoming>& inc) {  // mu held
  auto it = boxes.find({from, key});
  if (it == boxes.end() || it->second.empty() || it->second.front() != inc) return;  // dropped by a restart
  it->second.pop_front();
  if (it->second.empty()) boxes.erase(it);
}

void TlsChannel::Impl::check_peer(long from) {
  if (!o.parties.count(from)) throw invalid(who() + ": party " + std::to_string(from) + " is not in job " + o.job_id);
}

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
  if (m.o.transport.chunk_bytes + kFrameHeaderBytes + 2048 > m.o.transport.max_frame_bytes)
    log::debug("party {}: chunkBytes close to maxFrameBytes", m.o.self);
  if (RAND_bytes((unsigned char*)&m.session, sizeof m.session) != 1 || m.session == 0) m.session = 1;
  m.setup_tls();
  if (m.o.listen_enabled) m.start_listener();
  if (m.o.supervise) {
    {
      std::lock_guard<std::mutex> l(m.mu);
      m.update_view();  // a job of one party
    }
    for (auto& [peer, route] : m.o.routes) m.outbound(peer);  // heartbeats from the start
  }
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
  m.pop(from, m.tagged(name), inc);
  l.unlock();
  return inc->take_all();
}

std::uint64_t TlsChannel::recv_stream(long from, const std::string& name, std::chrono::milliseconds timeout,
                                      const Consumer& consume) {
  Impl& m = *impl_;
  m.check_peer(from);
  std::unique_lock<std::mutex> l(m.mu);
  auto inc = m.wait_message(from, name, timeout, false, l);
  inc->claimed = true;
  std::uint64_t done = 0;
  size_t next = 0;  // the next block to hand over
  try {
    for (;;) {
      if (done == inc->total && inc->complete) break;
      auto run_ended = [&] { return m.failure.has_value() || m.restarted != 0; };
      if (!m.cv.wait_for(l, timeout, [&] { return inc->received > done || m.stopping.load() || run_ended(); }))
        throw timed_out(m.who() + ": message '" + name + "' from party " + std::to_string(from) + " stalled at " +
                        std::to_string(done) + " of " + std::to_string(inc->total) + " bytes for " + format_duration(timeout));
      if (inc->received == done && run_ended()) m.check_run(l, Clock::now());
      if (inc->received == done) throw failed(m.who() + ": channel closed while receiving '" + name + "'");
      // Published blocks never move or change, so they are read outside the lock.
      std::vector<const std::string*> ready;
      for (; next < inc->blocks.size(); ++next) ready.push_back(&inc->blocks[next]);
      std::uint64_t upto = inc->received;
      l.unlock();
      for (const std::string* b : ready)
        if (!b->empty()) consume(std::string_view(*b));
      l.lock();
      done = upto;
    }
  } catch (...) {
    if (!l.owns_lock()) l.lock();
    inc->claimed = false;
    throw;
  }
  m.pop(from, m.tagged(name), inc);
  return done;
}

void TlsChannel::flush(std::chrono::milliseconds timeout) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> l(m.mu);
  auto deadline = Clock::now() + timeout;
  // Supervised: a peer that finished needs nothing more from this party.
  auto skip = [&](long id) { return m.o.supervise && m.live[id].finished; };
  for (;;) {
    if (m.failure) throw peer_failed(m.failure->message());
    bool pending = false;
    for (auto& [id, ob] : m.out) {
      if (skip(id)) continue;
      if (!ob->fatal.empty()) m.throw_fatal(*ob);
      if (!ob->q.empty()) pending = true;
    }
    if (!pending) return;
    if (m.cv.wait_until(l, deadline) == std::cv_status::timeout) {
      for (auto& [id, ob] : m.out) {
        if (skip(id)) continue;
        if (!ob->fatal.empty()) m.throw_fatal(*ob);
        if (!ob->q.empty())
          throw timed_out(m.who() + ": " + std::to_string(ob->q.q.size()) + " frames to party " + std::to_string(id) +
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
  ErrorKind err_kind = ErrorKind::Failed;
  bool aborted;
  {
    std::lock_guard<std::mutex> l(m.mu);
    aborted = m.aborted;
  }
  if (!aborted) {
    try {
      flush(m.o.transport.close_timeout);
    } catch (const Error& e) {
      err = e.what();
      err_kind = e.kind();
    } catch (const std::exception& e) {
      err = e.what();
    }
  }
  if (m.o.supervise && !aborted && err.empty()) {
    // Goodbye: the peers still running stop expecting heartbeats from this party.
    std::vector<long> to;
    {
      std::lock_guard<std::mutex> l(m.mu);
      for (auto& [id, ob] : m.out)
        if (!m.live[id].finished && ob->fatal.empty()) to.push_back(id);
    }
    m.farewell(
        to, [&](long peer) { return m.control_frame(FrameType::Bye, peer, 0, "", ""); },
        std::min<milliseconds>(m.o.transport.close_timeout, milliseconds(5000)));
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
  if (!err.empty()) throw Error(err_kind, err);
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
