// The pipeline's hand-over of poll rounds to the rule thread: only the
// metrics some rule selects are kept, and a round filtered by an older
// metric list is not judged for the targets it affects.
#include "agent/app/pipeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "agent/live_state/live_state.h"
#include "agent/rules/loader.h"
#include "exporters/registry.h"
#include "tests/fakes/fake_clock.h"

namespace rigwatch {
namespace {

constexpr std::string_view kRules = R"y(rules:
  - name: hot
    metric: miner_temperature_celsius
    red: "> 70"
  - name: no_hashrate
    metric: miner_hashrate_hashes_per_second
    red: absent
)y";

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<rules::RuleSet> set = rules::ParseRuleText(kRules, "test.yaml");
    ASSERT_TRUE(set.ok()) << set.status().message();
    pipeline_.Connect(&engine_, nullptr);
    pipeline_.SetRuleMetrics(
        {"miner_temperature_celsius", "miner_hashrate_hashes_per_second"});
    ASSERT_TRUE(engine_.SetRules(std::move(*set)).ok());
    pipeline_.Start();
  }
  void TearDown() override { pipeline_.Stop(); }

  void Poll(const std::string& miner, double temp, bool with_hashrate) {
    PollReport r;
    r.target = MinerTarget{miner, "bitaxe", "127.0.0.1", 80};
    r.samples = {
        Sample{"miner_up", {}, 1},
        Sample{"miner_temperature_celsius", {{"sensor", "asic"}}, temp},
        Sample{"miner_power_watts", {}, 15}};
    if (with_hashrate) {
      r.samples.push_back(Sample{"miner_hashrate_hashes_per_second", {}, 1e12});
    }
    pipeline_.OnPoll(r);
  }
  // Ends a round and waits until the rule thread has judged it.
  void EndRound() {
    const uint64_t before = pipeline_.rounds_judged();
    clock_.Advance(std::chrono::seconds(10));
    pipeline_.OnRound(RoundReport{});
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pipeline_.rounds_judged() == before &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GT(pipeline_.rounds_judged(), before);
  }
  std::string Level(const std::string& rule, const std::string& miner) {
    for (const rules::AlertView& a : engine_.Alerts(true)) {
      if (a.rule == rule && a.target == miner) {
        return std::string(rules::LevelName(a.level));
      }
    }
    return "none";
  }

  FakeClock clock_;
  LiveState live_{{MinerMetricDescs()}};
  Pipeline pipeline_{&live_, nullptr};
  rules::RuleEngine engine_{&clock_, nullptr, &pipeline_};
};

TEST_F(PipelineTest, RulesSeeTheirMetricsAndNothingElse) {
  Poll("rig-1", 80, true);
  Poll("rig-2", 50, false);
  EndRound();
  EXPECT_EQ(Level("hot", "rig-1"), "red");
  EXPECT_EQ(Level("hot", "rig-2"), "none");  // green series are not alerts
  EXPECT_EQ(Level("no_hashrate", "rig-2"), "red");
  EXPECT_EQ(Level("no_hashrate", "rig-1"), "none");
  // One series per rule and target.
  EXPECT_EQ(engine_.SeriesCount(), 4u);
}

TEST_F(PipelineTest, AMetricDroppedFromTheListIsAbsentForItsRule) {
  // The list is what rules see: a rule whose metric is not in it would
  // find it absent. This is why the agent sets the list before the rules.
  pipeline_.SetRuleMetrics({"miner_temperature_celsius"});
  Poll("rig-1", 50, true);
  EndRound();
  EXPECT_EQ(Level("no_hashrate", "rig-1"), "red");
}

TEST_F(PipelineTest, ARoundFilteredByAnOlderListIsNotJudged) {
  pipeline_.SetRuleMetrics({"miner_temperature_celsius"});
  Poll("rig-1", 50, true);  // filtered: no hashrate kept
  // The list grows before the round ends: rig-1's samples of this round
  // lack a metric a rule may now select, so rig-1 is left out of it.
  pipeline_.SetRuleMetrics(
      {"miner_temperature_celsius", "miner_hashrate_hashes_per_second"});
  Poll("rig-2", 80, true);
  EndRound();
  EXPECT_EQ(Level("no_hashrate", "rig-1"), "none");
  EXPECT_EQ(Level("hot", "rig-2"), "red");
  // The next round judges rig-1 with everything the rules select.
  Poll("rig-1", 50, true);
  EndRound();
  EXPECT_EQ(Level("no_hashrate", "rig-1"), "none");
  EXPECT_EQ(engine_.SeriesCount(), 4u);
}

TEST_F(PipelineTest, AddingAKnownMetricKeepsTheRoundAddingANewOneSkipsIt) {
  Poll("rig-1", 80, true);
  pipeline_.AddRuleMetrics({"miner_temperature_celsius"});  // already kept
  EndRound();
  EXPECT_EQ(Level("hot", "rig-1"), "red");
  Poll("rig-2", 80, true);
  pipeline_.AddRuleMetrics({"miner_power_watts"});  // a reload's new metric
  EndRound();
  EXPECT_EQ(Level("hot", "rig-2"), "none");  // filtered by the older list
}

}  // namespace
}  // namespace rigwatch
