#include "fatectl/federation/edit.h"

#include <doctest/doctest.h>

#include "fatectl/core/error.h"

using namespace fatectl::federation;

namespace {
const char* kFile =
    "# our federation\nfederation: t1   # the name\nengine: Pulsar\nexchange:\n  context: a\nparties:\n"
    "  # bank A\n  - id: 9999\n    context: b\n  - id: 10000\n    context: c\n\n# the end\n";
}

TEST_CASE("add-party appends one entry and leaves every other byte") {
  PartyEntry e;
  e.id = 10001;
  e.context = "d";
  e.address = "10.0.0.3";
  std::string out = append_party(kFile, "f.yaml", e);
  CHECK(out ==
        "# our federation\nfederation: t1   # the name\nengine: Pulsar\nexchange:\n  context: a\nparties:\n"
        "  # bank A\n  - id: 9999\n    context: b\n  - id: 10000\n    context: c\n  - id: 10001\n    context: d\n"
        "    address: 10.0.0.3\n\n# the end\n");
  CHECK_THROWS_AS(append_party(out, "f.yaml", e), fatectl::Error);  // already there
}

TEST_CASE("remove-party drops the entry with the comment above it") {
  std::string out = drop_party(kFile, "f.yaml", 9999);
  CHECK(out ==
        "# our federation\nfederation: t1   # the name\nengine: Pulsar\nexchange:\n  context: a\nparties:\n"
        "  - id: 10000\n    context: c\n\n# the end\n");
  CHECK_THROWS_AS(drop_party(kFile, "f.yaml", 12345), fatectl::Error);
  PartyEntry two;
  two.id = 2;
  CHECK_THROWS_AS(append_party("federation: t\nparties: [{id: 1}]\n", "f.yaml", two), fatectl::Error);
}
