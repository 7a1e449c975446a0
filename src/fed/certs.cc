#include "fatectl/fed/certs.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fatectl/core/error.h"
#include "ossl.h"

namespace fatectl::fed {
namespace {

using ossl::Pkey;
using ossl::X509p;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw invalid(path + ": cannot read: " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

void write_public_file(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw failed(tmp + ": cannot write: " + std::strerror(errno));
    f << data;
    if (!f.flush()) throw failed(tmp + ": write failed: " + std::strerror(errno));
  }
  ::chmod(tmp.c_str(), 0644);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw failed(path + ": cannot write: " + std::strerror(errno));
}

void ensure_dir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw invalid(dir + ": not a directory");
    return;
  }
  if (::mkdir(dir.c_str(), 0700) != 0) throw failed(dir + ": cannot create directory: " + std::strerror(errno));
}

Pkey new_key() {
  Pkey k(EVP_EC_gen("P-256"));
  if (!k) throw failed("cannot generate an EC P-256 key: " + ossl::errors());
  return k;
}

std::string key_pem(EVP_PKEY* k) {
  ossl::Bio b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr))
    throw failed("cannot encode a private key: " + ossl::errors());
  char* p = nullptr;
  long n = BIO_get_mem_data(b.get(), &p);
  std::string s(p, n);
  return s;
}

std::string cert_pem(X509* c) {
  ossl::Bio b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(b.get(), c)) throw failed("cannot encode a certificate: " + ossl::errors());
  char* p = nullptr;
  long n = BIO_get_mem_data(b.get(), &p);
  return std::string(p, n);
}

X509p read_cert(const std::string& path) {
  std::string pem = slurp(path);
  ossl::Bio b(BIO_new_mem_buf(pem.data(), (int)pem.size()));
  X509p c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) throw invalid(path + ": not a PEM certificate (" + ossl::errors() + ")");
  return c;
}

Pkey read_key(const std::string& path) {
  check_private_key_file(path);
  std::string pem = slurp(path);
  ossl::Bio b(BIO_new_mem_buf(pem.data(), (int)pem.size()));
  Pkey k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!k) throw invalid(path + ": not a PEM private key (" + ossl::errors() + ")");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw failed("cannot build certificate extension " + value + ": " + ossl::errors());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509p new_cert(EVP_PKEY* pub, X509_NAME* subject, int days) {
  X509p c(X509_new());
  X509_set_version(c.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) throw failed("no randomness for a serial number");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), (long)days * 86400);
  X509_set_subject_name(c.get(), subject);
  X509_set_pubkey(c.get(), pub);
  return c;
}

std::string asn1_time(const ASN1_TIME* t) {
  ossl::Bio b(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(b.get(), t);
  char* p = nullptr;
  long n = BIO_get_mem_data(b.get(), &p);
  return std::string(p, n);
}

CertInfo info_of(X509* c, const std::string& path) {
  CertInfo i;
  i.path = path;
  char* s = X509_NAME_oneline(X509_get_subject_name(c), nullptr, 0);
  i.subject = s ? s : "";
  OPENSSL_free(s);
  i.not_after = asn1_time(X509_get0_notAfter(c));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(c, EVP_sha256(), md, &n);
  static const char* hex = "0123456789ABCDEF";
  for (unsigned i2 = 0; i2 < n; ++i2) {
    if (i2) i.sha256 += ':';
    i.sha256 += hex[md[i2] >> 4];
    i.sha256 += hex[md[i2] & 15];
  }
  return i;
}

bool valid_domain(const std::string& d) {
  if (d.empty() || d.size() > 200 || d.front() == '.' || d.back() == '.' || d.front() == '-') return false;
  for (char c : d)
    if (!(std::isalnum((unsigned char)c) || c == '-' || c == '.')) return false;
  return d.find("..") == std::string::npos;
}

}  // namespace

std::string party_host_name(long party, const std::string& domain) { return std::to_string(party) + "." + domain; }

