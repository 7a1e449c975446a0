// The method registry, the selection, transcripts, and the wire pieces every method shares
// (stream.h).
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "fatectl/core/error.h"
#include "fatectl/psi/psi.h"
#include "stream.h"

namespace fatectl::psi {
namespace {

constexpr const char* kProtocol = "fatectl-psi/1";
constexpr uint64_t kMaxChunk = uint64_t(1) << 20;
constexpr uint64_t kMaxIds = uint64_t(1) << 32;

void put_u64(std::string& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>(v >> (8 * i)));
}

/// Reads little-endian u64 and length-prefixed strings, failing on short input.
struct Reader {
  const std::string& b;
  std::string what;
  size_t pos = 0;
  uint64_t u64() {
    if (b.size() - pos < 8) throw failed(what + ": message too short");
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[pos + i]);
    pos += 8;
    return v;
  }
  std::string str() {
    uint64_t n = u64();
    if (n > b.size() - pos) throw failed(what + ": message too short");
    std::string s = b.substr(pos, n);
    pos += n;
    return s;
  }
  void done() const {
    if (pos != b.size()) throw failed(what + ": unexpected bytes at the end of the message");
  }
};

std::string salt_digest(const std::string& salt) {
  unsigned char md[32];
  unsigned int len = 0;
  if (EVP_Digest(salt.data(), salt.size(), md, &len, EVP_sha256(), nullptr) != 1) throw failed("OpenSSL: SHA-256 failed");
  return std::string(reinterpret_cast<char*>(md), 32);
}

}  // namespace

size_t GuestResult::matched() const {
  return static_cast<size_t>(std::count_if(host_pos.begin(), host_pos.end(), [](int64_t p) { return p >= 0; }));
}

const Method& find_method(const std::string& name) {
  if (name == "ecdh") return detail::ecdh_method();
  if (name == "raw") return detail::raw_method();
  std::string known;
  for (auto& n : method_names()) known += (known.empty() ? "" : ", ") + n;
  throw invalid("unknown intersection method '" + name + "' (known: " + known + ")");
}

std::vector<std::string> method_names() { return {"ecdh", "raw"}; }

std::string encode_selection(const std::vector<uint64_t>& positions) {
  std::string b;
  b.reserve(8 * (positions.size() + 1));
  put_u64(b, positions.size());
  for (uint64_t p : positions) put_u64(b, p);
  return b;
}

std::vector<size_t> decode_selection(const std::string& payload, const HostResult& h, const std::string& from) {
  Reader r{payload, "selection from " + from};
  uint64_t n = r.u64();
  if (n > h.row_at.size()) throw failed(r.what + ": names more ids than this party has");
  std::vector<size_t> rows;
  rows.reserve(n);
  std::vector<char> seen(h.row_at.size(), 0);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t p = r.u64();
    if (p >= h.row_at.size() || seen[p]) throw failed(r.what + ": position out of range or repeated");
    seen[p] = 1;
    rows.push_back(h.row_at[p]);
  }
  r.done();
  return rows;
}

Transcript::Transcript(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw failed(path + ": cannot create the PSI transcript: " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);
  out_.open(path, std::ios::out | std::ios::trunc);
  if (!out_) throw failed(path + ": cannot write the PSI transcript");
  out_ << "# fatectl PSI transcript: DEBUG ONLY, it holds this party's PSI secret (docs/psi.md)\n";
}

void Transcript::line(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> l(mu_);
  out_ << key << ' ' << value << '\n';
  out_.flush();
}

void Transcript::values(const std::string& key, const uint8_t* data, size_t n, size_t width) {
  std::lock_guard<std::mutex> l(mu_);
  for (size_t i = 0; i < n; ++i) out_ << key << ' ' << detail::hex(data + i * width, width) << '\n';
  out_.flush();
}

namespace detail {

std::string hex(const uint8_t* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[data[i] >> 4];
    s[2 * i + 1] = digits[data[i] & 15];
  }
  return s;
}

void send_hello(Link& l, const std::string& method, const Settings& s, uint64_t count) {
  std::string b;
  for (const std::string& t : {std::string(kProtocol), method, salt_digest(s.salt)}) {
    put_u64(b, t.size());
    b += t;
  }
  put_u64(b, count);
  put_u64(b, s.chunk);
  l.send("hello", b);
}

