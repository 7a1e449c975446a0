// ECDH PSI on Curve25519 (intersect_method: ecdh, the default). Guest g and host h each pick a
// fresh secret scalar. Messages, in order per direction:
//   guest → host: hello, a/k = X25519(g, H(x)) for the guest's ids x in row order
//   host → guest: hello, a/k = X25519(h, H(y)) for the host's ids y in a secret shuffled order,
//                 b/k = X25519(h, guest's a/k) in the guest's order
// The guest blinds the host's values again, X25519(g, X25519(h, H(y))), and an id of its own is
// common exactly when X25519(h, X25519(g, H(x))) is among them. What each side learns:
// docs/psi.md.
#include <vector>

#include "fatectl/core/thread_pool.h"
#include "fatectl/psi/curve25519.h"
#include "fatectl/psi/psi.h"
#include "stream.h"

namespace fatectl::psi::detail {
namespace {

constexpr const char* kName = "ecdh";

void record_start(const Settings& s, const std::string& role, const std::string& peer, const Blinder& key) {
  if (!s.transcript) return;
  auto secret = key.secret();
  s.transcript->line("method", kName);
  s.transcript->line("role", role);
  s.transcript->line("peer", peer);
  s.transcript->line("salt", s.salt);
  s.transcript->line("secret", hex(secret.data(), secret.size()));
}

class Guest : public GuestSession {
 public:
  Guest(const std::vector<std::string>& ids, const Settings& s) : s_(s), n_(ids.size()), single_(n_ * kPointBytes) {
    hash_to_curve(s.salt, ids.data(), n_, single_.data(), *s.pool);
    key_.blind(single_.data(), single_.data(), n_, *s.pool, "own ids");
  }

  GuestResult run(Link& host) override {
    record_start(s_, "guest", host.peer(), key_);
    send_hello(host, kName, s_, n_);
    send_values(host, "a", single_.data(), n_, kPointBytes, s_.chunk);
    if (s_.transcript) s_.transcript->values("sent.single", single_.data(), n_, kPointBytes);
    Hello h = recv_hello(host, kName, s_);
    std::vector<uint8_t> theirs;  // the host's ids blinded by the host, then by us
    recv_values(host, "a", h.count, h.chunk, kPointBytes, [&](size_t, const uint8_t* v, size_t m) {
      if (s_.transcript) s_.transcript->values("recv.host_single", v, m, kPointBytes);
      size_t at = theirs.size();
      theirs.resize(at + m * kPointBytes);
      key_.blind(v, theirs.data() + at, m, *s_.pool, "intersection: a value from " + host.peer());
    });
    std::vector<uint8_t> mine;  // our ids blinded by us, then by the host, in our row order
    mine.reserve(single_.size());
    recv_values(host, "b", n_, s_.chunk, kPointBytes, [&](size_t, const uint8_t* v, size_t m) {
      if (s_.transcript) s_.transcript->values("recv.own_double", v, m, kPointBytes);
      mine.insert(mine.end(), v, v + m * kPointBytes);
    });
    GuestResult r;
    r.host_pos = match_values(mine, theirs);
    r.host_count = h.count;
    return r;
  }

 private:
  Settings s_;
  size_t n_;
  Blinder key_;
  std::vector<uint8_t> single_;
};

class Ecdh : public Method {
 public:
  std::string name() const override { return kName; }
  bool reveals_host_ids() const override { return false; }
  std::unique_ptr<GuestSession> guest(const std::vector<std::string>& ids, const Settings& s) const override {
    return std::make_unique<Guest>(ids, s);
  }

  HostResult host(const std::vector<std::string>& ids, Link& guest, const Settings& s) const override {
    const size_t n = ids.size();
    HostResult r;
    r.row_at = secret_permutation(n);
    Blinder key;
    record_start(s, "host", guest.peer(), key);
    send_hello(guest, kName, s, n);
    // Our ids in the shuffled order, hashed and blinded one message at a time (the guest starts
    // on the first message while we compute the next).
    std::vector<std::string> part;
    std::vector<uint8_t> buf;
    for (size_t k = 0, i = 0; i < n; ++k, i += s.chunk) {
      size_t m = std::min(s.chunk, n - i);
      part.assign(m, std::string());
      for (size_t j = 0; j < m; ++j) part[j] = ids[r.row_at[i + j]];
      buf.resize(m * kPointBytes);
      hash_to_curve(s.salt, part.data(), m, buf.data(), *s.pool);
      key.blind(buf.data(), buf.data(), m, *s.pool, "own ids");
      if (s.transcript) s.transcript->values("sent.single", buf.data(), m, kPointBytes);
      guest.send("a/" + std::to_string(k), std::string(reinterpret_cast<const char*>(buf.data()), buf.size()));
    }
    Hello g = recv_hello(guest, kName, s);
    r.guest_count = g.count;
    recv_values(guest, "a", g.count, g.chunk, kPointBytes, [&](size_t i, const uint8_t* v, size_t m) {
      if (s.transcript) s.transcript->values("recv.guest_single", v, m, kPointBytes);
      buf.resize(m * kPointBytes);
      key.blind(v, buf.data(), m, *s.pool, "intersection: a value from " + guest.peer());
      guest.send("b/" + std::to_string(i / g.chunk), std::string(reinterpret_cast<const char*>(buf.data()), buf.size()));
    });
    return r;
  }
};

}  // namespace

const Method& ecdh_method() {
  static const Ecdh m;
  return m;
}

}  // namespace fatectl::psi::detail
