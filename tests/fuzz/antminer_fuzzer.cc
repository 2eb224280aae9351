// Fuzz target for the antminer exporter: one input is one raw reply, parsed as
// every command of a poll (the 4028 ones and the web CGI pages), as every
// reply of a full poll, as the CGI pages of a poll whose API failed, and
// through the restart path (the next step of the chain, the final verdict).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/antminer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const Exporter& e = antminer::GetExporter();
  fuzz::CheckCommandExporter(
      body, {"summary", "pools", "stats", "stats.cgi", "summary.cgi"},
      &antminer::ParseReply, e);
  // The fallback: the API refused, both CGI pages answered 200 with `body`.
  Response refused;
  refused.transport = UnavailableError("connect: Connection refused");
  Response page;
  page.http_status = 200;
  page.body = body;
  fuzz::CheckOutcome(e.Parse(std::vector<Response>{
      refused, NotSentResponse(), NotSentResponse(), page, page}));
  return 0;
}
