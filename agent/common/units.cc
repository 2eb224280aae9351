#include "agent/common/units.h"

#include <cctype>
#include <charconv>
#include <cmath>

namespace rigwatch {
namespace {

constexpr std::string_view kDurationForms =
    "expected a duration such as 500ms, 10s, 5m, 24h or 30d";

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view s) {
  if (s.empty()) {
    return InvalidArgumentError("empty duration: " +
                                std::string(kDurationForms));
  }
  int64_t total_ms = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) {
      return InvalidArgumentError("invalid duration \"" + std::string(s) +
                                  "\": " + std::string(kDurationForms));
    }
    int64_t n = 0;
    auto r = std::from_chars(s.data() + start, s.data() + i, n);
    if (r.ec != std::errc()) {
      return InvalidArgumentError("duration out of range: \"" + std::string(s) +
                                  "\"");
    }
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    if (unit.empty() && i < s.size()) {
      return InvalidArgumentError("invalid duration \"" + std::string(s) +
                                  "\" (unexpected '" + std::string(1, s[i]) +
                                  "'): " + std::string(kDurationForms));
    }
    int64_t mult = 0;
    if (unit == "ms") {
      mult = 1;
    } else if (unit == "s") {
      mult = 1000;
    } else if (unit == "m") {
      mult = 60'000;
    } else if (unit == "h") {
      mult = 3'600'000;
    } else if (unit == "d") {
      mult = 86'400'000;
    } else {
      std::string what = unit.empty()
                             ? "missing unit"
                             : "unknown unit \"" + std::string(unit) + "\"";
      return InvalidArgumentError("invalid duration \"" + std::string(s) +
                                  "\" (" + what +
                                  "): " + std::string(kDurationForms));
    }
    if (n > INT64_MAX / mult || total_ms > INT64_MAX - n * mult) {
      return InvalidArgumentError("duration out of range: \"" + std::string(s) +
                                  "\"");
    }
    total_ms += n * mult;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  struct U {
    int64_t ms;
    const char* name;
  };
  static constexpr U kUnits[] = {{86'400'000, "d"},
                                 {3'600'000, "h"},
                                 {60'000, "m"},
                                 {1000, "s"},
                                 {1, "ms"}};
  for (const U& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.name;
      ms %= u.ms;
    }
  }
  return out;
}

Result<uint64_t> ParseByteSize(std::string_view s) {
  size_t i = 0;
  while (i < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) {
    ++i;
  }
  if (i == 0) {
    return InvalidArgumentError("invalid size \"" + std::string(s) +
                                "\": expected a number with an optional unit "
                                "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB");
  }
  double n = 0;
  auto r = std::from_chars(s.data(), s.data() + i, n);
  if (r.ec != std::errc() || r.ptr != s.data() + i) {
    return InvalidArgumentError("invalid size \"" + std::string(s) + "\"");
  }
  std::string_view unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double mult = 0;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KB" || unit == "kB") {
    mult = 1e3;
  } else if (unit == "MB") {
    mult = 1e6;
  } else if (unit == "GB") {
    mult = 1e9;
  } else if (unit == "TB") {
    mult = 1e12;
  } else if (unit == "KiB") {
    mult = 1024.0;
  } else if (unit == "MiB") {
    mult = 1024.0 * 1024;
  } else if (unit == "GiB") {
    mult = 1024.0 * 1024 * 1024;
  } else if (unit == "TiB") {
    mult = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return InvalidArgumentError(
        "invalid size \"" + std::string(s) + "\": unknown unit \"" +
        std::string(unit) +
        "\" (allowed: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
  }
  double v = n * mult;
  if (!(v < 1.8e19)) {
    return InvalidArgumentError("size out of range: \"" + std::string(s) +
                                "\"");
  }
  return static_cast<uint64_t>(std::llround(v));
}

}  // namespace rigwatch
