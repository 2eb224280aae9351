#include "agent/poller/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace rigwatch {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

PollerOptions Opts(double jitter) {
  PollerOptions o;
  o.interval = seconds(10);
  o.jitter = jitter;
  o.backoff_base = milliseconds(500);
  o.backoff_cap = seconds(300);
  o.breaker_failures = 3;
  o.breaker_open = seconds(60);
  return o;
}

TEST(MinerScheduleTest, OffsetIsStableAndSpreadsMiners) {
  const SteadyTime epoch{};
  MinerSchedule a(Opts(0), "rig-1", epoch, epoch);
  MinerSchedule a2(Opts(0), "rig-1", epoch, epoch);
  EXPECT_EQ(a.next_slot(), a2.next_slot());
  EXPECT_LT(a.next_slot() - epoch, seconds(10));
  // 1000 miners land in all ten 1s buckets of the interval.
  int buckets[10] = {};
  for (int i = 0; i < 1000; ++i) {
    MinerSchedule s(Opts(0), "rig-" + std::to_string(i), epoch, epoch);
    ++buckets[(s.next_slot() - epoch) / seconds(1)];
  }
  for (int b : buckets) EXPECT_GT(b, 50);
}

TEST(MinerScheduleTest, JitteredSlotsStayInsideTheirInterval) {
  const SteadyTime epoch{};
  const Duration interval = seconds(10);
  for (int i = 0; i < 300; ++i) {
    MinerSchedule s(Opts(0.1), "rig-" + std::to_string(i), epoch, epoch);
    Duration lo = interval, hi{0};
    for (int64_t k = 0; k < 30; ++k) {
      const SteadyTime slot = s.next_slot();
      // Slot k lies in [k*interval, (k+1)*interval).
      ASSERT_EQ((slot - epoch) / interval, k) << "rig-" << i;
      const Duration in = (slot - epoch) % interval;
      lo = std::min(lo, in);
      hi = std::max(hi, in);
      s.PassSlots(slot);
    }
    // Jitter moves the slot from interval to interval, by less than its
    // fraction of the interval.
    EXPECT_GT(hi - lo, Duration(0));
    EXPECT_LT(hi - lo, seconds(1));
  }
}

TEST(MinerScheduleTest, BackoffDoublesUpToTheCap) {
  MinerSchedule s(Opts(0), "x", SteadyTime{}, SteadyTime{});
  EXPECT_EQ(s.BackoffDelay(1), milliseconds(500));
  EXPECT_EQ(s.BackoffDelay(2), seconds(1));
  EXPECT_EQ(s.BackoffDelay(4), seconds(4));
  EXPECT_EQ(s.BackoffDelay(10), milliseconds(256000));
  EXPECT_EQ(s.BackoffDelay(11), seconds(300));
  EXPECT_EQ(s.BackoffDelay(1000), seconds(300));
}

TEST(MinerScheduleTest, BackoffJitterOnlyShortensTheDelay) {
  const SteadyTime epoch{};
  MinerSchedule s(Opts(0.2), "x", epoch, epoch);
  s.PassSlots(s.next_slot());
  const SteadyTime t = s.next_slot() - seconds(9);
  s.OnFailure(t, /*u=*/0.5);
  EXPECT_EQ(s.next_attempt() - t, milliseconds(450));  // 500ms * (1 - 0.1)
}

TEST(MinerScheduleTest, BreakerOpensAfterNFailuresAndProbesOnce) {
  const SteadyTime epoch{};
  MinerSchedule s(Opts(0), "x", epoch, epoch);
  SteadyTime now = s.next_slot();
  for (int i = 0; i < 2; ++i) {
    s.OnFailure(now, 0);
    EXPECT_FALSE(s.circuit_open());
    now = s.next_attempt();
  }
  s.OnFailure(now, 0);
  EXPECT_TRUE(s.circuit_open());
  EXPECT_GE(s.next_attempt() - now, seconds(60));
  EXPECT_LT(s.next_attempt() - now, seconds(70));
  // The probe fails: open again for the full period.
  now = s.next_attempt();
  s.OnFailure(now, 0);
  EXPECT_TRUE(s.circuit_open());
  EXPECT_GE(s.next_attempt() - now, seconds(60));
  // The next probe succeeds: closed, back to one poll per slot.
  now = s.next_attempt();
  s.OnSuccess(now);
  EXPECT_FALSE(s.circuit_open());
  EXPECT_EQ(s.consecutive_failures(), 0);
  EXPECT_EQ(s.next_attempt() - now, seconds(10));
}

TEST(MinerScheduleTest, ValidateOptions) {
  PollerOptions o;
  EXPECT_TRUE(ValidatePollerOptions(o).ok());
  o.timeout = o.interval;
  EXPECT_EQ(ValidatePollerOptions(o).code(), StatusCode::kInvalidArgument);
  o = PollerOptions{};
  o.jitter = 0.9;
  EXPECT_FALSE(ValidatePollerOptions(o).ok());
  o = PollerOptions{};
  o.backoff_cap = o.backoff_base / 2;
  EXPECT_FALSE(ValidatePollerOptions(o).ok());
}

}  // namespace
}  // namespace rigwatch
