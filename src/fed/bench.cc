#include "fatectl/fed/bench.h"

#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/fed/certs.h"
#include "fatectl/fed/tls_channel.h"

namespace fatectl::fed {

ThrowawayCerts::ThrowawayCerts(const std::string& domain, const std::vector<long>& parties) : parties_(parties) {
  const char* t = std::getenv("TMPDIR");
  std::string tpl = std::string(t && *t ? t : "/tmp") + "/fatectl-bench-XXXXXX";
  std::vector<char> b(tpl.begin(), tpl.end());
  b.push_back('\0');
  if (!::mkdtemp(b.data())) throw failed("cannot create a temporary directory for certificates");
  dir_ = b.data();
  try {
    init_ca(dir_, domain, 1);
    for (long p : parties_) issue_party_cert(dir_, p, 1);
  } catch (...) {
    remove();
    throw;
  }
}

ThrowawayCerts::~ThrowawayCerts() { remove(); }

void ThrowawayCerts::remove() {
  if (dir_.empty()) return;
  CertDir d{dir_};
  for (const std::string& f : {d.ca_cert(), d.ca_key()}) ::unlink(f.c_str());
  for (long p : parties_)
    for (const std::string& f : {d.party_cert(p), d.party_key(p)}) ::unlink(f.c_str());
  ::rmdir(dir_.c_str());
  dir_.clear();
}

TlsOptions bench_tls_options(const std::string& job_id, long self, const std::vector<long>& parties,
                             const std::string& certs_dir, const std::string& domain, Endpoint listen,
                             const TransportSettings& transport) {
  CertDir d{certs_dir};
  TlsOptions t;
  t.job_id = job_id;
  t.self = self;
  t.domain = domain;
  t.listen = listen;
  t.ca_file = d.ca_cert();
  t.cert_file = d.party_cert(self);
  t.key_file = d.party_key(self);
  t.parties = std::set<long>(parties.begin(), parties.end());
  t.transport = transport;
  return t;
}

void route_loopback(TlsChannel& from, const TlsChannel& to, long to_party, const std::string& domain) {
  Route r;
  r.party = to_party;
  r.sni = party_host_name(to_party, domain);
  r.endpoint = Endpoint{"127.0.0.1", to.listen_port()};
  from.set_route(to_party, r);
}

EchoResult bench_transport(const TransportBenchOptions& o) {
  const long guest = 9999, host = 10000;
  std::unique_ptr<ThrowawayCerts> tmp;
  if (o.certs_dir.empty()) tmp = std::make_unique<ThrowawayCerts>(o.domain, std::vector<long>{guest, host});
  const std::string dir = tmp ? tmp->dir() : o.certs_dir;
  {
    auto opts = [&](long self, Endpoint listen) {
      return bench_tls_options("bench-transport", self, {guest, host}, dir, o.domain, listen, o.transport);
    };
    TlsChannel hc(opts(host, o.listen));
    TlsChannel gc(opts(guest, Endpoint{"127.0.0.1", 0}));
    Route to_host;
    to_host.party = host;
    to_host.sni = party_host_name(host, o.domain);
    to_host.via = o.via_exchange ? Route::Via::Exchange : Route::Via::Direct;
    std::string lh = o.listen.host == "0.0.0.0" || o.listen.host == "::" ? "127.0.0.1" : o.listen.host;
    to_host.endpoint = o.via_exchange ? o.exchange : Endpoint{lh, hc.listen_port()};
    gc.set_route(host, to_host);
    route_loopback(hc, gc, guest, o.domain);

    std::string host_error;
    std::thread responder([&] {
      try {
        echo_peer(hc, guest, o.params, o.transport.message_timeout);
        hc.flush(o.transport.close_timeout);
      } catch (const std::exception& e) {
        host_error = e.what();
      }
    });
    EchoResult res;
    try {
      res = echo_guest(gc, host, o.params, o.transport.message_timeout);
    } catch (...) {
      for (TlsChannel* c : {&gc, &hc}) {
        try {
          c->close();
        } catch (...) {
        }
      }
      responder.join();
      throw;
    }
    responder.join();
    gc.close();
    hc.close();
    if (!host_error.empty()) throw failed("bench responder: " + host_error);
    return res;
  }
}

}  // namespace fatectl::fed
