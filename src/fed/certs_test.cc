#include "fatectl/fed/certs.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "../../tests/fed/fed_test_util.h"
#include "fatectl/core/error.h"

using namespace fatectl;
using namespace fatectl::fed;
using namespace fatectl::fed::testutil;

namespace {
int mode_of(const std::string& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("certs init creates a CA for the domain, key 0600") {
  TempDir t;
  std::string dir = t.sub("certs");
  auto ca = init_ca(dir, "fate.org");
  CHECK(ca.subject.find("OU=fate.org") != std::string::npos);
  CHECK(mode_of(CertDir{dir}.ca_key()) == 0600);
  CHECK(mode_of(dir) == 0700);
  CHECK(ca_domain(dir) == "fate.org");
  CHECK(error_of([&] { init_ca(dir, "fate.org"); }).find("a CA already exists") != std::string::npos);
  CHECK_NOTHROW(init_ca(dir, "fate.org", 10, true));
  CHECK(error_of([&] { init_ca(t.sub("x"), "bad domain"); }).find("not a DNS domain") != std::string::npos);
}

TEST_CASE("certs issue names the party <id>.<domain> and writes its key 0600") {
  TempDir t;
  init_ca(t.path, "fate.org");
  auto c = issue_party_cert(t.path, 10000);
  CHECK(c.subject.find("CN=10000.fate.org") != std::string::npos);
  CHECK(mode_of(CertDir{t.path}.party_key(10000)) == 0600);
  CHECK(mode_of(CertDir{t.path}.party_cert(10000)) == 0644);
  CHECK(error_of([&] { issue_party_cert(t.path, 10000); }).find("already exists") != std::string::npos);
  CHECK(error_of([&] { issue_party_cert(t.sub("none"), 1); }).find("fatectl certs init") != std::string::npos);
  CHECK(error_of([&] { issue_party_cert(t.path, 0); }).find("positive party id") != std::string::npos);
}

TEST_CASE("private keys readable by group or others are refused") {
  TempDir t;
  init_ca(t.path, "fate.org");
  std::string key = CertDir{t.path}.ca_key();
  CHECK_NOTHROW(check_private_key_file(key));
  ::chmod(key.c_str(), 0640);
  std::string err = error_of([&] { check_private_key_file(key); });
  CHECK(err.find("readable by group or others") != std::string::npos);
  CHECK(err.find("chmod 600") != std::string::npos);
  // and issuing with such a CA key is refused too
  CHECK(error_of([&] { issue_party_cert(t.path, 9999); }).find("chmod 600") != std::string::npos);
  CHECK(error_of([&] { check_private_key_file(t.sub("missing.key")); }).find("not found") != std::string::npos);
}

TEST_CASE("write_private_file never creates a readable file, even with a permissive umask") {
  TempDir t;
  mode_t old = ::umask(0);
  write_private_file(t.sub("k"), "secret", false);
  ::umask(old);
  CHECK(mode_of(t.sub("k")) == 0600);
  CHECK_THROWS_AS(write_private_file(t.sub("k"), "again", false), Error);
  write_private_file(t.sub("k"), "again", true);
  std::ifstream f(t.sub("k"));
  std::string s;
  std::getline(f, s);
  CHECK(s == "again");
}
