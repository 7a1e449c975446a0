// Paillier key files: YAML text with hexadecimal integers; private keys written 0600 and
// refused when group or others can read them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "fatectl/core/error.h"
#include "fatectl/core/yaml.h"
#include "he/detail.h"

namespace fatectl::he {

namespace {

constexpr const char* kPublicKind = "PaillierPublicKey";
constexpr const char* kPrivateKind = "PaillierPrivateKey";

struct Doc {
  YAML::Node root;
  std::string source;
  Error err(const YAML::Node& at, const std::string& key, const std::string& msg) const {
    return invalid_at(yaml::where(at.IsDefined() ? at : root, source), key, msg);
  }
  YAML::Node field(const std::string& key) const {
    YAML::Node n = root[key];
    if (!n.IsDefined() || n.IsNull()) throw err(root, key, "missing");
    if (!n.IsScalar()) throw err(n, key, "must be a scalar");
    return n;
  }
  BigInt hex(const std::string& key) const {
    YAML::Node n = field(key);
    std::string s = n.Scalar();
    if (s.size() > 8192) throw err(n, key, "too long for a key value");
    BigInt v;
    try {
      v = BigInt::from_hex(s);
    } catch (const Error&) {
      throw err(n, key, "must be a positive hexadecimal integer");
    }
    if (v.sign() <= 0) throw err(n, key, "must be a positive hexadecimal integer");
    return v;
  }
  unsigned uint(const std::string& key) const {
    YAML::Node n = field(key);
    const std::string& s = n.Scalar();
    if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos)
      throw err(n, key, "must be a positive integer");
    return static_cast<unsigned>(std::stoul(s));
  }
};

Doc parse_doc(std::string_view text, const std::string& source, const char* kind,
              const std::set<std::string>& allowed) {
  Doc d{yaml::parse(text, source), source};
  if (!d.root.IsMap()) throw d.err(d.root, "kind", std::string("not a ") + kind + " file (expected a YAML mapping)");
  for (auto it = d.root.begin(); it != d.root.end(); ++it) {
    if (!it->first.IsScalar()) throw d.err(it->first, "?", "keys must be scalars");
    if (!allowed.count(it->first.Scalar())) throw d.err(it->first, it->first.Scalar(), "unknown key");
  }
  YAML::Node k = d.field("kind");
  if (k.Scalar() != kind) throw d.err(k, "kind", std::string("expected ") + kind + ", got '" + k.Scalar() + "'");
  YAML::Node v = d.field("version");
  if (v.Scalar() != "1") throw d.err(v, "version", "unsupported version '" + v.Scalar() + "' (this fatectl reads 1)");
  return d;
}

void public_from_doc(const Doc& d, std::shared_ptr<PublicKeyData>& data) {
  unsigned bits = d.uint("bits");
  BigInt n = d.hex("n");
  if (n.bits() != bits) throw d.err(d.root["n"], "n", "has " + std::to_string(n.bits()) + " bits, not the declared " + std::to_string(bits));
  if (bits < 256 || bits > 16384) throw d.err(d.root["bits"], "bits", "must be between 256 and 16384");
  if (mpz_even_p(n.get())) throw d.err(d.root["n"], "n", "must be odd");
  BigInt hs = d.hex("h_s");
  BigInt n2;
  mpz_mul(n2.get(), n.get(), n.get());
  BigInt g;
  mpz_gcd(g.get(), hs.get(), n.get());
  BigInt hs2;
  mpz_powm_ui(hs2.get(), hs.get(), 2, n2.get());
  if (!(hs < n2) || mpz_cmp_ui(g.get(), 1) != 0 || mpz_cmp_ui(hs2.get(), 1) == 0)
    throw d.err(d.root["h_s"], "h_s", "is not a valid fixed-base generator for n");
  data = detail::make_public(n, hs);
  YAML::Node fp = d.root["fingerprint"];
  if (fp.IsDefined() && fp.IsScalar() && fp.Scalar() != data->fingerprint)
    throw d.err(fp, "fingerprint", "does not match n (the file was altered or truncated)");
}

std::string public_fields(const PublicKeyData& d) {
  std::string s;
  s += "bits: " + std::to_string(d.bits) + "\n";
  s += "fingerprint: \"" + d.fingerprint + "\"\n";
  s += "n: \"" + d.n.hex() + "\"\n";
  s += "h_s: \"" + d.hs.hex() + "\"\n";
  return s;
}

void write_file(const std::string& path, const std::string& text, mode_t mode, bool exclusive) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC);
  int fd = ::open(path.c_str(), flags, mode);
  if (fd < 0) {
    if (errno == EEXIST) throw invalid(path + ": already exists (use --force to overwrite)");
    throw failed(path + ": cannot create: " + std::strerror(errno));
  }
  if (::fchmod(fd, mode) != 0) {
    int e = errno;
    ::close(fd);
    throw failed(path + ": cannot set mode: " + std::strerror(e));
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t w = ::write(fd, text.data() + off, text.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw failed(path + ": write failed: " + std::strerror(e));
    }
    off += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw failed(path + ": write failed: " + std::strerror(errno));
}

}  // namespace

