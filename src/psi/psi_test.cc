#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/fed/channel.h"
#include "fatectl/psi/curve25519.h"
#include "fatectl/psi/psi.h"
#include "field25519.h"
#include "stream.h"

using namespace fatectl;
using namespace fatectl::psi;

namespace {

const char* kP = "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed";

struct Bn {
  BIGNUM* b = BN_new();
  ~Bn() { BN_free(b); }
};

std::string hexs(const uint8_t* d, size_t n) { return detail::hex(d, n); }

Point from_hex(const std::string& h) {
  Point p{};
  for (size_t i = 0; i < 32; ++i) p[i] = static_cast<uint8_t>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
  return p;
}

/// A psi::Link over an in-process fed::Channel; a receive gives up within 50 ms once `stop` is set.
class HubLink : public Link {
 public:
  HubLink(fed::Channel& ch, long peer, const std::atomic<bool>* stop = nullptr) : ch_(ch), peer_(peer), stop_(stop) {}
  void send(const std::string& name, const std::string& payload) override { ch_.send(peer_, "psi/" + name, payload); }
  std::string recv(const std::string& name) override {
    for (int slice = 0; slice < 600; ++slice) {
      if (stop_ && stop_->load()) throw failed("stopped: the peer gave up");
      try {
        return ch_.recv(peer_, "psi/" + name, std::chrono::milliseconds(50));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::Timeout) throw;
      }
    }
    throw timed_out("no message " + name + " in 30 s");
  }
  std::string peer() const override { return "party " + std::to_string(peer_); }

 private:
  fed::Channel& ch_;
  long peer_;
  const std::atomic<bool>* stop_;
};

struct Run {
  GuestResult guest;
  HostResult host;
};

Run run_pair(const std::string& method, const std::vector<std::string>& g, const std::vector<std::string>& h,
             Settings gs, Settings hs) {
  fed::LocalHub hub;
  auto gc = hub.channel(1), hc = hub.channel(2);
  std::atomic<bool> guest_failed{false};
  HubLink gl(*gc, 2), hl(*hc, 1, &guest_failed);
  Run r;
  std::exception_ptr host_err;
  std::thread t([&] {
    try {
      r.host = find_method(method).host(h, hl, hs);
    } catch (...) {
      host_err = std::current_exception();
    }
  });
  try {
    r.guest = find_method(method).guest(g, gs)->run(gl);
  } catch (...) {
    guest_failed = true;  // the host may be waiting for a guest that gave up: it stops, then is joined
    t.join();
    throw;
  }
  t.join();
  if (host_err) std::rethrow_exception(host_err);
  return r;
}

}  // namespace

TEST_CASE("field: Legendre symbol and canonical encoding agree with OpenSSL BIGNUM") {
  Bn p, x, t;
  BN_CTX* ctx = BN_CTX_new();
  BN_hex2bn(&p.b, kP);
  for (int i = 0; i < 300; ++i) {
    uint8_t b[64];
    RAND_bytes(b, sizeof b);
    if (i == 0) std::memset(b, 0, 64);
    if (i == 1) std::memset(b, 0xff, 64);
    // 512-bit reduction
    detail::Fe f = detail::fe_from_bytes64(b);
    uint8_t out[32], want[32];
    detail::fe_to_bytes(out, f);
    BN_lebin2bn(b, 64, x.b);
    BN_nnmod(x.b, x.b, p.b, ctx);
    BN_bn2lebinpad(x.b, want, 32);
    CHECK(hexs(out, 32) == hexs(want, 32));
    int leg = detail::fe_legendre(f);
    int kro = BN_is_zero(x.b) ? 0 : BN_kronecker(x.b, p.b, ctx);
    CHECK(leg == kro);
    // products
    detail::Fe g = detail::fe_from_bytes(b + 32);
    detail::fe_to_bytes(out, detail::fe_mul(f, detail::fe_sq(g)));
    BN_lebin2bn(b + 32, 32, t.b);
    BN_mod_sqr(t.b, t.b, p.b, ctx);
    BN_mod_mul(t.b, t.b, x.b, p.b, ctx);
    BN_bn2lebinpad(t.b, want, 32);
    CHECK(hexs(out, 32) == hexs(want, 32));
  }
  // p itself and p + 1 encode canonically as 0 and 1
  uint8_t pb[32], out[32];
  BN_bn2lebinpad(p.b, pb, 32);
  detail::fe_to_bytes(out, detail::fe_from_bytes(pb));
  CHECK(hexs(out, 32) == std::string(64, '0'));
  pb[0] += 1;
  detail::fe_to_bytes(out, detail::fe_from_bytes(pb));
  CHECK(out[0] == 1);
  BN_CTX_free(ctx);
}

