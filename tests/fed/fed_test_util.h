#pragma once
// Helpers for fed/ unit tests: temporary certificate directories, loopback channels with
// ephemeral ports, and a TCP relay that can cut connections mid-stream.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <openssl/evp.h>

#include "fatectl/fed/certs.h"
#include "fatectl/fed/program.h"
#include "fatectl/fed/tls_channel.h"

namespace fatectl::fed::testutil {

/// A temporary directory removed (recursively) at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    const char* t = std::getenv("TMPDIR");
    std::string tpl = std::string(t && *t ? t : "/tmp") + "/fatectl-fedtest-XXXXXX";
    std::vector<char> b(tpl.begin(), tpl.end());
    b.push_back('\0');
    path = ::mkdtemp(b.data());
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    int rc = std::system(cmd.c_str());
    (void)rc;
  }
  std::string sub(const std::string& name) const { return path + "/" + name; }
};

/// A CA in `dir` for `domain` with certificates for `parties`.
inline void make_pki(const std::string& dir, const std::vector<long>& parties, const std::string& domain = "fate.org") {
  init_ca(dir, domain, 2);
  for (long p : parties) issue_party_cert(dir, p, 2);
}

/// Options for party `self` with certificates from `dir`, listening on an ephemeral loopback port.
inline TlsOptions options(long self, const std::string& dir, const std::vector<long>& parties, const std::string& job = "job-1",
                          const std::string& domain = "fate.org") {
  TlsOptions o;
  o.job_id = job;
  o.self = self;
  o.domain = domain;
  o.listen = Endpoint{"127.0.0.1", 0};
  CertDir d{dir};
  o.ca_file = d.ca_cert();
  o.cert_file = d.party_cert(self);
  o.key_file = d.party_key(self);
  o.parties = std::set<long>(parties.begin(), parties.end());
  o.transport.connect_timeout = std::chrono::seconds(10);
  o.transport.handshake_timeout = std::chrono::seconds(10);
  o.transport.message_timeout = std::chrono::seconds(30);
  o.transport.close_timeout = std::chrono::seconds(10);
  return o;
}

inline Route direct(long party, int port, const std::string& domain = "fate.org") {
  Route r;
  r.party = party;
  r.via = Route::Via::Direct;
  r.endpoint = Endpoint{"127.0.0.1", port};
  r.sni = party_host_name(party, domain);
  return r;
}

/// SHA-256 of what is fed to it, as raw bytes.
struct Sha256Sum {
  EVP_MD_CTX* c = EVP_MD_CTX_new();
  Sha256Sum() { EVP_DigestInit_ex(c, EVP_sha256(), nullptr); }
  ~Sha256Sum() { EVP_MD_CTX_free(c); }
  void add(const char* p, size_t n) { EVP_DigestUpdate(c, p, n); }
  std::string done() {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(c, md, &n);
    return std::string((char*)md, n);
  }
};

/// Sends `total` bytes of the echo stream `seed` as one message (send_stream); returns their hash.
inline std::string send_hashed_stream(Channel& ch, long to, const std::string& name, std::uint64_t total, std::uint64_t seed) {
  Sha256Sum h;
  std::uint64_t off = 0;
  ch.send_stream(to, name, total, [&](char* dst, size_t n) {
    echo_stream_bytes(seed, off, dst, n);
    h.add(dst, n);
    off += n;
  });
  return h.done();
}

/// Receives one message piece by piece (recv_stream); returns its hash and sets `got` to its size.
inline std::string recv_hashed_stream(Channel& ch, long from, const std::string& name, std::chrono::milliseconds timeout,
                                      std::uint64_t& got) {
  Sha256Sum h;
  got = ch.recv_stream(from, name, timeout, [&](std::string_view p) { h.add(p.data(), p.size()); });
  return h.done();
}

/// Connects every channel to every other directly over loopback.
inline void mesh(const std::vector<TlsChannel*>& chans) {
  for (auto* a : chans)
    for (auto* b : chans)
      if (a != b) a->set_route(b->self(), direct(b->self(), b->listen_port()));
}

/// A TCP relay on 127.0.0.1 (like the Exchange, it only forwards bytes). Connection number i
/// (0-based) is cut, both ways, after `cut_after[i]` bytes went from the client to the server.
/// Modes: Forward; Close (the relay answers but closes every connection at once, as the Exchange
/// does when the party behind it is gone); Down (the relay does not listen: connections are
/// refused, as when the Exchange itself is down). Close and Down also cut open connections.
class Relay {
 public:
  enum class Mode { Forward, Close, Down };
  Relay(int target_port, std::vector<std::uint64_t> cut_after) : target_(target_port), cuts_(std::move(cut_after)) {
    listen_on(0);
    th_ = std::thread([this] { accept_loop(); });
  }
  ~Relay() {
    stop_ = true;
    th_.join();
    if (fd_ >= 0) ::close(fd_);
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }
  int connections() const { return count_; }
  int cuts() const { return cut_count_; }
  void set_mode(Mode m) {
    mode_ = m;
    epoch_++;  // open connections end
    while (m == Mode::Down && !closed_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    while (m != Mode::Down && closed_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

 private:
  void listen_on(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ::bind(fd_, (sockaddr*)&a, sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, (sockaddr*)&a, &len);
    port_ = ntohs(a.sin_port);
  }
  void accept_loop() {
    while (!stop_) {
      if (mode_ == Mode::Down && !closed_) { ::close(fd_); fd_ = -1; closed_ = true; }
      if (mode_ != Mode::Down && closed_) { listen_on(port_); closed_ = false; }
      if (closed_) { std::this_thread::sleep_for(std::chrono::milliseconds(10)); continue; }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      if (mode_ == Mode::Close) { ::close(c); continue; }
      int idx = count_++;
      std::uint64_t cut = idx < (int)cuts_.size() ? cuts_[idx] : ~0ull;
      conns_.emplace_back([this, c, cut] { pump(c, cut); });
    }
  }
  void pump(int c, std::uint64_t cut) {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_);
    if (::connect(s, (sockaddr*)&a, sizeof a) != 0) { ::close(c); ::close(s); return; }
    std::uint64_t up = 0;
    char buf[65536];
    bool open = true;
    const int epoch = epoch_;
    while (open && !stop_ && epoch == epoch_) {
      pollfd p[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
      if (::poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2 && open; ++i) {
        if (!p[i].revents) continue;
        int from = i == 0 ? c : s, to = i == 0 ? s : c;
        size_t want = sizeof buf;
        if (i == 0 && cut != ~0ull) want = std::min<std::uint64_t>(want, cut - up);
        ssize_t n = want ? ::read(from, buf, want) : 0;
        if (n <= 0) { open = false; break; }
        size_t off = 0;
        while (off < (size_t)n) {
          ssize_t w = ::write(to, buf + off, n - off);
          if (w <= 0) { open = false; break; }
          off += w;
        }
        if (i == 0) up += n;
        if (i == 0 && up >= cut) { cut_count_++; open = false; }
      }
    }
    ::shutdown(c, SHUT_RDWR);
    ::shutdown(s, SHUT_RDWR);
    ::close(c);
    ::close(s);
  }
  int target_, fd_ = -1, port_ = 0;
  std::vector<std::uint64_t> cuts_;
  std::atomic<bool> stop_{false}, closed_{false};
  std::atomic<Mode> mode_{Mode::Forward};
  std::atomic<int> count_{0}, cut_count_{0}, epoch_{0};
  std::thread th_;
  std::vector<std::thread> conns_;
};

}  // namespace fatectl::fed::testutil
