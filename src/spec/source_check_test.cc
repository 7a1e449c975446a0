#include "fatectl/spec/source_check.h"

#include <doctest/doctest.h>

using namespace fatectl::spec;

namespace {
std::vector<Diagnostic> scan(const std::string& text, SourceFacts* facts = nullptr) {
  std::vector<Diagnostic> errors;
  SourceFacts f = check_source(text, "t.yaml", errors);
  if (facts) *facts = f;
  return errors;
}
}  // namespace

TEST_CASE("duplicate keys are found with both lines, also nested and as party ids") {
  auto e = scan("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n");
  REQUIRE(e.size() == 2);
  CHECK(e[0].str() == "t.yaml:4:3: b.c: duplicate key 'c' (first at line 3); YAML keeps only one of them, so one setting would be lost");
  CHECK(e[1].where.line == 5);
  CHECK(e[1].key_path == "a");
  // 10000, "10000" and 010000 are the same party
  e = scan("rt:\n  10000: {host: a}\n  \"10000\": {host: b}\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].key_path == "rt.10000");
  // the same key in different list items is fine
  CHECK(scan("l:\n  - name: a\n  - name: b\n").empty());
}

TEST_CASE("binary data and invalid UTF-8 are refused; UTF-8 text is fine") {
  auto e = scan(std::string("a: 1\nb: \x01\x02\n", 10));
  REQUIRE(e.size() == 1);
  CHECK(e[0].where.line == 2);
  CHECK(e[0].message.find("binary") != std::string::npos);
  e = scan("a: M\xfcnchen\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].where.column == 5);
  CHECK(scan("# M\xc3\xbcnchen \xe6\x9d\xad\xe5\xb7\x9e\na: 1\n").empty());
  CHECK(scan("\xEF\xBB\xBF" "a: 1\n").empty());  // byte order mark
  CHECK(!scan(std::string("a: 1\0", 5)).empty());
}

TEST_CASE("tabs in indentation are named with line and key, not inside block scalars") {
  auto e = scan("python:\n  type: NodePort\n\thttpNodePort: 30097\n");
  REQUIRE(!e.empty());
  CHECK(e[0].where.line == 3);
  CHECK(e[0].key_path == "httpNodePort");
  CHECK(e[0].message.find("tab") != std::string::npos);
  CHECK(scan("a: |\n  line\n  \tindented with a tab inside the text\nb: 1\n").empty());
  CHECK(scan("a: 1   \t# tab before a comment\n").empty());
}

TEST_CASE("syntax errors carry the key path where the parser stopped") {
  auto e = scan("name: x\nrollsite:\n  partyList:\n    - partyId: 1\n      partyIp: \"10.0.0");
  REQUIRE(e.size() == 1);
  CHECK(e[0].key_path == "rollsite.partyList[0].partyIp");
  CHECK(e[0].message.find("YAML syntax error") != std::string::npos);
  e = scan("modules: [a, b,\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].key_path.rfind("modules", 0) == 0);
}

TEST_CASE("empty input, several documents, deep nesting, alias floods") {
  SourceFacts f;
  CHECK(scan("", &f).empty());
  CHECK(f.empty);
  CHECK(scan("# only a comment\n\n", &f).empty());
  CHECK(f.empty);
  CHECK(scan("~\n", &f).empty());
  CHECK(f.empty);
  auto e = scan("a: 1\n---\nb: 2\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].where.line == 2);
  e = scan("a: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].message.find("nesting") != std::string::npos);
  std::string flood = "a: &a [1]\nb: [";
  for (int i = 0; i < 1200; ++i) flood += "*a,";
  flood += "*a]\n";
  e = scan(flood);
  REQUIRE(e.size() == 1);
  CHECK(e[0].message.find("aliases") != std::string::npos);
}

TEST_CASE("indent_path guesses the key path from indentation") {
  std::string t = "a:\n  b:\n    # c\n    c: 1\n  d: 2\n";
  CHECK(indent_path(t, 4) == "a.b.c");
  CHECK(indent_path(t, 5) == "a.d");
  CHECK(indent_path(t, 99) == "");
}