TEST_CASE("hash_to_curve: known answers from the Python reference (tests/psi/psi_reference.py)") {
  // /usr/bin/python3 tests/psi/psi_reference.py hash job/train 1 2 133 ''
  CHECK(hexs(hash_to_curve("job/train", "1").data(), 32) ==
        "e437176ccd40bade9e885315296fa9638ac01629e1a94e0005acf14d25f32c0f");
  CHECK(hexs(hash_to_curve("job/train", "2").data(), 32) ==
        "3271936766408b261164c0ec5ed7764281c7dcb7cc3fd066e239887427cf0f11");
  CHECK(hexs(hash_to_curve("job/train", "133").data(), 32) ==
        "3a47b31885901fae75f4ee8806f7a5e6ac0d414600f8dfaaa3f0b9da87e7c65f");
  CHECK(hexs(hash_to_curve("job/train", "").data(), 32) ==
        "6f466c5ff5b73398ef2fc404413c4602b4292ea45170099c8f2b8c8b068b7a1a");
  CHECK(hash_to_curve("job/validate", "1") != hash_to_curve("job/train", "1"));
}

TEST_CASE("hash_to_curve: every output is on the curve, not the twist; the batch form agrees") {
  ThreadPool pool(2);
  std::vector<std::string> ids;
  for (int i = 0; i < 500; ++i) ids.push_back(std::to_string(i * 7919));
  std::vector<uint8_t> out(ids.size() * 32);
  hash_to_curve("salt", ids.data(), ids.size(), out.data(), pool);
  for (size_t i = 0; i < ids.size(); ++i) {
    Point one = hash_to_curve("salt", ids[i]);
    REQUIRE(std::memcmp(one.data(), &out[i * 32], 32) == 0);
    detail::Fe u = detail::fe_from_bytes(one.data());
    detail::Fe a = detail::fe_add(u, detail::fe_mul_small(detail::Fe{{1, 0, 0, 0, 0}}, 486662));
    detail::Fe f = detail::fe_mul(u, detail::fe_add(detail::fe_mul(u, a), detail::Fe{{1, 0, 0, 0, 0}}));
    CHECK(detail::fe_legendre(f) == 1);
    CHECK((one[31] & 0x80) == 0);
  }
}

