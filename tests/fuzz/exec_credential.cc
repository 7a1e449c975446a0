// Fuzz target: what an exec credential plugin prints (an ExecCredential JSON object), as
// `fatectl` reads it before talking to the API server with the token or client certificate.
#include <cstddef>
#include <cstdint>

#include "fatectl/core/log.h"
#include "fatectl/kube/kubeconfig.h"
#include "fuzz_util.h"

using namespace fatectl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::text(data, size);
  const std::string what = "exec credential plugin 'fuzz' (context 'c')";
  // A plugin is a program the operator chose; bad output means the cluster cannot be reached
  // with it (exit 3), never a crash or a wrapped expiry time.
  fuzz::run([&] {
    kube::ExecCredential c = kube::parse_exec_credential(text, "client.authentication.k8s.io/v1", what);
    if (c.expires) (void)kube::format_rfc3339(*c.expires);
  }, {{ErrorKind::Unreachable}, what});
  log::clear_secrets();
  return 0;
}
