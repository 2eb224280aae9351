// Fuzz target for the whatsminer exporter: one input is one raw reply, parsed
// as every command of a poll, as the first reply of a full poll, and through
// the signed restart chain (each next step, the final verdict), so the
// decryption of an {"enc":...} reply sees hostile input too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/whatsminer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const Exporter& e = whatsminer::GetExporter();
  fuzz::CheckCommandExporter(
      body, {"summary", "edevs", "pools", "devdetails", "get_version"},
      &whatsminer::ParseReply, e);
  Response r;
  r.body = body;
  const Credentials login{"admin", "admin"};
  for (size_t n = 1; n <= 5; ++n) {
    std::vector<Response> rs(n, r);
    fuzz::CheckStatus(e.NextSignedRestartRequest(rs, login).status());
    if (n >= 3) fuzz::CheckStatus(e.ParseSignedRestartReply(rs, login));
  }
  return 0;
}
