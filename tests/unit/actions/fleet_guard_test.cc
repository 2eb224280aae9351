#include "agent/actions/fleet_guard.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace rigwatch::actions {
namespace {

// "m-FIRST" .. "m-LAST".
std::vector<std::string> Miners(int first, int last) {
  std::vector<std::string> out;
  for (int i = first; i <= last; ++i) out.push_back("m-" + std::to_string(i));
  return out;
}

class FleetGuardTest : public ::testing::Test {
 protected:
  FleetGuard Make(FleetGuardOptions o = {}) {
    return FleetGuard(o, [this](const Notice& n) { notices.push_back(n); });
  }
  std::vector<Notice> notices;
};

TEST_F(FleetGuardTest, OneMinerNeverTrips) {
  FleetGuard g = Make();
  for (int r = 0; r < 20; ++r) {
    EXPECT_EQ(g.OnRound(1, Miners(1, 1)), FleetGuard::Change::kNone);
  }
  EXPECT_FALSE(g.tripped());
  EXPECT_TRUE(notices.empty());
}

TEST_F(FleetGuardTest, ThreeMinersOneDownIsNoFleetProblem) {
  FleetGuard g = Make();
  for (int r = 0; r < 10; ++r) g.OnRound(3, Miners(2, 2));
  g.OnRound(3, {});
  for (int r = 0; r < 10; ++r) g.OnRound(3, Miners(1, 2));
  EXPECT_FALSE(g.tripped());
  EXPECT_TRUE(notices.empty());
}

TEST_F(FleetGuardTest, ThreeMinersAllDownForTwoRoundsTrips) {
  FleetGuard g = Make();
  g.OnRound(3, {});
  EXPECT_EQ(g.OnRound(3, Miners(1, 3)), FleetGuard::Change::kNone);
  EXPECT_EQ(g.OnRound(3, Miners(1, 3)), FleetGuard::Change::kTripped);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].kind, "fleet_unreachable");
  EXPECT_EQ(notices[0].subject, "fleet unreachable: 3 of 3 targets failed");
}

TEST_F(FleetGuardTest, TrippedStateSurvivesARestartAndRecoversOnce) {
  MemoryKv kv;
  auto make = [&] {
    return std::make_unique<FleetGuard>(
        FleetGuardOptions{}, [this](const Notice& n) { notices.push_back(n); },
        &kv);
  };
  auto g = make();
  ASSERT_TRUE(g->Load().ok());
  g->OnRound(3, Miners(1, 3));
  EXPECT_EQ(g->OnRound(3, Miners(1, 3)), FleetGuard::Change::kTripped);
  ASSERT_EQ(notices.size(), 1u);
  const std::string down_id = notices[0].id;
  EXPECT_NE(down_id, "");

  g = make();  // the agent restarted
  ASSERT_TRUE(g->Load().ok());
  EXPECT_TRUE(g->tripped());
  EXPECT_EQ(g->LastNotice().id, down_id);
  // Still dark: no second notice.
  for (int r = 0; r < 5; ++r) {
    EXPECT_EQ(g->OnRound(3, Miners(1, 3)), FleetGuard::Change::kNone);
  }
  EXPECT_EQ(g->OnRound(3, {}), FleetGuard::Change::kRecovered);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[1].kind, "fleet_reachable");

  g = make();
  ASSERT_TRUE(g->Load().ok());
  EXPECT_FALSE(g->tripped());
  EXPECT_EQ(g->LastNotice().kind, "fleet_reachable");
}

