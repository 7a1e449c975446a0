// Fuzz target: a federation file as `fatectl federation validate|up|add-party|remove-party` reads
// it — strict validation, the specs generated for each party and the Exchange (re-validated as
// KubeFATE specs), and the text edits add-party and remove-party make.
#include <cstddef>
#include <cstdint>

#include "fatectl/federation/edit.h"
#include "fatectl/federation/federation.h"
#include "fatectl/federation/sites.h"
#include "fatectl/spec/cluster_spec.h"
#include "fuzz_util.h"

using namespace fatectl;

namespace {

/// A generated spec must be one KubeFATE accepts: fatectl wrote it, so a refusal is a finding.
void must_validate(const std::string& text, const char* what) {
  spec::Report r;
  fuzz::run([&] { r = spec::check(text, what); });
  if (!r.ok()) fuzz::finding(std::string(what) + " generated from a valid federation is refused: " + r.errors.front().str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(fuzz::text(data, size));
  // A folder without spec files: a `spec:` key names a file that is not there (one error).
  const std::string file = "/nonexistent-fatectl-fuzz/federation.yaml";
  federation::Report r;
  fuzz::run([&] { r = federation::check(text, file); });  // documented never to throw
  for (const auto* list : {&r.errors, &r.warnings})
    for (const auto& d : *list) {
      std::string line = d.str();
      if (d.where.file.empty()) fuzz::finding("diagnostic without the file name: " + line);
      if (line.find('\n') != std::string::npos) fuzz::finding("diagnostic of more than one line: " + line);
      if (line.size() > 4096)
        fuzz::finding("diagnostic of " + std::to_string(line.size()) + " bytes (echoes a whole value?): " + line.substr(0, 300));
    }
  if (r.ok()) {
    const federation::Federation& f = r.fed;
    federation::ExchangeAddress ex;
    ex.host = "10.0.0.1";
    ex.sni_port = 30443;
    ex.nginx_http = 30300;
    ex.nginx_grpc = 30310;
    ex.rollsite_port = 30370;
    fuzz::run([&] {
      for (const auto& p : f.parties) must_validate(federation::party_spec_text(f, p, ex), "party spec");
      must_validate(federation::exchange_base_text(f), "exchange spec");
      (void)f.member_list();
    }, {{ErrorKind::Invalid}});
  }
  // add-party and remove-party edit the text: a result that reads back, or a refusal (exit 2).
  federation::PartyEntry e;
  e.id = 10042;
  e.context = "bank-z";
  e.address = "10.0.0.42";
  fuzz::run([&] { (void)federation::append_party(text, file, e); }, {{ErrorKind::Invalid}});
  fuzz::run([&] { (void)federation::drop_party(text, file, 9999); }, {{ErrorKind::Invalid}});
  return 0;
}
