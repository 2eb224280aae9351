// A Clock that moves only when a test says so. Thread-safe.
#ifndef RIGWATCH_TESTS_FAKES_FAKE_CLOCK_H_
#define RIGWATCH_TESTS_FAKES_FAKE_CLOCK_H_

#include <mutex>

#include "agent/common/clock.h"

namespace rigwatch {

class FakeClock final : public Clock {
 public:
  // Starts at 2026-01-01T00:00:00Z wall time.
  FakeClock() : wall_(FromUnixMillis(1767225600000)), steady_() {}

  WallTime Now() const override {
    std::lock_guard<std::mutex> l(mu_);
    return wall_;
  }
  SteadyTime SteadyNow() const override {
    std::lock_guard<std::mutex> l(mu_);
    return steady_;
  }
  // Moves both clocks forward by d.
  void Advance(Duration d) {
    std::lock_guard<std::mutex> l(mu_);
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
    steady_ += d;
  }
  void SetWall(WallTime t) {
    std::lock_guard<std::mutex> l(mu_);
    wall_ = t;
  }

 private:
  mutable std::mutex mu_;
  WallTime wall_;
  SteadyTime steady_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_TESTS_FAKES_FAKE_CLOCK_H_
