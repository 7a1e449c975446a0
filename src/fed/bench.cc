#include "fatectl/fed/bench.h"

#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/fed/certs.h"
#include "fatectl/fed/tls_channel.h"

namespace fatectl::fed {

EchoResult bench_transport(const TransportBenchOptions& o) {
  const long guest = 9999, host = 10000;
  std::string dir = o.certs_dir;
  std::string tmp;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    std::string tpl = std::string(t && *t ? t : "/tmp") + "/fatectl-bench-XXXXXX";
    std::vector<char> b(tpl.begin(), tpl.end());
    b.push_back('\0');
    if (!::mkdtemp(b.data())) throw failed("cannot create a temporary directory for certificates");
    tmp = dir = b.data();
    init_ca(dir, o.domain, 1);
    issue_party_cert(dir, guest, 1);
    issue_party_cert(dir, host, 1);
  }
  auto cleanup = [&] {
    if (tmp.empty()) return;
    CertDir d{tmp};
    for (const std::string& f : {d.ca_cert(), d.ca_key(), d.party_cert(guest), d.party_key(guest), d.party_cert(host), d.party_key(host)})
      ::unlink(f.c_str());
    ::rmdir(tmp.c_str());
  };
  try {
    CertDir d{dir};
    auto opts = [&](long self, Endpoint listen) {
      TlsOptions t;
      t.job_id = "bench-transport";
      t.self = self;
      t.domain = o.domain;
      t.listen = listen;
      t.ca_file = d.ca_cert();
      t.cert_file = d.party_cert(self);
      t.key_file = d.party_key(self);
      t.parties = {guest, host};
      t.transport = o.transport;
      return t;
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
    Route to_guest;
    to_guest.party = guest;
    to_guest.sni = party_host_name(guest, o.domain);
    to_guest.endpoint = Endpoint{"127.0.0.1", gc.listen_port()};
    hc.set_route(guest, to_guest);

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
    cleanup();
    return res;
  } catch (...) {
    cleanup();
    throw;
  }
}

}  // namespace fatectl::fed
