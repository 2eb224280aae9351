// A restarted engine resumes states, pending timers, mutes and grace from the
// DurableKv and does not announce again what it already announced.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <span>

#include "agent/rules/engine.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/rules/test_util.h"

namespace rigwatch::rules {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::MustParse;
using testing::RecordingSink;

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

// Counts how state reaches the kv: batches, and single Put/Delete calls.
class CountingKv final : public DurableKv {
 public:
  Status Put(std::string_view ns, std::string_view key,
             std::string_view value) override {
    ++single_writes;
    return inner.Put(ns, key, value);
  }
  Status Delete(std::string_view ns, std::string_view key) override {
    ++single_writes;
    return inner.Delete(ns, key);
  }
  Status Write(std::span<const KvWrite> writes) override {
    ++batches;
    largest_batch = std::max(largest_batch, writes.size());
    return DurableKv::Write(writes);  // one by one into `inner`
  }
  Result<std::optional<std::string>> Get(std::string_view ns,
                                         std::string_view key) override {
    return inner.Get(ns, key);
  }
  Result<std::vector<std::pair<std::string, std::string>>> List(
      std::string_view ns) override {
    return inner.List(ns);
  }
  MemoryKv inner;
  int batches = 0;
  int single_writes = 0;  // including those a batch makes
  size_t largest_batch = 0;
};

TEST(RulesPersistenceBatchTest, AFleetWideChangeIsOneBatchPerRound) {
  FakeClock clock;
  CountingKv kv;
  RecordingSink sink;
  RuleEngine engine(&clock, &kv, &sink);
  ASSERT_TRUE(engine.SetRules(MustParse(kRules)).ok());
  ASSERT_TRUE(engine.Restore().ok());
  std::map<std::string, Samples> fleet;
  auto round = [&] {
    clock.Advance(seconds(30));
    std::vector<TargetSamples> r;
    for (auto& [name, s] : fleet) r.push_back({name, "bitaxe", &s});
    return engine.Evaluate(r);
  };
  for (int i = 0; i < 500; ++i) {
    fleet["rig-" + std::to_string(i)] = {
        Sample{"miner_temperature_celsius", {{"sensor", "asic"}}, 50},
        Sample{"miner_up", {}, 1}};
  }
  ASSERT_TRUE(round().ok());
  EXPECT_EQ(kv.single_writes, 0) << "all green: nothing to persist";
  // Every miner goes down at once: 500 pending timers in one round.
  for (auto& [name, s] : fleet) s[1].value = 0;
  ASSERT_TRUE(round().ok());
  EXPECT_EQ(kv.batches, 1);  // a round without changes writes nothing
  EXPECT_EQ(kv.largest_batch, 500u);
  EXPECT_EQ(kv.single_writes, 500);  // made by the batch, none on their own
  // And they survive a restart: a new engine finds them.
  RuleEngine again(&clock, &kv, &sink);
  ASSERT_TRUE(again.SetRules(MustParse(kRules)).ok());
  ASSERT_TRUE(again.Restore().ok());
  auto entries = kv.inner.List("rules");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 500u);
}

}  // namespace
}  // namespace rigwatch::rules
