// A restarted engine resumes states, pending timers, mutes and grace from the
// DurableKv and does not announce again what it already announced.
#include <gtest/gtest.h>

#include <memory>

#include "agent/rules/engine.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/rules/test_util.h"

namespace rigwatch::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::MustParse;

class RecordingSink : public TransitionSink {
 public:
  void OnTransition(const Transition& t) override { seen.push_back(t); }
  std::vector<Transition> seen;
};

constexpr std::string_view kRules = R"y(rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    yellow: "> 65"
    red: "> 72"
    for: 1m
    clear: 3
    on_red: [notify, restart]
  - name: miner_down
    metric: miner_up
    red: "== 0"
    for: 2m
)y";

class RulesPersistenceTest : public ::testing::Test {
 protected:
  // Starts a new engine on the same kv (an agent restart).
  void Start(bool restore = true) {
    engine_ = std::make_unique<RuleEngine>(&clock_, &kv_, &sink_);
    ASSERT_TRUE(engine_->SetRules(MustParse(kRules)).ok());
    if (restore) {
      ASSERT_TRUE(engine_->Restore().ok());
    }
  }
  Status Round(Duration step = seconds(30)) {
    clock_.Advance(step);
    std::vector<TargetSamples> round;
    for (auto& [name, s] : samples_) {
      round.push_back(TargetSamples{name, "bitaxe", &s});
    }
    return engine_->Evaluate(round);
  }
  static Samples Miner(double temp, double up = 1) {
    return {Sample{"miner_temperature_celsius", {{"sensor", "asic"}}, temp},
            Sample{"miner_up", {}, up}};
  }

  FakeClock clock_;
  MemoryKv kv_;
  RecordingSink sink_;
  std::unique_ptr<RuleEngine> engine_;
  std::map<std::string, Samples> samples_;
};

TEST_F(RulesPersistenceTest, RestartResumesStatesWithoutRepeating) {
  Start();
  samples_["rig-1"] = Miner(80);
  samples_["rig-2"] = Miner(50);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Round().ok());
  ASSERT_EQ(sink_.seen.size(), 1u);
  const WallTime red_since = sink_.seen[0].since;
  // rig-2 starts heating: a pending timer 30 s old at the restart.
  samples_["rig-2"] = Miner(80);
  ASSERT_TRUE(Round().ok());
  ASSERT_TRUE(Round().ok());
  ASSERT_EQ(sink_.seen.size(), 1u);

  Start();  // restart, immediately
  ASSERT_TRUE(Round().ok());
  // rig-1 stays red (no repeat); rig-2's timer ran on: 60 s → red now.
  ASSERT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(sink_.seen[1].target, "rig-2");
  EXPECT_EQ(sink_.seen[1].from, Level::kGreen);
  EXPECT_EQ(sink_.seen[1].to, Level::kRed);
  std::vector<AlertView> alerts = engine_->Alerts();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].target, "rig-1");
  EXPECT_EQ(alerts[0].since, red_since);
  EXPECT_EQ(alerts[0].value, 80);

  // A restart after 10 minutes down: still the same states, nothing new.
  Start();
  ASSERT_TRUE(Round(minutes(10)).ok());
  EXPECT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(engine_->Alerts().size(), 2u);

  // The level changes while the agent is down: announced once.
  samples_["rig-1"] = Miner(50);
  Start();
  ASSERT_TRUE(Round().ok());
  ASSERT_EQ(sink_.seen.size(), 3u);
  EXPECT_EQ(sink_.seen[2].from, Level::kRed);
  EXPECT_EQ(sink_.seen[2].to, Level::kGreen);
  Start();
  ASSERT_TRUE(Round().ok());
  EXPECT_EQ(sink_.seen.size(), 3u);
}

TEST_F(RulesPersistenceTest, WithoutRestoreTheRedStateWouldBeAnnouncedAgain) {
  // The contrast case: proves the test above depends on Restore().
  Start();
  samples_["rig-1"] = Miner(80);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Round().ok());
  ASSERT_EQ(sink_.seen.size(), 1u);
  Start(/*restore=*/false);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Round().ok());
  EXPECT_EQ(sink_.seen.size(), 2u);
}

