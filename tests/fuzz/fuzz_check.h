// Invariants every parser outcome must hold under fuzzing; a violation aborts
// so both libFuzzer and the replay runner report it.
#ifndef RIGWATCH_TESTS_FUZZ_FUZZ_CHECK_H_
#define RIGWATCH_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// One raw reply through a command-based exporter (the CGMiner-API kinds):
// parsed as each of `commands` by `parse`, as every reply of a full poll,
// and through the restart chain (each next step, the final verdict).
template <typename ParseFn>
void CheckCommandExporter(const std::string& body,
                          const std::vector<std::string_view>& commands,
                          ParseFn parse, const Exporter& e) {
  for (std::string_view c : commands) {
    ScrapeResult out;
    Status st = parse(c, body, out);
    CheckStatus(st);
    if (st.ok()) CheckOutcome(out);
  }
  Response r;
  r.body = body;
  CheckOutcome(e.Parse(std::vector<Response>(commands.size(), r)));
  for (size_t n = 1; n <= 3; ++n) {
    Result<std::optional<Request>> next =
        e.NextRestartRequest(std::vector<Response>(n, r));
    CheckStatus(next.status());
  }
  CheckStatus(e.ParseRestartReply(r));
}

}  // namespace rigwatch::fuzz

#endif  // RIGWATCH_TESTS_FUZZ_FUZZ_CHECK_H_
