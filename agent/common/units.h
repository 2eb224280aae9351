// Parsing and printing of the human units used in config and rule files.
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

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_UNITS_H_
