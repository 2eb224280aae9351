#include "agent/common/rfc3339.h"

#include <cstdio>
#include <ctime>

namespace rigwatch {

std::string FormatRfc3339(WallTime t) {
  const int64_t ms = ToUnixMillis(t);
  int64_t secs = ms / 1000, rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  // Room for all seven ints at full width (11 bytes each) and the
  // separators, so -Wformat-truncation can prove the output always fits.
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(rem));
  return buf;
}

}  // namespace rigwatch
