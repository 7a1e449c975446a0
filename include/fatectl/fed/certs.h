#pragma once
// Federation certificates: one CA per federation, one certificate per party named
// `<partyId>.<domain>` (the name the Exchange routes by SNI), EC P-256 keys written 0600.
#include <string>

namespace fatectl::fed {

/// The files of a certificates directory: ca.crt/ca.key and <party>.crt/<party>.key.
struct CertDir {
  std::string dir;
  std::string ca_cert() const { return dir + "/ca.crt"; }
  std::string ca_key() const { return dir + "/ca.key"; }
  std::string party_cert(long party) const { return dir + "/" + std::to_string(party) + ".crt"; }
  std::string party_key(long party) const { return dir + "/" + std::to_string(party) + ".key"; }
};

/// "<party>.<domain>": the certificate name (CN and DNS SAN) and the SNI of a party.
std::string party_host_name(long party, const std::string& domain);

/// What `certs init` / `certs issue` report.
struct CertInfo {
  std::string path;       ///< the certificate file
  std::string subject;    ///< e.g. "CN=10000.fate.org"
  std::string not_after;  ///< e.g. "Nov 30 04:47:55 2036 GMT"
  std::string sha256;     ///< fingerprint, hex with colons
};

/// Creates a federation CA for `domain` in `dir` (created 0700 if missing). Refuses to overwrite
/// an existing ca.key unless `force`. The domain is recorded in the CA's subject (OU).
CertInfo init_ca(const std::string& dir, const std::string& domain, int days = 3650, bool force = false);

/// The domain a CA in `dir` was created for.
std::string ca_domain(const std::string& dir);

/// Issues `<party>.<domain>` signed by the CA in `dir` (key and certificate as <party>.key/.crt).
/// Refuses to overwrite an existing key unless `force`.
CertInfo issue_party_cert(const std::string& dir, long party, int days = 825, bool force = false);

/// Throws fatectl::Error(Invalid) when a private key file is readable by group or others
/// (or is missing); the message says to `chmod 600` it.
void check_private_key_file(const std::string& path);

/// Writes `data` to a new file created with mode 0600 (replacing an existing file only when
/// `replace`); used for every private key fatectl writes.
void write_private_file(const std::string& path, const std::string& data, bool replace);

/// Reads a certificate's summary (subject, expiry, fingerprint).
CertInfo describe_cert(const std::string& path);

}  // namespace fatectl::fed
