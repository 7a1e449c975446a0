// fatectl bench psi: guest 9999 and host 10000 over loopback TLS 1.3 with a throwaway CA.
#include "fatectl/psi/bench.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/fed/bench.h"
#include "fatectl/fed/tls_channel.h"
#include "fatectl/psi/curve25519.h"
#include "fatectl/psi/psi.h"

namespace fatectl::psi {
namespace {

constexpr long kGuest = 9999, kHost = 10000;

/// psi::Link over a TlsChannel.
class ChannelLink : public Link {
 public:
  ChannelLink(fed::Channel& ch, long peer, std::chrono::milliseconds timeout) : ch_(ch), peer_(peer), timeout_(timeout) {}
  void send(const std::string& name, const std::string& payload) override { ch_.send(peer_, "psi/" + name, payload); }
  std::string recv(const std::string& name) override { return ch_.recv(peer_, "psi/" + name, timeout_); }
  std::string peer() const override { return "party " + std::to_string(peer_); }

 private:
  fed::Channel& ch_;
  long peer_;
  std::chrono::milliseconds timeout_;
};

double process_cpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double load_average() {
  double l = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

}  // namespace

BenchResult bench_psi(const BenchOptions& o) {
  if (o.rows == 0 || o.rows > (size_t(1) << 28)) throw invalid("--rows must be between 1 and 268435456");
  if (o.chunk == 0 || o.chunk > (size_t(1) << 20)) throw invalid("--chunk must be between 1 and 1048576");
  const Method& method = find_method(o.method);
  BenchResult res;
  res.rows = o.rows;
  // Guest ids 0..N−1, host ids N/2..3N/2−1: the common ids are N/2..N−1.
  const size_t n = o.rows, first_common = n / 2;
  std::vector<std::string> gids(n), hids(n);
  for (size_t i = 0; i < n; ++i) {
    gids[i] = std::to_string(i);
    hids[i] = std::to_string(first_common + i);
  }
  res.common = n - first_common;
  log::progress("bench psi: timing OpenSSL's X25519");
  res.openssl_x25519_per_s = openssl_x25519_rate(o.openssl_seconds);

  const std::string domain = "fate.org";
  fed::ThrowawayCerts certs(domain, {kGuest, kHost});
  fed::TransportSettings ts;
  ts.message_timeout = std::chrono::minutes(30);
  auto opts = [&](long self) {
    return fed::bench_tls_options("bench-psi", self, {kGuest, kHost}, certs.dir(), domain, fed::Endpoint{"127.0.0.1", 0}, ts);
  };
  fed::TlsChannel gc(opts(kGuest)), hc(opts(kHost));
  fed::route_loopback(gc, hc, kHost, domain);
  fed::route_loopback(hc, gc, kGuest, domain);
  ThreadPool gpool(o.threads), hpool(o.threads);
  res.threads = gpool.size();
  Settings gs, hs;
  gs.salt = hs.salt = "bench-psi/train";
  gs.chunk = hs.chunk = o.chunk;
  gs.pool = &gpool;
  hs.pool = &hpool;

  log::progress("bench psi: " + std::to_string(n) + " × " + std::to_string(n) + " ids (" + o.method + ")");
  res.load_before = load_average();
  const double cpu0 = process_cpu();
  const auto t0 = std::chrono::steady_clock::now();
  std::exception_ptr host_err;
  std::vector<size_t> host_rows;
  std::thread host([&] {
    try {
      ChannelLink l(hc, kGuest, ts.message_timeout);
      HostResult hr = method.host(hids, l, hs);
      host_rows = decode_selection(l.recv("selection"), hr, "guest");
    } catch (...) {
      host_err = std::current_exception();
    }
  });
  GuestResult gr;
  std::exception_ptr guest_err;
  try {
    ChannelLink l(gc, kHost, ts.message_timeout);
    auto session = method.guest(gids, gs);
    res.guest_prepare_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    gr = session->run(l);
    std::vector<uint64_t> pos;
    for (size_t i = 0; i < n; ++i)
      if (gr.host_pos[i] >= 0) pos.push_back(static_cast<uint64_t>(gr.host_pos[i]));
    l.send("selection", encode_selection(pos));
  } catch (...) {
    guest_err = std::current_exception();
  }
  host.join();
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.cpu_seconds = process_cpu() - cpu0;
  res.load_after = load_average();
  log::progress_done();
  auto gst = gc.stats(), hst = hc.stats();
  res.bytes_sent = double(gst.bytes_sent + hst.bytes_sent);
  gc.close();
  hc.close();
  if (guest_err) std::rethrow_exception(guest_err);
  if (host_err) std::rethrow_exception(host_err);

  // Check: the guest matched exactly ids N/2..N−1, and the host selected the same ids in order.
  bool ok = gr.matched() == res.common && host_rows.size() == res.common;
  for (size_t i = 0; i < n && ok; ++i) ok = (gr.host_pos[i] >= 0) == (i >= first_common);
  for (size_t k = 0; k < host_rows.size() && ok; ++k) ok = hids[host_rows[k]] == gids[first_common + k];
  res.correct = ok;
  res.x25519_ops = method.name() == "ecdh" ? 4.0 * double(n) : 0.0;
  return res;
}

}  // namespace fatectl::psi
