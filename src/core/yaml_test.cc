#include "fatectl/core/yaml.h"

#include <doctest/doctest.h>

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
