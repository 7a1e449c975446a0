// intersect_method: raw — the host sends SHA-256(salt ‖ 0x00 ‖ id) of each of its ids (shuffled)
// and the guest looks its own hashes up. The salt is the job id and purpose, which every party
// knows, so the guest can hash any candidate id and test it: it learns the host's whole id list.
// Kept for comparison with FATE's raw intersection and for the tests that show the difference.
#include <openssl/evp.h>

#include <memory>
#include <vector>

#include "fatectl/core/error.h"
#include "fatectl/core/thread_pool.h"
#include "fatectl/psi/psi.h"
#include "stream.h"

namespace fatectl::psi::detail {
namespace {

constexpr const char* kName = "raw";
constexpr size_t kW = 32;

void raw_hashes(const std::string& salt, const std::vector<std::string>& ids, const std::vector<size_t>* order,
                uint8_t* out, ThreadPool& pool) {
  pool.parallel_for(ids.size(), [&](size_t b, size_t e, unsigned) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    for (size_t i = b; i < e; ++i) {
      const std::string& id = ids[order ? (*order)[i] : i];
      unsigned char zero = 0;
      unsigned int len = 0;
      if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
          EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) != 1 || EVP_DigestUpdate(ctx.get(), &zero, 1) != 1 ||
          EVP_DigestUpdate(ctx.get(), id.data(), id.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), out + i * kW, &len) != 1)
        throw failed("OpenSSL: SHA-256 failed");
    }
  });
}

class Guest : public GuestSession {
 public:
  Guest(const std::vector<std::string>& ids, const Settings& s) : s_(s), mine_(ids.size() * kW) {
    raw_hashes(s.salt, ids, nullptr, mine_.data(), *s.pool);
  }
  GuestResult run(Link& host) override {
    if (s_.transcript) {
      s_.transcript->line("method", kName);
      s_.transcript->line("role", "guest");
      s_.transcript->line("peer", host.peer());
      s_.transcript->line("salt", s_.salt);
    }
    send_hello(host, kName, s_, mine_.size() / kW);
    Hello h = recv_hello(host, kName, s_);
    std::vector<uint8_t> theirs;
    recv_values(host, "h", h.count, h.chunk, kW, [&](size_t, const uint8_t* v, size_t m) {
      if (s_.transcript) s_.transcript->values("recv.host_hash", v, m, kW);
      theirs.insert(theirs.end(), v, v + m * kW);
    });
    GuestResult r;
    r.host_pos = match_values(mine_, theirs);
    r.host_count = h.count;
    return r;
  }

 private:
  Settings s_;
  std::vector<uint8_t> mine_;
};

class Raw : public Method {
 public:
  std::string name() const override { return kName; }
  bool reveals_host_ids() const override { return true; }
  std::unique_ptr<GuestSession> guest(const std::vector<std::string>& ids, const Settings& s) const override {
    return std::make_unique<Guest>(ids, s);
  }
  HostResult host(const std::vector<std::string>& ids, Link& guest, const Settings& s) const override {
    HostResult r;
    r.row_at = secret_permutation(ids.size());
    std::vector<uint8_t> hashes(ids.size() * kW);
    raw_hashes(s.salt, ids, &r.row_at, hashes.data(), *s.pool);
    send_hello(guest, kName, s, ids.size());
    send_values(guest, "h", hashes.data(), ids.size(), kW, s.chunk);
    r.guest_count = recv_hello(guest, kName, s).count;
    return r;
  }
};

}  // namespace

const Method& raw_method() {
  static const Raw m;
  return m;
}

}  // namespace fatectl::psi::detail
