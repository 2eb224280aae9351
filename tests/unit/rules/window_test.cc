#include "agent/rules/window.h"

#include <gtest/gtest.h>

namespace rigwatch::rules {
namespace {

TEST(RulesWindowTest, UndefinedUntilCovered) {
  Window w;
  EXPECT_FALSE(w.Eval(WindowFn::kAvgOverTime, 100, 0));
  w.Add(10, 1);
  w.Add(20, 3);
  EXPECT_FALSE(w.Eval(WindowFn::kAvgOverTime, 100, 100));  // 10 > 100-100
  EXPECT_EQ(w.Eval(WindowFn::kAvgOverTime, 100, 110), 3);  // anchor at 10
  EXPECT_FALSE(w.Eval(WindowFn::kAvgOverTime, 15, 20));    // 10 > 20-15
  EXPECT_EQ(w.Eval(WindowFn::kAvgOverTime, 10, 20), 3);
}

TEST(RulesWindowTest, AggregatesOverTheWindowOnly) {
  Window w;
  for (int i = 0; i <= 10; ++i) w.Add(i * 10, i);
  // (50, 100]: 6..10
  EXPECT_EQ(w.Eval(WindowFn::kAvgOverTime, 50, 100), 8);
  EXPECT_EQ(w.Eval(WindowFn::kMinOverTime, 50, 100), 6);
  EXPECT_EQ(w.Eval(WindowFn::kMaxOverTime, 50, 100), 10);
  EXPECT_EQ(w.Eval(WindowFn::kIncrease, 50, 100), 5);  // from 5 (anchor)
  EXPECT_EQ(w.Eval(WindowFn::kRate, 50, 100), 5 / 0.05);
}

TEST(RulesWindowTest, IncreaseHandlesResets) {
  Window w;
  w.Add(0, 100);
  w.Add(10, 110);
  w.Add(20, 3);  // reset
  w.Add(30, 8);
  EXPECT_EQ(w.Eval(WindowFn::kIncrease, 30, 30), 10 + 3 + 5);
}

TEST(RulesWindowTest, OutOfOrderDroppedAndTrimKeepsAnchor) {
  Window w;
  EXPECT_TRUE(w.Add(10, 1));
  EXPECT_FALSE(w.Add(10, 2));
  EXPECT_FALSE(w.Add(5, 2));
  for (int t = 20; t <= 200; t += 10) w.Add(t, t);
  w.Trim(200, 50);
  // Kept: 150 (anchor at the edge) .. 200.
  EXPECT_EQ(w.size(), 6u);
  EXPECT_EQ(w.Eval(WindowFn::kIncrease, 50, 200), 50);
}

}  // namespace
}  // namespace rigwatch::rules