Hello recv_hello(Link& l, const std::string& method, const Settings& s) {
  std::string b = l.recv("hello");
  Reader r{b, "intersection hello from " + l.peer()};
  if (r.str() != kProtocol) throw failed(r.what + ": another protocol version (same fatectl version on every party?)");
  Hello h;
  h.method = r.str();
  std::string digest = r.str();
  h.count = r.u64();
  h.chunk = r.u64();
  r.done();
  if (h.method != method)
    throw invalid(l.peer() + " aligns ids with intersect_method '" + h.method + "', this party with '" + method +
                  "': every party must run the same job file");
  if (digest != salt_digest(s.salt))
    throw invalid(l.peer() + " hashes ids with another salt (job id or purpose differ): every party must run the same job file");
  if (h.chunk == 0 || h.chunk > kMaxChunk) throw failed(r.what + ": bad chunk size");
  if (h.count > kMaxIds) throw failed(r.what + ": more than 2^32 ids");
  return h;
}

void send_values(Link& l, const std::string& name, const uint8_t* data, size_t n, size_t width, size_t chunk) {
  for (size_t k = 0, i = 0; i < n; ++k, i += chunk) {
    size_t m = std::min(chunk, n - i);
    l.send(name + "/" + std::to_string(k), std::string(reinterpret_cast<const char*>(data + i * width), m * width));
  }
}

void recv_values(Link& l, const std::string& name, uint64_t count, uint64_t chunk, size_t width,
                 const std::function<void(size_t, const uint8_t*, size_t)>& fn) {
  for (uint64_t k = 0, i = 0; i < count; ++k, i += chunk) {
    uint64_t m = std::min<uint64_t>(chunk, count - i);
    std::string b = l.recv(name + "/" + std::to_string(k));
    if (b.size() != m * width)
      throw failed("intersection: message " + name + "/" + std::to_string(k) + " from " + l.peer() + " has " +
                   std::to_string(b.size()) + " bytes, expected " + std::to_string(m * width));
    fn(static_cast<size_t>(i), reinterpret_cast<const uint8_t*>(b.data()), static_cast<size_t>(m));
  }
}

std::vector<size_t> secret_permutation(size_t n) {
  std::vector<size_t> perm(n);
  for (size_t i = 0; i < n; ++i) perm[i] = i;
  const size_t batch = 4096;
  std::vector<uint64_t> r(batch);
  size_t used = batch;
  for (size_t i = n; i > 1; --i) {
    if (used == batch) {
      if (RAND_bytes(reinterpret_cast<unsigned char*>(r.data()), int(batch * sizeof(uint64_t))) != 1)
        throw failed("OpenSSL RAND_bytes failed");
      used = 0;
    }
    // 64-bit draws: the modulo bias is below 2^-32 for any n < 2^32.
    size_t j = static_cast<size_t>(r[used++] % i);
    std::swap(perm[i - 1], perm[j]);
  }
  return perm;
}

std::vector<int64_t> match_values(const std::vector<uint8_t>& mine, const std::vector<uint8_t>& theirs) {
  const size_t W = 32;
  auto key = [](const uint8_t* p) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    return k;
  };
  size_t nt = theirs.size() / W, nm = mine.size() / W;
  std::vector<std::pair<uint64_t, uint64_t>> index(nt);
  for (size_t j = 0; j < nt; ++j) index[j] = {key(&theirs[j * W]), j};
  std::sort(index.begin(), index.end());
  std::vector<int64_t> pos(nm, -1);
  for (size_t i = 0; i < nm; ++i) {
    const uint8_t* v = &mine[i * W];
    uint64_t k = key(v);
    auto it = std::lower_bound(index.begin(), index.end(), std::make_pair(k, uint64_t(0)));
    for (; it != index.end() && it->first == k; ++it)
      if (std::memcmp(&theirs[it->second * W], v, W) == 0) {
        pos[i] = static_cast<int64_t>(it->second);
        break;
      }
  }
  return pos;
}

}  // namespace detail
}  // namespace fatectl::psi
