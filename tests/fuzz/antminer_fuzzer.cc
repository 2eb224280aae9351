// Fuzz target for the antminer exporter: one input is one raw reply, parsed as
// every command of a poll, as the first reply of a full poll, and through
// the restart path (the next step of the chain, the final verdict).
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporters/antminer.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  fuzz::CheckCommandExporter(
      std::string(reinterpret_cast<const char*>(data), size),
      {"summary", "pools", "stats"}, &antminer::ParseReply,
      antminer::GetExporter());
  return 0;
}
