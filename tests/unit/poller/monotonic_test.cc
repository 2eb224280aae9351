#include "agent/poller/monotonic.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

bool IsCounter(std::string_view n) {
  return n.size() > 6 && n.substr(n.size() - 6) == "_total";
}

Samples Make(double a, double b, double g) {
  return {Sample{"x_total", {{"pool", "0"}}, a},
          Sample{"x_total", {{"pool", "1"}}, b}, Sample{"gauge", {}, g}};
}

TEST(CounterTrackerTest, UnchangedWithoutReboot) {
  CounterTracker t;
  Samples s = Make(5, 7, 1);
  EXPECT_FALSE(t.Apply(s, 10.0, &IsCounter));
  EXPECT_EQ(s, Make(5, 7, 1));
  s = Make(6, 9, 0.5);
  EXPECT_FALSE(t.Apply(s, 20.0, &IsCounter));
  EXPECT_EQ(s, Make(6, 9, 0.5));
  EXPECT_EQ(t.restarts_detected(), 0u);
}

TEST(CounterTrackerTest, UptimeDownCarriesEveryCounterForward) {
  CounterTracker t;
  Samples s = Make(5, 7, 1);
  (void)t.Apply(s, 100.0, &IsCounter);
  // Uptime went down; counter 1 already climbed past its old value, it
  // still restarted from zero.
  s = Make(1, 9, 1);
  EXPECT_TRUE(t.Apply(s, 3.0, &IsCounter));
  EXPECT_EQ(s, Make(6, 16, 1));
  s = Make(2, 10, 1);
  EXPECT_FALSE(t.Apply(s, 13.0, &IsCounter));
  EXPECT_EQ(s, Make(7, 17, 1));
  EXPECT_EQ(t.restarts_detected(), 1u);
}

TEST(CounterTrackerTest, CounterDecreaseWithoutUptimeIsAReboot) {
  CounterTracker t;
  Samples s = Make(5, 7, 1);
  (void)t.Apply(s, std::nullopt, &IsCounter);
  s = Make(5, 2, 1);
  EXPECT_TRUE(t.Apply(s, std::nullopt, &IsCounter));
  EXPECT_EQ(s, Make(10, 9, 1));
  // A gauge going down is not a reboot.
  s = Make(6, 3, 0);
  EXPECT_FALSE(t.Apply(s, std::nullopt, &IsCounter));
  EXPECT_EQ(t.restarts_detected(), 1u);
}

TEST(CounterTrackerTest, NegativeAndHugeRawValuesAreDroppedAndCounted) {
  CounterTracker t;
  Samples s = Make(5, 7, 1);
  (void)t.Apply(s, 10.0, &IsCounter, 0.0);
  s = Make(-3, 9, 1);
  EXPECT_FALSE(t.Apply(s, 20.0, &IsCounter, 10.0));
  // The negative sample is gone; the other counter and the gauge stay.
  EXPECT_EQ(s, (Samples{Sample{"x_total", {{"pool", "1"}}, 9},
                        Sample{"gauge", {}, 1}}));
  s = Make(0x1p70, 10, 1);  // 2^70
  EXPECT_FALSE(t.Apply(s, 30.0, &IsCounter, 20.0));
  EXPECT_EQ(s.size(), 2u);
  // The next sane value continues the series: no reboot, no offset.
  s = Make(6, 11, 1);
  EXPECT_FALSE(t.Apply(s, 40.0, &IsCounter, 30.0));
  EXPECT_EQ(s, Make(6, 11, 1));
  EXPECT_EQ(t.restarts_detected(), 0u);
  EXPECT_EQ(t.rejected().at("negative"), 1u);
  EXPECT_EQ(t.rejected().at("out_of_range"), 1u);
}

TEST(CounterTrackerTest, JumpFasterThanTheRateBoundIsDropped) {
  CounterTracker t;
  Samples s = Make(5, 7, 1);
  (void)t.Apply(s, 10.0, &IsCounter, 0.0);
  // 10 s later: up to 10 * kMaxCounterRatePerSecond is plausible.
  s = Make(5 + 10 * kMaxCounterRatePerSecond, 7 + 1e9, 1);
  EXPECT_FALSE(t.Apply(s, 20.0, &IsCounter, 10.0));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].value, 5 + 10 * kMaxCounterRatePerSecond);
  EXPECT_EQ(t.rejected().at("implausible_jump"), 1u);
  // A spike then the real value: the drop back is not taken for a reboot.
  s = Make(5 + 10 * kMaxCounterRatePerSecond, 8, 1);
  EXPECT_FALSE(t.Apply(s, 30.0, &IsCounter, 20.0));
  EXPECT_EQ(s[1].value, 8);
  EXPECT_EQ(t.restarts_detected(), 0u);
}

}  // namespace
}  // namespace rigwatch
