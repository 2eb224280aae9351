// Time source for everything that schedules, backs off or judges "for 5m".
// Production uses SystemClock; tests use FakeClock (tests/fakes) and advance
// it instead of sleeping.
#ifndef RIGWATCH_AGENT_COMMON_CLOCK_H_
#define RIGWATCH_AGENT_COMMON_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace rigwatch {

using WallTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;
using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for sample timestamps, mail Date headers).
  virtual WallTime Now() const = 0;
  // Monotonic time (for timeouts, backoff, "for" durations).
  virtual SteadyTime SteadyNow() const = 0;
};

// The real clocks. Thread-safe; a process-wide instance is Default().
class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() const override {
    return std::chrono::steady_clock::now();
  }
  static SystemClock* Default();
};

// Milliseconds since the Unix epoch.
inline int64_t ToUnixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}
inline WallTime FromUnixMillis(int64_t ms) {
  return WallTime(std::chrono::milliseconds(ms));
}
inline double ToUnixSeconds(WallTime t) {
  return static_cast<double>(ToUnixMillis(t)) / 1000.0;
}

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_CLOCK_H_
