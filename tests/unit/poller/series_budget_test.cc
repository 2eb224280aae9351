#include "agent/poller/series_budget.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

Samples Pools(int from, int to) {
  Samples s;
  for (int i = from; i < to; ++i) {
    s.push_back(Sample{"miner_pool_up", {{"url", std::to_string(i)}}, 1});
  }
  return s;
}

TEST(SeriesBudgetTest, NewSeriesPastTheBudgetAreDroppedKnownOnesKept) {
  SeriesBudget b;
  SteadyTime t{};
  Samples s = Pools(0, kMaxSeriesPerMiner);
  EXPECT_EQ(b.Apply(s, t), 0u);
  EXPECT_EQ(s.size(), kMaxSeriesPerMiner);
  // Ten new series and the first known one: only the known one stays.
  s = Pools(kMaxSeriesPerMiner, kMaxSeriesPerMiner + 10);
  s.push_back(Sample{"miner_pool_up", {{"url", "0"}}, 1});
  EXPECT_EQ(b.Apply(s, t + std::chrono::seconds(1)), 10u);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].labels[0].value, "0");
  EXPECT_EQ(b.live(), kMaxSeriesPerMiner);
}

TEST(SeriesBudgetTest, IdleSeriesAreForgottenToMakeRoom) {
  SeriesBudget b;
  SteadyTime t{};
  Samples s = Pools(0, kMaxSeriesPerMiner);
  (void)b.Apply(s, t);
  // Series 0 stays live; every other one goes idle for over an hour.
  const SteadyTime later = t + kSeriesIdleForget + std::chrono::seconds(5);
  s = Pools(0, 1);
  (void)b.Apply(s, t + kSeriesIdleForget);
  s = Pools(kMaxSeriesPerMiner, kMaxSeriesPerMiner + 5);
  EXPECT_EQ(b.Apply(s, later), 0u);
  EXPECT_EQ(s.size(), 5u);
  EXPECT_EQ(b.live(), 6u);
}

}  // namespace
}  // namespace rigwatch
