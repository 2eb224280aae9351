// The pipeline's hand-over of poll rounds to the rule thread: only the
// metrics some rule selects are kept, and a round filtered by an older
// metric list is not judged for the targets it affects.
#include "agent/app/pipeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "agent/actions/actions.h"
#include "agent/common/kv.h"
#include "agent/live_state/live_state.h"
#include "agent/rules/loader.h"
#include "exporters/registry.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/wait.h"

namespace rigwatch {
namespace {

// Ends a round and waits until the rule thread has judged it.
void EndRoundAndWait(Pipeline& pipeline) {
  const uint64_t before = pipeline.rounds_judged();
  pipeline.OnRound(RoundReport{});
  ASSERT_TRUE(
      test_support::WaitFor([&] { return pipeline.rounds_judged() > before; },
                            std::chrono::seconds(10)))
      << "the rule thread did not judge the round";
}

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
    clock_.Advance(std::chrono::seconds(10));
    EndRoundAndWait(pipeline_);
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

// The rules engine's transitions reach the actions component unchanged: a
// muted alert that changes level says nothing, neither by mail nor to
// Alertmanager (a copy that lost `muted` mailed and pushed it as resolved
// while it was still bad).
class PipelineActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<rules::RuleSet> set = rules::ParseRuleText(R"y(rules:
  - name: hot
    metric: miner_temperature_celsius
    yellow: "> 60"
    red: "> 70"
    on_red: [notify]
    on_yellow: [notify]
)y",
                                                      "test.yaml");
    ASSERT_TRUE(set.ok()) << set.status().message();
    actions::ActionsOptions o;
    actions::SmtpOptions smtp;
    smtp.url = "smtp://127.0.0.1:1";  // nothing listens: mail stays queued
    smtp.from = "rigwatch@example.org";
    smtp.to = {"ops@example.org"};
    smtp.helo_host = "testhost";
    smtp.timeout = std::chrono::seconds(5);
    o.smtp = smtp;
    o.alertmanager.url = "http://127.0.0.1:1";
    o.alertmanager.timeout = std::chrono::seconds(5);
    o.alertmanager.resend_interval = std::chrono::hours(1);
    auto a = actions::Actions::Create(o, &clock_, &kv_, nullptr,
                                      [](const std::string&, Duration) {});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    actions_ = std::move(*a);
    pipeline_.Connect(&engine_, actions_);
    pipeline_.SetRuleMetrics({"miner_temperature_celsius"});
    ASSERT_TRUE(engine_.SetRules(std::move(*set)).ok());
    pipeline_.Start();
  }
  void TearDown() override { pipeline_.Stop(); }

  void PollAndJudge(double temp) {
    PollReport r;
    r.target = MinerTarget{"rig-1", "bitaxe", "127.0.0.1", 80};
    r.samples = {Sample{"miner_up", {}, 1},
                 Sample{"miner_temperature_celsius", {}, temp}};
    pipeline_.OnPoll(r);
    EndRoundAndWait(pipeline_);
  }
  // What waits in the outbox: key and "channel\npayload", without the
  // retry bookkeeping (attempts, next try) that changes on every run.
  std::map<std::string, std::string> Outbox() {
    std::map<std::string, std::string> out;
    auto rows = kv_.List(actions::Outbox::kNamespace);
    EXPECT_TRUE(rows.ok());
    if (!rows.ok()) return out;
    for (const auto& [key, value] : *rows) {
      std::size_t channel = value.find('\n') + 1;
      std::size_t p = channel;
      for (int line = 0; line < 5; ++line) p = value.find('\n', p) + 1;
      out[key] = value.substr(channel, value.find('\n', channel) - channel) +
                 "\n" + value.substr(p);
    }
    return out;
  }
  std::string Level() {
    for (const rules::AlertView& a : engine_.Alerts(true)) {
      if (a.rule == "hot" && a.target == "rig-1") {
        return std::string(rules::LevelName(a.level));
      }
    }
    return "none";
  }

  FakeClock clock_;
  MemoryKv kv_;
  LiveState live_{{MinerMetricDescs()}};
  Pipeline pipeline_{&live_, nullptr};
  rules::RuleEngine engine_{&clock_, nullptr, &pipeline_};
  std::shared_ptr<actions::Actions> actions_;
};

TEST_F(PipelineActionsTest, AMutedAlertThatChangesLevelIsNotResolved) {
  PollAndJudge(80);
  ASSERT_EQ(Level(), "red");
  clock_.Advance(std::chrono::seconds(31));  // past group_wait
  actions_->RunOnce();
  const auto fired = Outbox();
  int mails = 0, pushes = 0;
  for (const auto& [key, payload] : fired) {
    if (payload.starts_with("smtp\n")) ++mails;
    if (payload.starts_with("alertmanager\n")) ++pushes;
  }
  ASSERT_EQ(mails, 1);  // FIRING
  ASSERT_EQ(pushes, 1);

  ASSERT_TRUE(engine_.Mute("rig-1", clock_.Now() + std::chrono::hours(1)).ok());
  PollAndJudge(65);  // still bad, now yellow, and muted
  ASSERT_EQ(Level(), "yellow");
  clock_.Advance(std::chrono::seconds(31));
  actions_->RunOnce();
  EXPECT_EQ(Outbox(), fired) << "a muted alert was mailed or pushed again";
}

}  // namespace
}  // namespace rigwatch
