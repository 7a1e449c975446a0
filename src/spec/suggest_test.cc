#include "fatectl/spec/suggest.h"

#include <doctest/doctest.h>

using namespace fatectl::spec;

TEST_CASE("edit distance counts edits, case differences half") {
  CHECK(edit_distance2("nodePort", "nodePort") == 0);
  CHECK(edit_distance2("nodeport", "nodePort") == 1);   // case only
  CHECK(edit_distance2("namepsace", "namespace") == 2);  // one swap
  CHECK(edit_distance2("limit", "limits") == 2);
  CHECK(edit_distance2("", "abc") == 6);
}

TEST_CASE("nearest suggests plausible typos only") {
  std::vector<std::string> keys = {"type", "nodePort", "loadBalancerIP", "partyList", "exchange"};
  CHECK(nearest("nodeport", keys) == "nodePort");
  CHECK(nearest("partylist", keys) == "partyList");
  CHECK(nearest("exchnage", keys) == "exchange");
  CHECK(nearest("tpye", keys) == "type");
  CHECK(nearest("replicas", keys) == "");  // nothing close
  CHECK(nearest("x", {}) == "");
  std::string junk(1000, 'a');
  CHECK(nearest(junk, keys) == "");
}
