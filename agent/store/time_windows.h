// Calendar arithmetic on Unix milliseconds (UTC) for partitions: hours,
// days, months. Internal to the store.
#ifndef RIGWATCH_AGENT_STORE_TIME_WINDOWS_H_
#define RIGWATCH_AGENT_STORE_TIME_WINDOWS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace rigwatch::store {

inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

inline int64_t FloorTo(int64_t ms, int64_t unit) {
  int64_t q = ms / unit;
  if (ms % unit < 0) --q;
  return q * unit;
}
inline int64_t HourStart(int64_t ms) { return FloorTo(ms, kHourMs); }
inline int64_t DayStart(int64_t ms) { return FloorTo(ms, kDayMs); }
// Start of the month after the one containing ms.
int64_t MonthEnd(int64_t ms);
// "2026112205" (hour), "20261122" (day), "202611" (month), UTC.
std::string HourName(int64_t ms);
std::string DayName(int64_t ms);
std::string MonthName(int64_t ms);
// Column-family names of the three partition kinds: "h2026112205" (an
// hour's hot points), "c20261122" (a day's chunks), "r202611" (a month's
// rollups).
std::string HotPartitionName(int64_t ms);
std::string ChunkPartitionName(int64_t ms);
std::string RollupPartitionName(int64_t ms);
// Inverse of HourName, DayName and MonthName (10, 8 or 6 digits); -1 if
// malformed.
int64_t ParseWindowName(std::string_view digits);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_TIME_WINDOWS_H_