TEST_F(FleetGuardTest, UndecodableStateIsDroppedNotFatal) {
  MemoryKv kv;
  ASSERT_TRUE(kv.Put(FleetGuard::kNamespace, "state", "{\"v\":1}").ok());
  FleetGuard g({}, nullptr, &kv);
  EXPECT_TRUE(g.Load().ok());
  EXPECT_FALSE(g.tripped());
  auto v = kv.Get(FleetGuard::kNamespace, "state");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_F(FleetGuardTest, OneBadRoundAloneDoesNotTrip) {
  FleetGuard g = Make();
  for (int r = 0; r < 5; ++r) {
    g.OnRound(20, Miners(1, 12));
    g.OnRound(20, {});
  }
  EXPECT_FALSE(g.tripped());
  EXPECT_TRUE(notices.empty());
}

TEST_F(FleetGuardTest, TwentyMinersTwelveDarkTripsOnceAndRecoversOnce) {
  FleetGuard g = Make();
  g.OnRound(20, {});
  g.OnRound(20, Miners(1, 12));
  EXPECT_FALSE(g.tripped());
  g.OnRound(20, Miners(1, 12));
  EXPECT_TRUE(g.tripped());
  for (int r = 0; r < 10; ++r) {
    EXPECT_EQ(g.OnRound(20, Miners(1, 12)), FleetGuard::Change::kNone);
  }
  // Half of them back: 6 of 20 is not more than 30%: recovered.
  EXPECT_EQ(g.OnRound(20, Miners(1, 6)), FleetGuard::Change::kRecovered);
  EXPECT_EQ(g.OnRound(20, {}), FleetGuard::Change::kNone);
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[1].kind, "fleet_reachable");
  EXPECT_EQ(notices[1].subject,
            "fleet reachable again: 6 of 20 targets failing");
}

TEST_F(FleetGuardTest, TenThousandMinersFractionDecides) {
  FleetGuard g = Make();
  g.OnRound(10000, {});
  for (int r = 0; r < 3; ++r) g.OnRound(10000, Miners(1, 3000));  // 30.00%
  EXPECT_FALSE(g.tripped());
  g.OnRound(10000, {});
  g.OnRound(10000, Miners(1, 3001));
  g.OnRound(10000, Miners(1, 3001));
  EXPECT_TRUE(g.tripped());
}

TEST_F(FleetGuardTest, TargetsDownBeforeTheEpisodeDoNotCount) {
  FleetGuard g = Make();
  // Two of ten have been down for a while.
  for (int r = 0; r < 5; ++r) g.OnRound(10, Miners(1, 2));
  // Two more fail: 4 of 10 failing, but only 2 new, fewer than 3.
  for (int r = 0; r < 5; ++r) g.OnRound(10, Miners(1, 4));
  EXPECT_FALSE(g.tripped());
}

TEST_F(FleetGuardTest, ExcusedTargetsDoNotCountAndTheExcuseHoldsPerEpisode) {
  FleetGuard g = Make();
  std::set<std::string> excused = {"m-1", "m-2", "m-3"};
  auto excuse = [&](const std::string& t) { return excused.count(t) != 0; };
  g.OnRound(4, {}, excuse);
  for (int r = 0; r < 5; ++r) g.OnRound(4, Miners(1, 3), excuse);
  EXPECT_FALSE(g.tripped());
  // A good round starts a new episode: excuses are asked again.
  g.OnRound(4, {}, excuse);
  excused.clear();
  g.OnRound(4, Miners(1, 3), excuse);
  // Turning red during the episode (a miner_down rule) is no excuse.
  excused = {"m-1", "m-2", "m-3"};
  g.OnRound(4, Miners(1, 3), excuse);
  EXPECT_TRUE(g.tripped());
  g.OnRound(4, Miners(1, 3), excuse);
  EXPECT_TRUE(g.tripped());
}

TEST_F(FleetGuardTest, OptionsAreValidated) {
  EXPECT_EQ(FleetGuardOptionsError({}), "");
  EXPECT_NE(FleetGuardOptionsError({0.0, 3, 2}), "");
  EXPECT_NE(FleetGuardOptionsError({1.5, 3, 2}), "");
  EXPECT_NE(FleetGuardOptionsError({0.3, 0, 2}), "");
  EXPECT_NE(FleetGuardOptionsError({0.3, 3, 0}), "");
  // guard_for 1 and min_failed 1: the old behaviour, if one wants it.
  FleetGuard g = Make({0.3, 1, 1});
  g.OnRound(1, Miners(1, 1));
  EXPECT_TRUE(g.tripped());
}

}  // namespace
}  // namespace rigwatch::actions