std::string PublicKey::serialize() const {
  if (!d_) throw invalid("no public key");
  return std::string("# fatectl Paillier public key (g = n + 1; h_s = DJN fixed base)\nkind: ") + kPublicKind +
         "\nversion: 1\n" + public_fields(*d_);
}

PublicKey PublicKey::parse(std::string_view text, const std::string& source) {
  return yaml::at_edge(source, [&] { return parse_public(text, source); });
}

PublicKey PublicKey::parse_public(std::string_view text, const std::string& source) {
  Doc d = parse_doc(text, source, kPublicKind, {"kind", "version", "bits", "fingerprint", "n", "h_s"});
  std::shared_ptr<PublicKeyData> data;
  public_from_doc(d, data);
  PublicKey pk;
  pk.d_ = data;
  pk.set_obfuscation(Obfuscation::FixedBase, 0);
  return pk;
}

PublicKey PublicKey::load(const std::string& path) { return parse(yaml::read_file(path), path); }

void PublicKey::save(const std::string& path) const { write_file(path, serialize(), 0644, false); }

std::string PrivateKey::serialize() const {
  if (!d_) throw invalid("no private key");
  return std::string("# fatectl Paillier PRIVATE key: keep it secret, mode 0600\nkind: ") + kPrivateKind +
         "\nversion: 1\n" + public_fields(pub_.data()) + "p: \"" + d_->p.hex() + "\"\nq: \"" + d_->q.hex() + "\"\n";
}

PrivateKey PrivateKey::parse(std::string_view text, const std::string& source) {
  return yaml::at_edge(source, [&] { return parse_private(text, source); });
}

PrivateKey PrivateKey::parse_private(std::string_view text, const std::string& source) {
  Doc d = parse_doc(text, source, kPrivateKind, {"kind", "version", "bits", "fingerprint", "n", "h_s", "p", "q"});
  std::shared_ptr<PublicKeyData> data;
  public_from_doc(d, data);
  BigInt p = d.hex("p"), q = d.hex("q");
  BigInt n;
  mpz_mul(n.get(), p.get(), q.get());
  if (!(n == data->n)) throw d.err(d.root["p"], "p", "p·q does not equal n");
  // Balanced primes: a small factor makes n easy to factor (trial division, ECM), whatever its
  // size. fatectl's keys have two primes of exactly bits/2 bits; allow a little slack for keys
  // made elsewhere. Checked before the (expensive) primality tests.
  const size_t half = data->bits / 2, slack = 32;
  for (const auto& [key, v] : {std::pair<const char*, const BigInt*>{"p", &p}, {"q", &q}})
    if (v->bits() + slack < half)
      throw d.err(d.root[key], key,
                  std::string("is a ") + std::to_string(v->bits()) + "-bit factor; the primes of a " + std::to_string(data->bits) +
                      "-bit key have about " + std::to_string(half) + " bits each (a small factor makes n easy to factor)");
  if (p == q) throw d.err(d.root["q"], "q", "equals p; p and q must be distinct primes");
  if (mpz_probab_prime_p(p.get(), 25) == 0) throw d.err(d.root["p"], "p", "is not a prime");
  if (mpz_probab_prime_p(q.get(), 25) == 0) throw d.err(d.root["q"], "q", "is not a prime");
  PrivateKey sk;
  sk.pub_.d_ = data;
  sk.pub_.set_obfuscation(Obfuscation::FixedBase, 0);
  sk.d_ = detail::make_private(p, q);
  // The key holder can check that h_s is an n-th residue: h_s^(p-1) ≡ 1 mod p², same for q.
  BigInt t;
  mpz_powm(t.get(), data->hs.get(), sk.d_->pm1.get(), sk.d_->p2.get());
  bool ok = mpz_cmp_ui(t.get(), 1) == 0;
  mpz_powm(t.get(), data->hs.get(), sk.d_->qm1.get(), sk.d_->q2.get());
  ok = ok && mpz_cmp_ui(t.get(), 1) == 0;
  if (!ok) throw d.err(d.root["h_s"], "h_s", "is not an n-th residue mod n² (not generated for this key)");
  return sk;
}

PrivateKey PrivateKey::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw invalid(path + ": cannot read private key: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw invalid(path + ": private key is not a regular file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw invalid(path + ": private key file is accessible by group or others (mode " + mode + "); run: chmod 600 " + path);
  }
  return parse(yaml::read_file(path), path);
}

void PrivateKey::save(const std::string& path, bool overwrite) const {
  write_file(path, serialize(), 0600, !overwrite);
}

}  // namespace fatectl::he
