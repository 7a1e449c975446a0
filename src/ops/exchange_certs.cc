#include "fatectl/ops/exchange_certs.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "fatectl/core/error.h"
#include "fatectl/core/log.h"
#include "fatectl/core/yaml.h"
#include "fatectl/fed/certs.h"
#include "fatectl/kube/api.h"
#include "fatectl/kube/client.h"
#include "fatectl/kube/kubeconfig.h"

namespace fatectl::ops {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string ossl_err() {
  unsigned long e = ERR_get_error();
  if (!e) return "unknown OpenSSL error";
  char b[256];
  ERR_error_string_n(e, b, sizeof b);
  return b;
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) throw invalid(p + ": cannot read");
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string bio_text(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<size_t>(n));
}

X509Ptr read_cert(const std::string& path) {
  std::string pem = slurp(path);
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr c(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
  if (!c) throw invalid(path + ": not a PEM certificate");
  return c;
}

KeyPtr read_key(const std::string& path) {
  fed::check_private_key_file(path);
  std::string pem = slurp(path);
  BioPtr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr k(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!k) throw invalid(path + ": not a PEM private key");
  return k;
}

// PKCS#8 PEM ("BEGIN PRIVATE KEY"), what Pulsar's broker.key-pk8.pem must be.
std::string pkcs8_pem(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PKCS8PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr))
    throw failed("cannot encode a private key as PKCS#8: " + ossl_err());
  return bio_text(b.get());
}

void ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!e) throw failed("cannot build certificate extension " + value + ": " + ossl_err());
  X509_add_ext(cert, e, -1);
  X509_EXTENSION_free(e);
}