TEST_CASE("X25519 blinding commutes, matches RFC 7748 and the Python reference, refuses small order") {
  ThreadPool pool(2);
  // RFC 7748 section 5.2, first vector
  Blinder rfc(from_hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"));
  Point u = from_hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"), out;
  rfc.blind(u.data(), out.data(), 1, pool, "test");
  CHECK(hexs(out.data(), 32) == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");

  Blinder a, b;
  std::vector<uint8_t> v(64 * 32), ab(v.size()), ba(v.size());
  std::vector<std::string> ids;
  for (int i = 0; i < 64; ++i) ids.push_back("id-" + std::to_string(i));
  hash_to_curve("s", ids.data(), ids.size(), v.data(), pool);
  a.blind(v.data(), ab.data(), 64, pool, "t");
  b.blind(ab.data(), ab.data(), 64, pool, "t");
  b.blind(v.data(), ba.data(), 64, pool, "t");
  a.blind(ba.data(), ba.data(), 64, pool, "t");
  CHECK(ab == ba);
  CHECK(a.secret() != b.secret());

  Point small{1};  // u = 1: order 4
  CHECK_THROWS_WITH_AS(a.blind(small.data(), out.data(), 1, pool, "from host 7"),
                       doctest::Contains("from host 7: value 0 is not usable"), Error);
}

TEST_CASE("ecdh and raw: the guest finds exactly the common ids; the selection names host rows") {
  std::vector<std::string> g, h;
  for (int i = 0; i < 300; ++i) g.push_back(std::to_string(i));
  for (int i = 200; i < 550; ++i) h.push_back(std::to_string(i));
  std::reverse(h.begin(), h.end());
  ThreadPool gp(2), hp(1);
  for (const char* method : {"ecdh", "raw"}) {
    CAPTURE(method);
    Settings gs{"job/train", &gp, 7, nullptr}, hs{"job/train", &hp, 11, nullptr};
    Run r = run_pair(method, g, h, gs, hs);
    CHECK(r.guest.host_count == h.size());
    CHECK(r.host.guest_count == g.size());
    CHECK(r.guest.matched() == 100);
    std::vector<uint64_t> positions;
    for (size_t i = 0; i < g.size(); ++i) {
      CHECK((r.guest.host_pos[i] >= 0) == (i >= 200));
      if (r.guest.host_pos[i] >= 0) positions.push_back(static_cast<uint64_t>(r.guest.host_pos[i]));
    }
    auto rows = decode_selection(encode_selection(positions), r.host, "guest");
    REQUIRE(rows.size() == 100);
    for (size_t k = 0; k < rows.size(); ++k) CHECK(h[rows[k]] == g[200 + k]);
    // a host's positions are shuffled
    bool identity = true;
    for (size_t i = 0; i < r.host.row_at.size(); ++i) identity = identity && r.host.row_at[i] == i;
    CHECK_FALSE(identity);
  }
}

TEST_CASE("psi: empty sets, bad selections, mismatched method or salt") {
  ThreadPool pool(1);
  Settings s{"job/train", &pool, 4, nullptr};
  Run r = run_pair("ecdh", {}, {"a", "b"}, s, s);
  CHECK(r.guest.host_pos.empty());
  CHECK(r.guest.host_count == 2);

  HostResult hr;
  hr.row_at = {2, 0, 1};
  CHECK_THROWS_WITH_AS(decode_selection(encode_selection({0, 0}), hr, "guest 9"), doctest::Contains("repeated"), Error);
  CHECK_THROWS_WITH_AS(decode_selection(encode_selection({3}), hr, "guest 9"), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(decode_selection("abc", hr, "guest 9"), doctest::Contains("too short"), Error);
  CHECK(decode_selection(encode_selection({1, 0}), hr, "g") == std::vector<size_t>{0, 2});

  Settings other{"other-job/train", &pool, 4, nullptr};
  CHECK_THROWS_WITH_AS(run_pair("ecdh", {"a"}, {"a"}, s, other), doctest::Contains("another salt"), Error);
  CHECK_THROWS_AS(find_method("rsa"), Error);
}

TEST_CASE("psi: a host value of small order is refused by the guest") {
  ThreadPool pool(1);
  Settings s{"j", &pool, 4, nullptr};
  fed::LocalHub hub;
  auto gc = hub.channel(1), hc = hub.channel(2);
  HubLink gl(*gc, 2), hl(*hc, 1);
  detail::send_hello(hl, "ecdh", s, 1);
  Point one{1};
  hl.send("a/0", std::string(reinterpret_cast<const char*>(one.data()), 32));
  CHECK_THROWS_WITH_AS(find_method("ecdh").guest({"x"}, s)->run(gl), doctest::Contains("not usable"), Error);
  // and a message of the wrong size
  fed::LocalHub hub2;
  auto g2 = hub2.channel(1), h2 = hub2.channel(2);
  HubLink gl2(*g2, 2), hl2(*h2, 1);
  detail::send_hello(hl2, "raw", s, 2);
  hl2.send("h/0", std::string(40, 'x'));
  CHECK_THROWS_WITH_AS(find_method("raw").guest({"x"}, s)->run(gl2), doctest::Contains("expected 64"), Error);
}

TEST_CASE("field: sixteen Legendre symbols at once (AVX-512 IFMA when present) equal the scalar ones") {
  for (int round = 0; round < 200; ++round) {
    uint8_t in[16][32];
    RAND_bytes(&in[0][0], sizeof in);
    if (round == 0) {
      std::memset(in, 0, sizeof in);  // 0, 1, p − 1, p, 2^256 − 1, ...
      in[1][0] = 1;
      BIGNUM* p = nullptr;
      BN_hex2bn(&p, kP);
      BN_bn2lebinpad(p, in[2], 32);
      in[2][0] -= 1;
      BN_bn2lebinpad(p, in[3], 32);
      std::memset(in[4], 0xff, 32);
      BN_free(p);
    }
    int got[16];
    detail::legendre16(in, got);
    for (int k = 0; k < 16; ++k) CHECK(got[k] == detail::fe_legendre(detail::fe_from_bytes(in[k])));
  }
  MESSAGE("legendre16 on AVX-512 IFMA: " << (detail::legendre16_available() ? "yes" : "no (scalar)"));
}