TEST_F(RulesPersistenceTest, PendingTimerSurvivesTheRestartInWallTime) {
  Start();
  samples_["rig-1"] = Miner(50, 0);  // down: miner_down pending (2m)
  ASSERT_TRUE(Round().ok());
  ASSERT_TRUE(Round(minutes(1)).ok());
  EXPECT_TRUE(sink_.seen.empty());
  Start();
  ASSERT_TRUE(Round(seconds(50)).ok());  // 1m50s since the condition began
  EXPECT_TRUE(sink_.seen.empty());
  ASSERT_TRUE(Round(seconds(10)).ok());  // 2m
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].rule, "miner_down");
}

TEST_F(RulesPersistenceTest, MutesAndGraceSurvive) {
  Start();
  ASSERT_TRUE(engine_->Mute("rig-1", clock_.Now() + hours(1)).ok());
  ASSERT_TRUE(engine_->StartGrace("rig-2", minutes(10)).ok());
  Start();
  samples_["rig-1"] = Miner(80);
  samples_["rig-2"] = Miner(50, 0);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(Round().ok());  // 3 minutes
  ASSERT_EQ(sink_.seen.size(), 1u);  // rig-2 is in grace: no miner_down
  EXPECT_EQ(sink_.seen[0].target, "rig-1");
  EXPECT_TRUE(sink_.seen[0].muted);
  EXPECT_TRUE(sink_.seen[0].actions.empty());
}

TEST_F(RulesPersistenceTest, HealthyFleetWritesNothing) {
  Start();
  for (int i = 0; i < 100; ++i)
    samples_["rig-" + std::to_string(i)] = Miner(50);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Round().ok());
  auto entries = kv_.List("rules");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
  samples_["rig-7"] = Miner(80);
  ASSERT_TRUE(Round().ok());  // a pending timer is state worth keeping
  entries = kv_.List("rules");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 1u);
  samples_["rig-7"] = Miner(50);  // back to quiet: the entry goes
  ASSERT_TRUE(Round().ok());
  entries = kv_.List("rules");
  EXPECT_TRUE(entries->empty());
}

TEST_F(RulesPersistenceTest, WriteFailureIsReportedAndRetried) {
  Start();
  samples_["rig-1"] = Miner(80);
  ASSERT_TRUE(Round().ok());  // pending timer written
  ASSERT_TRUE(Round().ok());
  kv_.FailNextWrites(1);
  Status st = Round();  // enters red; the write fails
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  ASSERT_EQ(sink_.seen.size(), 1u) << "the transition is still delivered";
  ASSERT_TRUE(Round().ok());  // retried on the next round
  Start();
  ASSERT_TRUE(Round().ok());
  EXPECT_EQ(sink_.seen.size(), 1u);
}

TEST_F(RulesPersistenceTest, UndecodableAndOrphanEntriesAreDropped) {
  ASSERT_TRUE(kv_.Put("rules", "state\x1fgarbage", "x").ok());
  ASSERT_TRUE(
      kv_.Put("rules", "state\x1fgone_rule\x1frig-1\x1f", "1 2 0 - -").ok());
  ASSERT_TRUE(kv_.Put("rules", "mute\x1frig-1", "nope").ok());
  Start();
  auto entries = kv_.List("rules");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

TEST_F(RulesPersistenceTest, RestoreBeforeSetRulesIsRefusedAndKeepsTheKv) {
  ASSERT_TRUE(kv_.Put("rules",
                      "state\x1f"
                      "asic_temperature\x1frig-1\x1f",
                      "1 2 0 - -")
                  .ok());
  RuleEngine e(&clock_, &kv_, &sink_);
  EXPECT_EQ(e.Restore().code(), StatusCode::kFailedPrecondition);
  auto entries = kv_.List("rules");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 1u);
}

TEST_F(RulesPersistenceTest, LabelsWithSeparatorsRoundTrip) {
  Start();
  samples_["rig=%\x1f"] = {Sample{"miner_temperature_celsius",
                                  {{"sensor", "asic"}, {"x", "a=b%\x1e"}},
                                  80}};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Round().ok());
  ASSERT_EQ(sink_.seen.size(), 1u);
  Start();
  ASSERT_TRUE(Round().ok());
  EXPECT_EQ(sink_.seen.size(), 1u);
  ASSERT_EQ(engine_->Alerts().size(), 1u);
  EXPECT_EQ(engine_->Alerts()[0].target, "rig=%\x1f");
  EXPECT_EQ(engine_->Alerts()[0].labels[1].value, "a=b%\x1e");
}

}  // namespace
}  // namespace rigwatch::rules