// Issues `host` (CN and DNS SAN) signed by the CA in `dir`; key to <dir>/<stem>.key (0600),
// certificate to <dir>/<stem>.crt. Existing files are reused unless `force`.
void issue_named(const std::string& dir, const std::string& stem, const std::string& host, int days, bool force) {
  std::string crt = dir + "/" + stem + ".crt", key = dir + "/" + stem + ".key";
  if (exists(crt) && exists(key) && !force) return;
  X509Ptr ca = read_cert(dir + "/ca.crt");
  KeyPtr ca_key = read_key(dir + "/ca.key");
  KeyPtr k(EVP_EC_gen("P-256"));
  if (!k) throw failed("cannot generate a key: " + ossl_err());
  X509Ptr c(X509_new());
  X509_set_version(c.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) throw failed("no randomness for a serial number");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -300);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), static_cast<long>(days) * 86400);
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("fatectl federation"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_subject_name(c.get(), name);
  X509_NAME_free(name);
  X509_set_issuer_name(c.get(), X509_get_subject_name(ca.get()));
  X509_set_pubkey(c.get(), k.get());
  ext(c.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  ext(c.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  ext(c.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  ext(c.get(), ca.get(), NID_subject_alt_name, "DNS:" + host);
  ext(c.get(), ca.get(), NID_subject_key_identifier, "hash");
  ext(c.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!X509_sign(c.get(), ca_key.get(), EVP_sha256())) throw failed("cannot sign " + host + ": " + ossl_err());
  std::string kp = pkcs8_pem(k.get());
  fed::write_private_file(key, kp, true);
  OPENSSL_cleanse(kp.data(), kp.size());
  BioPtr b(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(b.get(), c.get());
  std::ofstream f(crt, std::ios::binary | std::ios::trunc);
  f << bio_text(b.get());
  if (!f) throw failed(crt + ": cannot write");
}

std::string b64(const std::string& s) { return kube::base64_encode(s); }

ExchangeSecret secret(const std::string& name, const std::string& ns, const std::vector<std::pair<std::string, std::string>>& files,
                      const std::string& subject) {
  ExchangeSecret s;
  s.name = name;
  s.namespace_ = ns;
  s.subject = subject;
  YAML::Node o;
  o["apiVersion"] = "v1";
  o["kind"] = "Secret";
  o["metadata"]["name"] = yaml::str(name);
  o["metadata"]["namespace"] = yaml::str(ns);
  o["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "fatectl";
  o["metadata"]["labels"][kMadeByLabel] = "certs-exchange";
  o["type"] = "Opaque";
  for (auto& [key, content] : files) {
    if (content.find("PRIVATE KEY") != std::string::npos) log::add_secret(content);
    o["data"][key] = yaml::str(b64(content));
    if (content.find("PRIVATE KEY") != std::string::npos) log::add_secret(b64(content));
  }
  s.object = o;
  return s;
}

}  // namespace

std::vector<ExchangeSecret> make_exchange_certs(const ExchangeCertsOptions& o) {
  if (o.parties.empty()) throw invalid("--parties: give at least one party id, e.g. --parties 9999,10000");
  if (!exists(o.dir + "/ca.key")) {
    fed::init_ca(o.dir, o.domain);
    log::info("created a federation CA for {} in {}", o.domain, o.dir);
  } else {
    std::string d = fed::ca_domain(o.dir);
    if (d != o.domain)
      throw invalid(o.dir + "/ca.crt: the CA there is for domain " + d + ", not " + o.domain + " (use another --dir)");
  }
  std::string ca = slurp(o.dir + "/ca.crt");
  std::vector<ExchangeSecret> out;
  std::string proxy_host = "proxy." + o.domain;
  issue_named(o.dir, "proxy", proxy_host, o.days, o.force);
  out.push_back(secret("traffic-server-cert", o.exchange_namespace,
                       {{"proxy.cert.pem", slurp(o.dir + "/proxy.crt")},
                        {"proxy.key.pem", slurp(o.dir + "/proxy.key")},
                        {"ca.cert.pem", ca}},
                       "CN=" + proxy_host));
  for (long p : o.parties) {
    fed::CertDir cd{o.dir};
    if (!exists(cd.party_cert(p)) || !exists(cd.party_key(p)) || o.force) fed::issue_party_cert(o.dir, p, o.days, true);
    KeyPtr k = read_key(cd.party_key(p));
    std::string pk8 = pkcs8_pem(k.get());
    auto it = o.party_namespaces.find(p);
    std::string ns = it != o.party_namespaces.end() ? it->second : "fate-" + std::to_string(p);
    out.push_back(secret("pulsar-cert", ns,
                         {{"broker.cert.pem", slurp(cd.party_cert(p))}, {"broker.key-pk8.pem", pk8}, {"ca.cert.pem", ca}},
                         "CN=" + fed::party_host_name(p, o.domain)));
    OPENSSL_cleanse(pk8.data(), pk8.size());
  }
  std::string sdir = o.dir + "/secrets";
  ::mkdir(sdir.c_str(), 0700);
  for (auto& s : out) {
    s.file = sdir + "/" + s.name + (s.name == "pulsar-cert" ? "-" + s.namespace_ : "") + ".yaml";
    fed::write_private_file(s.file, yaml::to_yaml(s.object), true);
  }
  return out;
}

std::vector<std::string> apply_exchange_secrets(const std::vector<ExchangeSecret>& s, const std::string& kubeconfig,
                                                const std::string& context, bool create_namespace) {
  kube::LoadOptions lo;
  lo.kubeconfig = kubeconfig;
  lo.context = context;
  kube::Client c(kube::load_config(lo));
  std::vector<std::string> done, missing;
  std::set<std::string> seen;
  for (auto& x : s)
    if (seen.insert(x.namespace_).second && !kube::get(c, kube::ObjectRef{"v1", "Namespace", "", x.namespace_}))
      missing.push_back(x.namespace_);
  auto joined = [](const std::vector<std::string>& v) {
    std::string o;
    for (auto& x : v) o += (o.empty() ? "" : ", ") + x;
    return o;
  };
  if (!missing.empty() && !create_namespace)
    throw failed("namespace" + std::string(missing.size() > 1 ? "s " : " ") + joined(missing) +
                 (missing.size() > 1 ? " do" : " does") + " not exist: pass --create-namespace, or create " +
                 (missing.size() > 1 ? "them" : "it") + " first; nothing was applied");
  std::string step;
  try {
    for (auto& ns : missing) {
      step = "namespace/" + ns;
      YAML::Node n(YAML::NodeType::Map);
      n["apiVersion"] = "v1";
      n["kind"] = "Namespace";
      n["metadata"]["name"] = yaml::str(ns);
      kube::apply(c, n);
      done.push_back("namespace/" + ns + " created");
    }
    for (auto& x : s) {
      step = "Secret " + x.namespace_ + "/" + x.name;
      kube::apply(c, x.object);
      done.push_back(step);
    }
  } catch (const Error& e) {
    throw Error(e.kind(), std::string(e.what()) + " (applying " + step + "); applied before: " +
                              (done.empty() ? std::string("nothing") : joined(done)));
  }
  return done;
}

}  // namespace fatectl::ops
