// TlsChannel, supervision (TlsOptions::supervise): every party's incarnation (its channel's
// session id) and the view they make up, which tags every message so that a restart voids what was
// exchanged before it; peer failures (aborts, peers declared dead by the liveness rule in
// liveness.h); aborts and goodbyes; rejoin after a restart.
#include <cstdio>

#include "fatectl/core/log.h"
#include "tls_channel_impl.h"

namespace fatectl::fed {

using std::chrono::milliseconds;

std::string PeerFailure::message() const {
  std::string s = "party " + std::to_string(party) + " failed";
  if (!step.empty()) s += " at " + step;
  return s + ": " + reason;
}

bool TlsChannel::Impl::learn_session(long peer, std::uint64_t s) {
  if (!o.supervise || s == 0) return false;
  std::uint64_t& known = sessions[peer];
  if (known == s) return false;
  const bool restart = known != 0;
  known = s;
  if (restart) {
    log::warn("{}: party {} restarted (a new process of it joined the job)", who(), peer);
    auto it = out.find(peer);
    if (it != out.end()) {
      Outbound& ob = *it->second;
      ob.gen++;  // a message being queued for its previous process stops
      ob.stale_upto = ob.q.next_seq - 1;
      wake(ob);
    }
    // What its previous process sent is void (messages are also tagged with the old view).
    for (auto b = boxes.begin(); b != boxes.end();) {
      bool claimed = !b->second.empty() && b->second.front()->claimed;
      b = b->first.first == peer && !claimed ? boxes.erase(b) : std::next(b);
    }
    PeerLiveness fresh;
    fresh.heard(Clock::now());
    live[peer] = fresh;
  }
  update_view();
  if (restart && program_view != 0 && view != program_view && restarted == 0) {
    restarted = peer;
    event_pending = true;
  }
  cv.notify_all();
  return restart;
}

void TlsChannel::Impl::update_view() {
  if (!o.supervise) return;
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over (party, session) in party order
  auto mix = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (long p : o.parties) {
    std::uint64_t s = p == o.self ? session : sessions[p];
    if (s == 0) return;  // not every party's incarnation is known yet
    mix((std::uint64_t)p);
    mix(s);
  }
  if (h == 0) h = 1;
  if (view != 0 && view != h) old_views.insert(view);
  view = h;
  if (program_view == 0) program_view = view;
}

std::string TlsChannel::Impl::tagged(const std::string& name) const {
  if (!o.supervise) return name;
  char buf[24];
  std::snprintf(buf, sizeof buf, "~%016llx/", (unsigned long long)program_view);
  return buf + name;
}

void TlsChannel::Impl::check_run(std::unique_lock<std::mutex>& l, Clock::time_point deadline) {
  if (!o.supervise) return;
  auto any_fatal = [&]() -> const Outbound* {
    for (auto& [id, ob] : out)
      if (!ob->fatal.empty()) return ob.get();
    return nullptr;
  };
  if (program_view == 0)
    cv.wait_until(l, deadline, [&] { return program_view != 0 || failure || stopping.load() || any_fatal(); });
  if (failure) throw peer_failed(failure->message());
  if (restarted)
    throw PeerRestarted(restarted, who() + ": party " + std::to_string(restarted) +
                                       " restarted; every party goes back to the last checkpoint they all have");
  if (const Outbound* b = any_fatal()) throw_fatal(*b);
  if (stopping) throw failed(who() + ": channel closed");
  if (program_view == 0) {
    std::string missing;
    for (long p : o.parties)
      if (p != o.self && sessions[p] == 0) missing += (missing.empty() ? "" : ", ") + std::to_string(p);
    throw timed_out(who() + ": parties " + missing + " did not come up in time");
  }
}

void TlsChannel::Impl::heard(long peer) {
  if (o.supervise) live[peer].heard(Clock::now());
}

void TlsChannel::Impl::fail_peer(PeerFailure f) {
  if (failure || aborted) return;
  failure = std::move(f);
  event_pending = true;
  cv.notify_all();
}

void TlsChannel::Impl::fire_event() {
  {
    std::lock_guard<std::mutex> l(mu);
    if (!event_pending) return;
    event_pending = false;
  }
  if (o.on_event) o.on_event();
}

std::string TlsChannel::Impl::control_frame(FrameType type, long peer, std::uint64_t total, std::string_view name,
                                            std::string_view payload) const {
  FrameHeader h;
  h.type = type;
  h.sender = o.self;
  h.receiver = peer;
  h.total = total;
  return encode_frame(h, o.job_id, name.substr(0, 1024), payload.data(), payload.size());
}

std::string TlsChannel::Impl::heartbeat_frame(long peer) {
  std::string step = o.step ? o.step() : std::string();
  return control_frame(FrameType::Heartbeat, peer, 0, "", std::string_view(step).substr(0, 1024));
}

void TlsChannel::Impl::farewell(const std::vector<long>& to, const std::function<std::string(long)>& frame,
                                milliseconds wait) {
  auto deadline = Clock::now() + wait;
  std::vector<Outbound*> obs;
  for (long p : to) {
    Outbound& ob = outbound(p);
    std::string f = frame(p);
    std::lock_guard<std::mutex> l(mu);
    if (!ob.fatal.empty()) continue;
    ob.farewell_done = false;
    ob.control.push_back(std::move(f));
    obs.push_back(&ob);
  }
  cv.notify_all();
  for (Outbound* ob : obs) wake(*ob);
  std::unique_lock<std::mutex> l(mu);
  cv.wait_until(l, deadline, [&] {
    for (Outbound* ob : obs)
      if (!ob->farewell_done && ob->fatal.empty()) return false;
    return true;
  });
  for (Outbound* ob : obs)
    if (!ob->farewell_done) {
      log::debug("{}: party {} did not confirm the {} in time", who(), ob->peer, "farewell");
      ob->farewell_done = true;  // no more connections to it either way
    }
  cv.notify_all();
}

std::optional<PeerFailure> TlsChannel::peer_failure() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->failure;
}

void TlsChannel::abort(const PeerFailure& f, milliseconds wait) {
  Impl& m = *impl_;
  if (!m.o.supervise) return;
  std::vector<long> to;
  {
    std::lock_guard<std::mutex> l(m.mu);
    m.aborted = true;
    m.relaying = f.party != m.o.self;
    for (long p : m.o.parties)
      if (p != m.o.self && p != f.party && !m.live[p].finished && !m.told_us.count(p)) to.push_back(p);
  }
  std::string_view reason = std::string_view(f.reason).substr(0, 4096);
  m.farewell(
      to, [&](long peer) { return m.control_frame(FrameType::Abort, peer, (std::uint64_t)f.party, f.step, reason); }, wait);
}

void TlsChannel::rejoin() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> l(m.mu);
  if (!m.o.supervise) return;
  m.program_view = m.view;
  m.restarted = 0;
  // Messages tagged with a view that is gone will never be received: drop them.
  for (auto b = m.boxes.begin(); b != m.boxes.end();) {
    const std::string& n = b->first.second;
    bool old = false;
    if (n.size() > 18 && n[0] == '~' && n[17] == '/') {
      unsigned long long v = std::strtoull(n.substr(1, 16).c_str(), nullptr, 16);
      old = m.old_views.count(v) > 0;
    }
    b = old ? m.boxes.erase(b) : std::next(b);
  }
  m.cv.notify_all();
}

}  // namespace fatectl::fed
