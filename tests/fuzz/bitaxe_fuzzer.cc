// Fuzz target for the bitaxe exporter: one input is one /api/system/info
// body, also run through Parse (HTTP 200) and as a restart reply.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/bitaxe.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  std::string body(reinterpret_cast<const char*>(data), size);
  fuzz::CheckOutcome(bitaxe::ParseInfo(body));
  Response r;
  r.http_status = 200;
  r.body = body;
  std::vector<Response> rs = {r};
  fuzz::CheckOutcome(bitaxe::GetExporter().Parse(rs));
  fuzz::CheckStatus(bitaxe::GetExporter().ParseRestartReply(r));
  return 0;
}
