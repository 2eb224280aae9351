// Fuzz target for the avalon exporter: one input is one raw reply, parsed as
// every command of a poll, as the first reply of a full poll, and through
// the restart path (the next step of the chain, the final verdict).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/avalon.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  std::string body(reinterpret_cast<const char*>(data), size);
  const std::string_view commands[] = {"summary", "pools", "stats", "version"};
  for (std::string_view c : commands) {
    ScrapeResult out;
    Status st = avalon::ParseReply(c, body, out);
    fuzz::CheckStatus(st);
    if (st.ok()) fuzz::CheckOutcome(out);
  }
  const Exporter& e = avalon::GetExporter();
  Response r;
  r.body = body;
  std::vector<Response> rs(std::size(commands), r);
  fuzz::CheckOutcome(e.Parse(rs));
  for (size_t n = 1; n <= 3; ++n) {
    std::vector<Response> chain(n, r);
    Result<std::optional<Request>> next = e.NextRestartRequest(chain);
    fuzz::CheckStatus(next.status());
  }
  fuzz::CheckStatus(e.ParseRestartReply(r));
  return 0;
}
