#include "agent/store/time_windows.h"

#include <chrono>
#include <cstdio>

namespace rigwatch::store {
namespace {

std::chrono::year_month_day Ymd(int64_t ms) {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(
          std::chrono::milliseconds(ms))));
}

}  // namespace

int64_t MonthEnd(int64_t ms) {
  auto ymd = Ymd(ms);
  auto next = std::chrono::year_month_day(ymd.year() / ymd.month() / 1) +
              std::chrono::months(1);
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::sys_days(next).time_since_epoch())
      .count();
}

std::string HourName(int64_t ms) {
  auto ymd = Ymd(ms);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u%02d", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()),
                static_cast<int>((ms - DayStart(ms)) / kHourMs));
  return buf;
}

int64_t ParseWindowName(std::string_view d) {
  if (d.size() != 10 && d.size() != 8 && d.size() != 6) return -1;
  for (char c : d) {
    if (c < '0' || c > '9') return -1;
  }
  auto num = [&](size_t pos, size_t len) {
    return std::stoi(std::string(d.substr(pos, len)));
  };
  int day = d.size() >= 8 ? num(6, 2) : 1;
  int hour = d.size() == 10 ? num(8, 2) : 0;
  std::chrono::year_month_day ymd{std::chrono::year(num(0, 4)),
                                  std::chrono::month(num(4, 2)),
                                  std::chrono::day(day)};
  if (!ymd.ok() || hour > 23) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::sys_days(ymd).time_since_epoch())
             .count() +
         hour * kHourMs;
}

std::string DayName(int64_t ms) { return HourName(ms).substr(0, 8); }
std::string MonthName(int64_t ms) { return HourName(ms).substr(0, 6); }

namespace {
// Appends rather than `"h" + name`, which GCC 12 at -O3 flags with a false
// -Wrestrict.
std::string Prefixed(char kind, const std::string& name) {
  std::string out(1, kind);
  out += name;
  return out;
}
}  // namespace

std::string HotPartitionName(int64_t ms) { return Prefixed('h', HourName(ms)); }
std::string ChunkPartitionName(int64_t ms) {
  return Prefixed('c', DayName(ms));
}
std::string RollupPartitionName(int64_t ms) {
  return Prefixed('r', MonthName(ms));
}

}  // namespace rigwatch::store
