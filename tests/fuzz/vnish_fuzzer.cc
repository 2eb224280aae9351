// Fuzz target for the vnish exporter: one input is one raw body, parsed as a
// summary (alone and with itself as info), as the replies of a full poll
// under several HTTP statuses, and through the restart chain (each next
// step after unlock/reboot replies, the final verdict).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/vnish.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const Exporter& e = vnish::GetExporter();
  fuzz::CheckOutcome(vnish::ParseSummary(body, ""));
  fuzz::CheckOutcome(vnish::ParseSummary(body, body));
  for (int status : {200, 401, 403, 429, 500}) {
    Response r;
    r.http_status = status;
    r.body = body;
    fuzz::CheckOutcome(e.Parse(std::vector<Response>(2, r)));
    for (size_t n = 1; n <= 4; ++n) {
      fuzz::CheckStatus(
          e.NextRestartRequest(std::vector<Response>(n, r)).status());
    }
    fuzz::CheckStatus(e.ParseRestartReply(r));
  }
  return 0;
}
