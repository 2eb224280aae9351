// Fuzz target for the cgminer exporter: one input is one raw reply, parsed as
// every section, as the summary of a full poll and as a restart reply.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporters/cgminer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  std::string body(reinterpret_cast<const char*>(data), size);
  for (cgminer::Section s :
       {cgminer::Section::kSummary, cgminer::Section::kDevs,
        cgminer::Section::kPools, cgminer::Section::kStats}) {
    ScrapeResult out;
    Status st = cgminer::ParseSection(s, body, out);
    fuzz::CheckStatus(st);
    if (st.ok()) fuzz::CheckOutcome(out);
  }
  Response r;
  r.body = body;
  std::vector<Response> rs = {r, r, r, r};
  fuzz::CheckOutcome(cgminer::GetExporter().Parse(rs));
  fuzz::CheckStatus(cgminer::GetExporter().ParseRestartReply(r));
  return 0;
}
