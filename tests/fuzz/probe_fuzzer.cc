// Fuzz target for the `kind: auto` decision: one input is one raw reply,
// given as the version and devdetails replies and as the web page with
// each status and header the table reads. A decision must name a table
// kind the filter allows; the probe must end within its three steps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporters/probe.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rigwatch;
  const std::string body(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> table = probe::TableKinds();
  const probe::KindFilter all = [](std::string_view) { return true; };
  const probe::KindFilter none = [](std::string_view) { return false; };
  for (int status : {200, 307, 401, 404}) {
    probe::Replies r;
    r.version = Response{Status::Ok(), 0, body};
    r.devdetails = Response{Status::Ok(), 0, body};
    r.web = Response{Status::Ok(), status, body, body, body};
    if (std::optional<probe::Decision> d = probe::Decide(r, all)) {
      if (std::find(table.begin(), table.end(), d->kind) == table.end()) {
        fuzz::Fail("decision names a kind outside the table");
      }
      if (d->evidence.empty()) fuzz::Fail("decision without evidence");
    }
    if (probe::Decide(r, none)) fuzz::Fail("decision for a filtered kind");
    if (probe::Explain(r).empty()) fuzz::Fail("empty explanation");
    // Step by step, as the poller runs it: at most three steps.
    probe::Replies steps;
    int n = 0;
    while (std::optional<probe::Source> s = probe::NextStep(steps, all)) {
      if (++n > 3) fuzz::Fail("probe did not end in three steps");
      switch (*s) {
        case probe::Source::kVersion:
          steps.version = r.version;
          break;
        case probe::Source::kDevdetails:
          steps.devdetails = r.devdetails;
          break;
        case probe::Source::kWeb:
          steps.web = r.web;
          break;
      }
    }
  }
  return 0;
}