void check_private_key_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw invalid(path + ": private key not found (" + std::strerror(errno) + ")");
  if (!S_ISREG(st.st_mode)) throw invalid(path + ": private key is not a regular file");
  if (st.st_mode & 077)
    throw invalid(path + ": private key is readable by group or others (mode " +
                  [&] { char b[8]; std::snprintf(b, sizeof b, "%04o", st.st_mode & 07777); return std::string(b); }() +
                  "); run `chmod 600 " + path + "`");
}

void write_private_file(const std::string& path, const std::string& data, bool replace) {
  if (replace) ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) throw invalid(path + ": already exists (use --force to replace it)");
    throw failed(path + ": cannot create: " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);  // whatever the umask
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw failed(path + ": write failed: " + std::strerror(e));
    }
    off += (size_t)n;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) throw failed(path + ": write failed: " + std::strerror(errno));
}

CertInfo init_ca(const std::string& dir, const std::string& domain, int days, bool force) {
  if (!valid_domain(domain))
    throw invalid("--domain '" + domain + "': not a DNS domain (letters, digits, '-' and '.', e.g. fate.org)");
  if (days < 1) throw invalid("--days must be at least 1");
  ensure_dir(dir);
  CertDir d{dir};
  if (exists(d.ca_key()) && !force)
    throw invalid(d.ca_key() + ": a CA already exists here (use --force to replace it; every party certificate must then be issued again)");
  Pkey key = new_key();
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char*)"fatectl federation", -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char*)domain.c_str(), -1, -1, 0);
  std::string cn = "fatectl CA " + domain;
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char*)cn.c_str(), -1, -1, 0);
  X509p cert = new_cert(key.get(), name, days);
  X509_set_issuer_name(cert.get(), name);
  X509_NAME_free(name);
  add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  // The CA may only vouch for names under the federation's domain.
  add_ext(cert.get(), cert.get(), NID_name_constraints, "critical,permitted;DNS:." + domain);
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) throw failed("cannot sign the CA certificate: " + ossl::errors());
  std::string pem = key_pem(key.get());
  write_private_file(d.ca_key(), pem, force);
  OPENSSL_cleanse(pem.data(), pem.size());
  write_public_file(d.ca_cert(), cert_pem(cert.get()));
  return info_of(cert.get(), d.ca_cert());
}

std::string ca_domain(const std::string& dir) {
  CertDir d{dir};
  X509p ca = read_cert(d.ca_cert());
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(ca.get()), NID_organizationalUnitName, buf, sizeof buf);
  if (n <= 0) throw invalid(d.ca_cert() + ": not a fatectl federation CA (no OU naming the domain)");
  return std::string(buf, n);
}

CertInfo issue_party_cert(const std::string& dir, long party, int days, bool force) {
  if (party <= 0) throw invalid("--party must be a positive party id, e.g. 10000");
  if (days < 1) throw invalid("--days must be at least 1");
  CertDir d{dir};
  if (!exists(d.ca_key()))
    throw invalid(d.ca_key() + ": no CA in " + dir + " (create one with `fatectl certs init --domain DOMAIN --dir " + dir + "`)");
  std::string domain = ca_domain(dir);
  X509p ca = read_cert(d.ca_cert());
  Pkey ca_key = read_key(d.ca_key());
  if (exists(d.party_key(party)) && !force)
    throw invalid(d.party_key(party) + ": already exists (use --force to replace it)");
  std::string host = party_host_name(party, domain);
  Pkey key = new_key();
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char*)"fatectl federation", -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char*)host.c_str(), -1, -1, 0);
  X509p cert = new_cert(key.get(), name, days);
  X509_NAME_free(name);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(cert.get(), ca.get(), NID_subject_alt_name, "DNS:" + host);
  add_ext(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256()))
    throw failed("cannot sign the certificate of party " + std::to_string(party) + ": " + ossl::errors());
  std::string pem = key_pem(key.get());
  write_private_file(d.party_key(party), pem, force);
  OPENSSL_cleanse(pem.data(), pem.size());
  write_public_file(d.party_cert(party), cert_pem(cert.get()));
  return info_of(cert.get(), d.party_cert(party));
}

CertInfo describe_cert(const std::string& path) {
  X509p c = read_cert(path);
  return info_of(c.get(), path);
}

}  // namespace fatectl::fed
