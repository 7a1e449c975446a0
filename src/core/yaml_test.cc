#include "fatectl/core/yaml.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>

using namespace fatectl;

TEST_CASE("scalar typing follows quoting and the YAML 1.2 core schema") {
  YAML::Node n = yaml::parse("a: 80\nb: \"80\"\nc: true\nd: 'yes'\ne: 1.5\nf: ~\ng: abc\n", "t.yaml");
  CHECK(yaml::scalar_type(n["a"]) == yaml::ScalarType::Int);
  CHECK(yaml::scalar_type(n["b"]) == yaml::ScalarType::String);
  CHECK(yaml::scalar_type(n["c"]) == yaml::ScalarType::Bool);
  CHECK(yaml::scalar_type(n["d"]) == yaml::ScalarType::String);
  CHECK(yaml::scalar_type(n["e"]) == yaml::ScalarType::Float);
  CHECK(yaml::scalar_type(n["f"]) == yaml::ScalarType::Null);
  CHECK(yaml::scalar_type(n["g"]) == yaml::ScalarType::String);
  CHECK(yaml::scalar_type(yaml::str("9999")) == yaml::ScalarType::String);
}

TEST_CASE("JSON keeps strings that look like numbers quoted") {
  YAML::Node n;
  n["port"] = 9370;
  n["party"] = yaml::str("9999");
  n["on"] = yaml::str("on");
  n["list"].push_back("a\"b\n");
  CHECK(yaml::to_json(n, false) == R"({"port":9370,"party":"9999","on":"on","list":["a\"b\n"]})");
}

TEST_CASE("YAML output parses back to the same typed tree") {
  const char* src = R"(apiVersion: v1
kind: ConfigMap
metadata:
  name: x
  labels: {partyId: "9999", "a:b": "yes"}
data:
  conf: |
    line one
      indented: 1
    # not a comment
  empty: ""
  num: "007"
list:
- a: 1
  b: [1, 2]
- - nested
- {}
- []
- "- dash"
)";
  YAML::Node a = yaml::parse(src, "in");
  std::string out = yaml::to_yaml(a);
  YAML::Node b = yaml::parse(out, "out");
  CHECK(yaml::to_json(a) == yaml::to_json(b));
  CHECK(b["data"]["conf"].Scalar() == "line one\n  indented: 1\n# not a comment\n");
  CHECK(yaml::scalar_type(b["metadata"]["labels"]["partyId"]) == yaml::ScalarType::String);
  CHECK(yaml::scalar_type(b["metadata"]["labels"]["a:b"]) == yaml::ScalarType::String);
}

TEST_CASE("JSON parses through yaml-cpp with escapes and big integers") {
  YAML::Node n = yaml::parse(R"({"a":"x\/y\u00e9\t","b":12345678901234567890,"c":[true,null],"d":"12"})", "j");
  CHECK(n["a"].Scalar() == "x/y\xc3\xa9\t");
  CHECK(yaml::to_json(n, false) == "{\"a\":\"x/y\xc3\xa9\\t\",\"b\":12345678901234567890,\"c\":[true,null],\"d\":\"12\"}");
}

TEST_CASE("parse errors name the file and line") {
  try {
    yaml::parse("a: [1, 2\nb: 3\n", "broken.yaml");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Invalid);
    CHECK(std::string(e.what()).rfind("broken.yaml:", 0) == 0);
  }
}

TEST_CASE("number forms are recognised by scanners, whatever the length") {
  using yaml::ScalarType;
  for (const char* f : {"1.5", "-.5", "+3.", "1e3", "2.5E-07", ".inf", "-.Inf", ".NaN"})
    CHECK_MESSAGE(yaml::resolve_plain(f) == ScalarType::Float, f);
  for (const char* s : {"1.2.3", "e3", "1e", "1e+", ".", "-.nan", "0x1F", "1_000", "--1"})
    CHECK_MESSAGE(yaml::resolve_plain(s) == ScalarType::String, s);
  // a regex matcher recursed once per character here and overflowed the stack
  std::string long_float = "1." + std::string(2'000'000, '0');
  CHECK(yaml::resolve_plain(long_float) == ScalarType::Float);
  std::string long_word = "1." + std::string(2'000'000, '0') + "x";
  CHECK(yaml::resolve_plain(long_word) == ScalarType::String);
}

