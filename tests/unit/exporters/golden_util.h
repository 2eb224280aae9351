// Helpers for the exporter tests: reading fixture files and rendering a
// parse outcome as stable text for golden comparison.
#ifndef RIGWATCH_TESTS_UNIT_EXPORTERS_GOLDEN_UTIL_H_
#define RIGWATCH_TESTS_UNIT_EXPORTERS_GOLDEN_UTIL_H_

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "agent/common/status.h"
#include "exporters/exporter.h"
#include "tests/support/files.h"

namespace rigwatch::testing {

// The repository root (RIGWATCH_SOURCE_DIR, set by CTest) or ".".
inline std::filesystem::path SourceDir() { return test_support::SourceDir(); }

inline std::filesystem::path FixtureDir(const std::string& kind) {
  return SourceDir() / "tests" / "fixtures" / kind;
}

using test_support::ReadFile;

inline std::string FormatValue(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// One line per sample `name{k="v",...} value`, then info and uptime lines;
// or one `error <code>: <message>` line.
inline std::string Render(const Result<ScrapeResult>& r) {
  if (!r.ok()) return "error " + r.status().ToString() + "\n";
  std::string out;
  for (const Sample& s : r->samples) {
    out += s.name;
    if (!s.labels.empty()) {
      out += "{";
      for (size_t i = 0; i < s.labels.size(); ++i) {
        if (i > 0) out += ",";
        out += s.labels[i].name + "=\"" + s.labels[i].value + "\"";
      }
      out += "}";
    }
    out += " " + FormatValue(s.value) + "\n";
  }
  out += "info model=\"" + r->info.model + "\" firmware=\"" + r->info.firmware +
         "\" hostname=\"" + r->info.hostname + "\"\n";
  out += "uptime " +
         (r->uptime_seconds ? FormatValue(*r->uptime_seconds) : "absent") +
         "\n";
  return out;
}

// Finds the sample `name` whose labels contain `label`=`value` (or any when
// `label` is empty); nullptr when none.
inline const Sample* FindSample(const ScrapeResult& r, std::string_view name,
                                std::string_view label = "",
                                std::string_view value = "") {
  for (const Sample& s : r.samples) {
    if (s.name != name) continue;
    if (label.empty()) return &s;
    for (const Label& l : s.labels) {
      if (l.name == label && l.value == value) return &s;
    }
  }
  return nullptr;
}

// The value of FindSample's match, or NaN when there is none (so an
// EXPECT_EQ against it fails instead of dereferencing null).
inline double ValueOf(const ScrapeResult& r, std::string_view name,
                      std::string_view label = "",
                      std::string_view value = "") {
  const Sample* s = FindSample(r, name, label, value);
  return s != nullptr ? s->value : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace rigwatch::testing

#endif  // RIGWATCH_TESTS_UNIT_EXPORTERS_GOLDEN_UTIL_H_
