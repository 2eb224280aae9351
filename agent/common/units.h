// Parsing and printing of the human units used in config and rule files,
// the dimension a metric's name implies, and values printed for people.
#ifndef RIGWATCH_AGENT_COMMON_UNITS_H_
#define RIGWATCH_AGENT_COMMON_UNITS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace rigwatch {

// Parses a duration: a positive integer followed by one unit of
// ms, s, m, h, d (e.g. "500ms", "10s", "5m", "24h", "30d"); compound forms
// such as "1h30m" are accepted too. "0s" is allowed. Fails with a message
// that names the accepted forms.
Result<std::chrono::milliseconds> ParseDuration(std::string_view s);

// Formats a duration the way ParseDuration reads it ("1h30m", "500ms").
std::string FormatDuration(std::chrono::milliseconds d);

// Parses a byte size: a number with an optional unit B, KB, MB, GB, TB
// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "100MB".
Result<uint64_t> ParseByteSize(std::string_view s);

// What a metric measures, as its name's suffix says (docs/architecture.md
// "Names and units"): miner_temperature_celsius is kCelsius.
enum class Dim {
  kNone,
  kBytes,
  kHashrate,
  kSeconds,
  kRatio,
  kHertz,
  kWatts,
  kVolts,
  kAmperes,
  kCelsius,
  kRpm
};

// "bytes", "hashes per second", ...; "plain number" for kNone.
std::string_view DimName(Dim d);

// The dimension a metric's name suffix implies (a counter's _total is
// ignored); kNone when the name carries no known unit.
Dim MetricDim(std::string_view metric);

// A value of `metric` (in its base unit) as a person reads it: "95.0 °C",
// "1.09 TH/s", "18.7 W", "1.20 V", "95.0 %", "1h30m", "4200 rpm",
// "2.50 GB"; three significant digits with an SI prefix where the unit
// has them. A counter (name ending in _total) and a name without a unit
// print as a plain number ("3", "0.25").
std::string FormatMetricValue(double value, std::string_view metric);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_UNITS_H_
