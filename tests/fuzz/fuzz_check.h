// Invariants every parser outcome must hold under fuzzing; a violation aborts
// so both libFuzzer and the replay runner report it.
#ifndef RIGWATCH_TESTS_FUZZ_FUZZ_CHECK_H_
#define RIGWATCH_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "exporters/exporter.h"

namespace rigwatch::fuzz {

[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

// Samples have a name and finite values; an error has a message.
inline void CheckOutcome(const Result<ScrapeResult>& r) {
  if (!r.ok()) {
    if (r.status().message().empty()) Fail("error without a message");
    return;
  }
  for (const Sample& s : r->samples) {
    if (s.name.empty()) Fail("sample without a name");
    if (!std::isfinite(s.value)) Fail("non-finite sample value");
    for (const Label& l : s.labels) {
      if (l.name.empty()) Fail("empty label name");
    }
  }
  if (r->uptime_seconds && !std::isfinite(*r->uptime_seconds)) {
    Fail("non-finite uptime");
  }
}

inline void CheckStatus(const Status& st) {
  if (!st.ok() && st.message().empty()) Fail("error without a message");
}

}  // namespace rigwatch::fuzz

#endif  // RIGWATCH_TESTS_FUZZ_FUZZ_CHECK_H_
