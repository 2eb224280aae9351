#include "agent/common/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>

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

std::string_view DimName(Dim d) {
  switch (d) {
    case Dim::kNone:
      return "plain number";
    case Dim::kBytes:
      return "bytes";
    case Dim::kHashrate:
      return "hashes per second";
    case Dim::kSeconds:
      return "seconds";
    case Dim::kRatio:
      return "ratio";
    case Dim::kHertz:
      return "hertz";
    case Dim::kWatts:
      return "watts";
    case Dim::kVolts:
      return "volts";
    case Dim::kAmperes:
      return "amperes";
    case Dim::kCelsius:
      return "celsius";
    case Dim::kRpm:
      return "rpm";
  }
  return "?";
}

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Dim MetricDim(std::string_view metric) {
  if (EndsWith(metric, "_total")) metric.remove_suffix(6);
  struct S {
    std::string_view suffix;
    Dim dim;
  };
  static constexpr S kSuffixes[] = {
      {"_bytes", Dim::kBytes},     {"_hashes_per_second", Dim::kHashrate},
      {"_seconds", Dim::kSeconds}, {"_ratio", Dim::kRatio},
      {"_hertz", Dim::kHertz},     {"_watts", Dim::kWatts},
      {"_volts", Dim::kVolts},     {"_amperes", Dim::kAmperes},
      {"_celsius", Dim::kCelsius}, {"_rpm", Dim::kRpm},
  };
  for (const S& s : kSuffixes) {
    if (EndsWith(metric, s.suffix)) return s.dim;
  }
  return Dim::kNone;
}

namespace {

// Three significant digits: "1.09", "18.7", "525".
std::string ThreeDigits(double m) {
  char buf[48];
  const double a = std::fabs(m);
  const char* fmt = a < 10 ? "%.2f" : a < 100 ? "%.1f" : "%.0f";
  std::snprintf(buf, sizeof buf, fmt, m);
  return buf;
}

// `v` with the SI prefix (the first of `prefixes` is 1000^`lowest`) that
// puts it in [1, 1000) once rounded to three digits.
std::string WithPrefix(double v, std::string_view unit,
                       std::initializer_list<std::string_view> prefixes,
                       int lowest = 0) {
  if (v == 0) return "0 " + std::string(unit);
  int p = 0;
  const int n = static_cast<int>(prefixes.size());
  while (p < n - 1 && std::fabs(v) / std::pow(1000.0, p + lowest) >= 999.5) {
    ++p;
  }
  const double m = v / std::pow(1000.0, p + lowest);
  return ThreeDigits(m) + " " + std::string(prefixes.begin()[p]) +
         std::string(unit);
}

std::string Plain(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string FormatMetricValue(double v, std::string_view metric) {
  if (!std::isfinite(v)) return Plain(v);
  if (metric.size() >= 6 && metric.substr(metric.size() - 6) == "_total") {
    return Plain(v);
  }
  char buf[48];
  switch (MetricDim(metric)) {
    case Dim::kNone:
      return Plain(v);
    case Dim::kCelsius:
      std::snprintf(buf, sizeof buf, "%.1f \u00b0C", v);
      return buf;
    case Dim::kRatio:
      std::snprintf(buf, sizeof buf, "%.1f %%", v * 100);
      return buf;
    case Dim::kRpm:
      std::snprintf(buf, sizeof buf, "%.0f rpm", v);
      return buf;
    case Dim::kSeconds:
      if (v < 0 || v >= 1e9) return Plain(v) + " s";
      if (v < 1) return ThreeDigits(v * 1000) + " ms";
      return FormatDuration(std::chrono::milliseconds(
          v >= 60 ? std::llround(v) * 1000 : std::llround(v * 1000)));
    case Dim::kHashrate:
      return WithPrefix(v, "H/s", {"", "k", "M", "G", "T", "P", "E"});
    case Dim::kBytes:
      return WithPrefix(v, "B", {"", "k", "M", "G", "T", "P"});
    case Dim::kHertz:
      return WithPrefix(v, "Hz", {"", "k", "M", "G"});
    case Dim::kWatts:
      return WithPrefix(v, "W", {"", "k", "M"});
    case Dim::kVolts:
      return WithPrefix(v, "V", {"m", "", "k"}, -1);
    case Dim::kAmperes:
      return WithPrefix(v, "A", {"m", "", "k"}, -1);
  }
  return Plain(v);
}

}  // namespace rigwatch