TEST_CASE("JSON numbers: leading zeros dropped in one pass, non-JSON floats normalised") {
  YAML::Node n = yaml::parse("a: 0007\nb: -000\nc: +12\nd: 1.\ne: .5\nf: 1.5e3\ng: .inf\n", "t.yaml");
  CHECK(yaml::to_json(n, false) == R"({"a":7,"b":-0,"c":12,"d":1,"e":0.5,"f":1.5e3,"g":null})");
  std::string big = "x: " + std::string(1 << 20, '0') + "42\n";  // quadratic before: ~10^12 byte moves
  CHECK(yaml::to_json(yaml::parse(big, "t.yaml"), false) == R"({"x":42})");
}

TEST_CASE("a document loop always ends: a lone ',' is a syntax error, not a spin") {
  CHECK_THROWS_WITH_AS(yaml::parse_all(",", "t.yaml"), "t.yaml:1:1: unexpected ',' outside a flow collection ([...] or {...})",
                       Error);
  CHECK(yaml::parse_all("--- a\n--- b\n", "t.yaml").size() == 2);
}

TEST_CASE("messages quote hostile values short and on one line") {
  CHECK(yaml::quote_excerpt("abc") == "\"abc\"");
  CHECK(yaml::quote_excerpt(std::string(100, 'x'), 10) == "\"xxxxxxx...\"");
  CHECK(one_line("a\nb\rc", 200) == "a b c");
  CHECK(one_line(std::string(300, 'y'), 10) == "yyyyyyy...");
  CHECK(std::string(invalid("two\nlines").what()) == "two lines");
  Error e = invalid_at(Location{"f.yaml", 1, 2}, std::string(500, 'k'), "bad");
  CHECK(std::string(e.what()).size() < 150);
}

TEST_CASE("library exceptions become located Invalid errors at the edge") {
  YAML::Node n = yaml::parse("a: [1, 2]\nb: x\n", "t.yaml");
  CHECK_THROWS_WITH_AS(yaml::at_edge("t.yaml", [&] { return n["b"]["key"].Scalar(); }),
                       doctest::Contains("t.yaml:2:4: operator[] call on a scalar"), Error);
  CHECK_THROWS_WITH_AS(yaml::at_edge("t.yaml", [&] { return n["a"][0].as<bool>(); }),
                       doctest::Contains("t.yaml:1:5: bad conversion"), Error);
  CHECK_THROWS_WITH_AS(yaml::at_edge("t.yaml", [] { return std::stoi("99999999999"); }),
                       doctest::Contains("t.yaml: a value is out of range"), Error);
  CHECK_THROWS_AS(yaml::at_edge("t.yaml", []() -> int { throw failed("kept"); }), Error);
}

TEST_CASE("read_file refuses past 16 MiB without reading it whole") {
  std::string path = "/tmp/fatectl-yaml-test-big-" + std::to_string(::getpid());
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::string block(1 << 20, 'x');
    for (int i = 0; i < 17; ++i) std::fwrite(block.data(), 1, block.size(), f);
    std::fclose(f);
  }
  CHECK_THROWS_WITH_AS(yaml::read_file(path), doctest::Contains("larger than 16 MiB"), Error);
  std::remove(path.c_str());
}

TEST_CASE("dig: a missing step or a non-mapping gives an undefined node, never InvalidNode") {
  const YAML::Node m = YAML::Load("train: {curves: {roc: [1, 2]}, note: n}\nlist: [1]\nscalar: 3");
  CHECK(yaml::dig(m, {"train", "curves", "roc"}).size() == 2);
  CHECK(yaml::dig(m, {"train", "note"}).Scalar() == "n");
  CHECK_FALSE(yaml::dig(m, {"validate", "curves", "roc"}));  // m["validate"]["curves"] would throw
  CHECK_FALSE(yaml::dig(m, {"list", "x"}));
  CHECK_FALSE(yaml::dig(m, {"scalar", "x"}));
  CHECK_FALSE(yaml::dig(YAML::Node(), {"a"}));
  CHECK_FALSE(m["validate"]);  // dig created nothing
}
