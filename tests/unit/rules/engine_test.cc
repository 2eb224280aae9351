// Evaluation: for, hysteresis, windows, counter resets, absence, staleness,
// UNKNOWN, grace, mute, reload, and what the engine shows.
#include "agent/rules/engine.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <tuple>

#include "tests/fakes/fake_clock.h"
#include "tests/unit/rules/test_util.h"

namespace rigwatch::rules {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::MustParse;
using testing::RecordingSink;

// A fleet of targets whose samples a test sets before each round.
class RulesEngineTest : public ::testing::Test {
 protected:
  void Load(std::string_view text) {
    ASSERT_TRUE(engine_.SetRules(MustParse(text)).ok());
  }
  void Set(const std::string& target, Samples s,
           const std::string& kind = "bitaxe") {
    samples_[target] = {kind, std::move(s)};
  }
  // Advances the clock by `step`, then evaluates one round.
  void Round(Duration step = seconds(30)) {
    clock_.Advance(step);
    std::vector<TargetSamples> round;
    for (auto& [name, ks] : samples_) {
      round.push_back(TargetSamples{name, ks.first, &ks.second});
    }
    Status st = engine_.Evaluate(round);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  static Samples Temp(double v) {
    return {Sample{"miner_temperature_celsius", {{"sensor", "asic"}}, v}};
  }
  // The levels of `target`'s transitions, in order, as "from>to".
  std::vector<std::string> Moves() {
    std::vector<std::string> out;
    for (const Transition& t : sink_.seen) {
      out.push_back(std::string(LevelName(t.from)) + ">" +
                    std::string(LevelName(t.to)));
    }
    return out;
  }

  FakeClock clock_;
  MemoryKv kv_;
  RecordingSink sink_;
  RuleEngine engine_{&clock_, &kv_, &sink_};
  std::map<std::string, std::pair<std::string, Samples>> samples_;
};

constexpr std::string_view kTemp = R"y(rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    yellow: "> 65"
    red: "> 72"
    for: 1m
    clear: 3
    on_red: [notify, restart]
    on_yellow: [notify]
)y";

TEST_F(RulesEngineTest, ForDelaysEnteringALevel) {
  Load(kTemp);
  Set("rig-1", Temp(60));
  Round();
  EXPECT_TRUE(sink_.seen.empty());  // a healthy first sighting is not news
  Set("rig-1", Temp(80));
  Round();  // condition starts holding
  Round();  // 30 s
  EXPECT_TRUE(sink_.seen.empty());
  Round();  // 60 s: both yellow and red held for 1m → red directly
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
  const Transition& t = sink_.seen[0];
  EXPECT_EQ(t.rule, "asic_temperature");
  EXPECT_EQ(t.target, "rig-1");
  EXPECT_EQ(t.labels, (Labels{{"sensor", "asic"}}));
  EXPECT_EQ(t.value, 80);
  EXPECT_EQ(t.threshold, "> 72");
  EXPECT_EQ(t.threshold_value, 72);
  EXPECT_EQ(t.severity, "critical");
  EXPECT_EQ(t.actions, (std::vector<std::string>{"notify", "restart"}));
  EXPECT_FALSE(t.muted);
  EXPECT_EQ(t.since, clock_.Now());
}

TEST_F(RulesEngineTest, ABlipShorterThanForIsIgnored) {
  Load(kTemp);
  Set("rig-1", Temp(80));
  Round();
  Round();
  Set("rig-1", Temp(60));  // drops before the minute is over
  Round();
  Set("rig-1", Temp(80));
  Round();
  Round();
  EXPECT_TRUE(sink_.seen.empty()) << "the pending timer must restart";
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
}

TEST_F(RulesEngineTest, HysteresisHoldsALevelUntilClearBelowItsThreshold) {
  Load(kTemp);
  Set("rig-1", Temp(75));
  for (int i = 0; i < 3; ++i) Round();
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
  Set("rig-1", Temp(70));  // below 72 but above 72-3: stays red
  Round();
  Set("rig-1", Temp(69.5));
  Round();
  EXPECT_EQ(sink_.seen.size(), 1u);
  Set("rig-1", Temp(69));  // 72-3 reached: leaves red, yellow holds (> 65)
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red", "red>yellow"}));
  EXPECT_EQ(sink_.seen.back().actions, (std::vector<std::string>{"notify"}));
  Set("rig-1", Temp(63));  // below 65 but above 62: stays yellow
  Round();
  EXPECT_EQ(sink_.seen.size(), 2u);
  Set("rig-1", Temp(62));
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red", "red>yellow",
                                               "yellow>green"}));
  EXPECT_EQ(sink_.seen.back().threshold, "> 65");
  EXPECT_TRUE(sink_.seen.back().actions.empty());  // no on_green
  // Back above 65: `for` applies again (entering needs the full minute).
  Set("rig-1", Temp(66));
  Round();
  Round();
  EXPECT_EQ(sink_.seen.size(), 3u);
  Round();
  EXPECT_EQ(sink_.seen.back().to, Level::kYellow);
}

TEST_F(RulesEngineTest, SeriesAreJudgedSeparatelyByLabels) {
  Load(R"y(rules:
  - name: t
    metric: miner_temperature_celsius{sensor=~"chain[0-9]+_chip"}
    red: "> 90"
)y");
  Set("s19",
      {Sample{"miner_temperature_celsius", {{"sensor", "chain0_chip"}}, 95},
       Sample{"miner_temperature_celsius", {{"sensor", "chain1_chip"}}, 70},
       Sample{"miner_temperature_celsius", {{"sensor", "chain1_board"}}, 99}},
      "cgminer");
  Round();
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].labels, (Labels{{"sensor", "chain0_chip"}}));
  EXPECT_EQ(engine_.SeriesCount(), 2u);
}

TEST_F(RulesEngineTest, RelativeToOwnHourlyAverage) {
  Load(R"y(rules:
  - name: hashrate_low
    metric: miner_hashrate_hashes_per_second
    red: "< 0.7 * avg_over_time(1h)"
    for: 5m
)y");
  auto hr = [](double v) {
    return Samples{Sample{"miner_hashrate_hashes_per_second", {}, v}};
  };
  // Low from the start: no verdict before the hour of history exists.
  Set("rig-1", hr(1e12));
  for (int i = 0; i < 120; ++i) Round();  // one hour at 30 s
  EXPECT_TRUE(sink_.seen.empty());
  Set("rig-1", hr(0.5e12));
  for (int i = 0; i < 10; ++i) Round();  // 4.5 min of holding
  EXPECT_TRUE(sink_.seen.empty());
  Round();  // 5 min
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
  EXPECT_EQ(sink_.seen[0].value, 0.5e12);
  // The threshold is 0.7 × the window's average, which now includes 11
  // low samples out of 120.
  const double avg = (109 * 1e12 + 11 * 0.5e12) / 120;
  EXPECT_NEAR(*sink_.seen[0].threshold_value, 0.7 * avg, 1);
  EXPECT_EQ(sink_.seen[0].threshold, "< 0.7 * avg_over_time(1h)");
}

TEST_F(RulesEngineTest, WindowNotYetCoveredNeitherEntersNorLeaves) {
  Load(R"y(rules:
  - name: no_shares
    metric: miner_shares_accepted_total
    red: "increase(15m) == 0"
)y");
  auto shares = [](double v) {
    return Samples{Sample{"miner_shares_accepted_total", {}, v}};
  };
  Set("rig-1", shares(100));             // first sample at +30 s
  for (int i = 0; i < 30; ++i) Round();  // until +15 min: not covered yet
  EXPECT_TRUE(sink_.seen.empty());
  Round();  // 15 min after the first sample: covered, increase 0
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
  EXPECT_EQ(sink_.seen[0].value, 0);
  Set("rig-1", shares(101));
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red", "red>green"}));
}

TEST_F(RulesEngineTest, IncreaseCountsThroughACounterReset) {
  Load(R"y(rules:
  - name: slow_shares
    metric: miner_shares_accepted_total
    yellow: "increase(5m) < 10"
)y");
  auto shares = [](double v) {
    return Samples{Sample{"miner_shares_accepted_total", {}, v}};
  };
  // 0 → 50 in steps of 5 each 30 s, then a reset to 0 and 2 more.
  for (int i = 0; i <= 10; ++i) {
    Set("rig-1", shares(i * 5));
    Round();
  }
  EXPECT_TRUE(sink_.seen.empty());
  Set("rig-1", shares(2));  // reset: +2, not -48
  Round();
  Set("rig-1", shares(4));
  Round();
  EXPECT_TRUE(sink_.seen.empty());  // 8 steps of 5 + 2 + 2 = 44 in 5 min
  // Flat from here: each round one +5 step leaves the window.
  for (int i = 0; i < 6; ++i) Round();
  EXPECT_TRUE(sink_.seen.empty());  // last: 10 + 2 + 2 = 14
  Round();  // window (300 s, 600 s]: 45→50, reset to 2, 2→4: 5 + 2 + 2
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>yellow"}));
  EXPECT_EQ(sink_.seen[0].value, 9);
}

TEST_F(RulesEngineTest, AbsenceRule) {
  Load(R"y(rules:
  - name: no_hashrate
    metric: miner_hashrate_hashes_per_second
    red: absent
    for: 1m
    on_red: [notify]
)y");
  Set("rig-1", {Sample{"miner_hashrate_hashes_per_second", {}, 1e12}});
  Round();
  Set("rig-1", {Sample{"miner_up", {}, 1}});
  Round();
  Round();
  EXPECT_TRUE(sink_.seen.empty());
  Round();
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
  EXPECT_FALSE(sink_.seen[0].value.has_value());
  Set("rig-1", {Sample{"miner_hashrate_hashes_per_second", {}, 1e12}});
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red", "red>green"}));
}

TEST_F(RulesEngineTest, StaleSeriesBecomeUnknownThenForgotten) {
  Load(R"y(rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    red: "> 72"
    stale: 2m
)y");
  Set("rig-1", Temp(80));
  Round();
  ASSERT_EQ(Moves(), (std::vector<std::string>{"unknown>red"}));
  Set("rig-1", {});  // the sensor stops reporting
  Round();
  Round();
  Round();
  EXPECT_EQ(sink_.seen.size(), 1u)
      << "keeps its level while younger than stale";
  Round();  // 2 min without a sample
  EXPECT_EQ(Moves(), (std::vector<std::string>{"unknown>red", "red>unknown"}));
  EXPECT_TRUE(sink_.seen.back().actions.empty());
  EXPECT_EQ(engine_.SeriesCount(), 1u);
  // Counters only (one per level, known from the start), no state.
  EXPECT_EQ(engine_.MetricSamples().size(), 4u);
  // Dropped after forget_after (24h) more.
  Round(std::chrono::hours(24));
  EXPECT_EQ(engine_.SeriesCount(), 0u);
  // A target that vanished from the rounds entirely ages the same way.
  Set("rig-2", Temp(90));
  Round();
  samples_.erase("rig-2");
  Round(minutes(3));
  EXPECT_EQ(sink_.seen.back().target, "rig-2");
  EXPECT_EQ(sink_.seen.back().to, Level::kUnknown);
  Round(std::chrono::hours(25));
  EXPECT_EQ(engine_.SeriesCount(), 0u);
  EXPECT_EQ(engine_.MetricSamples().size(), 4u);  // counters only
}

TEST_F(RulesEngineTest, KindAndTargetFilters) {
  Load(R"y(rules:
  - name: down
    metric: miner_up
    kinds: [cgminer]
    targets: ["rack1-*"]
    red: "== 0"
)y");
  const Samples down = {Sample{"miner_up", {}, 0}};
  Set("rack1-a", down, "cgminer");
  Set("rack1-b", down, "bitaxe");
  Set("rack2-a", down, "cgminer");
  Round();
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].target, "rack1-a");
}

TEST_F(RulesEngineTest, GraceHoldsOffWorseningAndPendingTimers) {
  Load(R"y(rules:
  - name: down
    metric: miner_up
    red: "== 0"
    for: 1m
)y");
  Set("rig-1", {Sample{"miner_up", {}, 1}});
  Round();
  ASSERT_TRUE(engine_.StartGrace("rig-1", minutes(3)).ok());
  Set("rig-1", {Sample{"miner_up", {}, 0}});  // rebooting
  for (int i = 0; i < 5; ++i) Round();        // 2.5 min in grace
  EXPECT_TRUE(sink_.seen.empty());
  Round();  // 3 min: grace over, the `for` minute starts now
  Round();
  EXPECT_TRUE(sink_.seen.empty());
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red"}));
}

TEST_F(RulesEngineTest, GraceLetsALevelImprove) {
  Load(kTemp);
  Set("rig-1", Temp(80));
  for (int i = 0; i < 3; ++i) Round();
  ASSERT_EQ(sink_.seen.size(), 1u);
  ASSERT_TRUE(engine_.StartGrace("rig-1", minutes(5)).ok());
  Set("rig-1", Temp(50));
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>red", "red>green"}));
}

TEST_F(RulesEngineTest, MuteDeliversTransitionsWithoutActions) {
  Load(kTemp);
  ASSERT_TRUE(engine_.Mute("rig-1", clock_.Now() + minutes(10)).ok());
  Set("rig-1", Temp(80));
  for (int i = 0; i < 3; ++i) Round();
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_TRUE(sink_.seen[0].muted);
  EXPECT_TRUE(sink_.seen[0].actions.empty());
  std::vector<AlertView> alerts = engine_.Alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].muted);
  // The mute ends by itself.
  Round(minutes(10));
  Set("rig-1", Temp(50));
  Round();
  Set("rig-1", Temp(80));
  for (int i = 0; i < 3; ++i) Round();
  EXPECT_FALSE(sink_.seen.back().muted);
  EXPECT_EQ(sink_.seen.back().actions.size(), 2u);
  ASSERT_TRUE(engine_.Mute("rig-1", clock_.Now() + minutes(10)).ok());
  ASSERT_TRUE(engine_.Unmute("rig-1").ok());
  EXPECT_FALSE(engine_.Alerts()[0].muted);
}

TEST_F(RulesEngineTest, SetRulesKeepsStatesOfRulesThatPersist) {
  Load(kTemp);
  Set("rig-1", Temp(80));
  for (int i = 0; i < 3; ++i) Round();
  ASSERT_EQ(sink_.seen.size(), 1u);
  // Same name, a new neighbour rule: the red state stays, nothing re-sent.
  Load(std::string(kTemp) + R"y(  - name: down
    metric: miner_up
    red: "== 0"
)y");
  Round();
  EXPECT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(engine_.Alerts().size(), 1u);
  // Renamed: the old state is gone (memory and kv), the new rule starts over.
  Load(R"y(rules:
  - name: asic_hot
    metric: miner_temperature_celsius{sensor="asic"}
    red: "> 72"
)y");
  EXPECT_TRUE(engine_.Alerts().empty());
  auto kv = kv_.List("rules");
  ASSERT_TRUE(kv.ok());
  EXPECT_TRUE(kv->empty());
  Round();
  EXPECT_EQ(sink_.seen.back().rule, "asic_hot");
}

TEST_F(RulesEngineTest, MetricSamplesAndAlertsJson) {
  Load(kTemp);
  Set("rig-1", {Sample{"miner_temperature_celsius", {{"sensor", "asic"}}, 80},
                Sample{"miner_temperature_celsius", {{"sensor", "vr"}}, 99}});
  Set("rig-2", Temp(50));
  for (int i = 0; i < 3; ++i) Round();
  Samples m = engine_.MetricSamples();
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0], (Sample{"rigwatch_rule_state",
                          {{"rule", "asic_temperature"}, {"miner", "rig-1"}},
                          2}));
  EXPECT_EQ(m[1], (Sample{"rigwatch_rule_state",
                          {{"rule", "asic_temperature"}, {"miner", "rig-2"}},
                          0}));
  // Every level of every rule is exported from the start, at 0 until it
  // happens.
  EXPECT_EQ(m[2], (Sample{"rigwatch_rule_transitions_total",
                          {{"rule", "asic_temperature"}, {"to", "green"}},
                          0}));
  EXPECT_EQ(m[4], (Sample{"rigwatch_rule_transitions_total",
                          {{"rule", "asic_temperature"}, {"to", "red"}},
                          1}));
  EXPECT_EQ(m[5], (Sample{"rigwatch_rule_transitions_total",
                          {{"rule", "asic_temperature"}, {"to", "unknown"}},
                          0}));
  // 2026-01-01T00:00:00Z + 90 s.
  EXPECT_EQ(engine_.AlertsJson(),
            "{\"alerts\":[{\"rule\":\"asic_temperature\",\"miner\":\"rig-1\","
            "\"labels\":{\"sensor\":\"asic\"},\"level\":\"red\","
            "\"since\":\"2026-01-01T00:01:30.000Z\",\"value\":80,"
            "\"threshold\":\"> 72\",\"severity\":\"critical\","
            "\"muted\":false,\"muted_until\":null,\"description\":\"\"}]}");
}

TEST_F(RulesEngineTest, JsonEscapesHostileNames) {
  Load(R"y(rules:
  - name: down
    metric: miner_up
    red: "== 0"
    description: "{{miner}} down"
)y");
  Set("a\"b\\c\n\xff", {Sample{"miner_up", {}, 0}});
  Round();
  std::string j = engine_.AlertsJson();
  EXPECT_NE(j.find("\"miner\":\"a\\\"b\\\\c\\n\\ufffd\""), std::string::npos)
      << j;
  EXPECT_NE(j.find("\"description\":\"a\\\"b\\\\c\\n\\ufffd down\""),
            std::string::npos)
      << j;
}

class FakeHistory : public HistorySource {
 public:
  struct Point {
    Labels labels;
    WallTime t;
    double v;
  };
  Status Read(
      std::string_view target, std::string_view metric, WallTime from,
      WallTime to,
      const std::function<void(const Labels&, WallTime, double)>& fn) override {
    reads.push_back(std::string(target) + "/" + std::string(metric));
    if (fail) return UnavailableError("store closed");
    for (const Point& p : points[std::string(target)]) {
      if (p.t >= from && p.t <= to) fn(p.labels, p.t, p.v);
    }
    return Status::Ok();
  }
  std::map<std::string, std::vector<Point>> points;
  std::vector<std::string> reads;
  bool fail = false;
};

TEST_F(RulesEngineTest, WarmFillsWindowsFromHistory) {
  Load(R"y(rules:
  - name: hashrate_low
    metric: miner_hashrate_hashes_per_second
    kinds: [bitaxe]
    red: "< 0.7 * avg_over_time(1h)"
  - name: down
    metric: miner_up
    red: "== 0"
)y");
  FakeHistory h;
  // 65 minutes of history at 1 TH/s, one point per 30 s, ending now.
  for (int i = 130; i >= 0; --i) {
    h.points["rig-1"].push_back({{}, clock_.Now() - seconds(30 * i), 1e12});
  }
  std::vector<TargetSamples> targets = {{"rig-1", "bitaxe", nullptr},
                                        {"rig-2", "cgminer", nullptr}};
  ASSERT_TRUE(engine_.Warm(h, targets).ok());
  EXPECT_EQ(engine_.SeriesCount(), 1u);
  EXPECT_EQ(engine_.WindowPoints(), 121u);  // the hour plus its anchor
  // Only windowed rules that apply are read.
  EXPECT_EQ(
      h.reads,
      (std::vector<std::string>{"rig-1/miner_hashrate_hashes_per_second"}));
  Set("rig-1", {Sample{"miner_hashrate_hashes_per_second", {}, 0.5e12}});
  Round();
  // Without the warm-up this would wait an hour (RelativeToOwnHourlyAverage).
  ASSERT_EQ(Moves(), (std::vector<std::string>{"unknown>red"}));
  EXPECT_NEAR(*sink_.seen[0].threshold_value, 0.7e12 * (119 + 0.5) / 120, 1e6);

  h.fail = true;
  Status st = engine_.Warm(h, targets);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("hashrate_low rig-1"), std::string::npos)
      << st.message();
}

// Expressions (`expr:`): arithmetic between a target's series, rate() over
// counters, aggregation; each result series is judged like a sample.
TEST_F(RulesEngineTest, ExpressionRatioOfTwoSeries) {
  Load(R"y(rules:
  - name: memory_used
    expr: 1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes
    kinds: [host]
    yellow: "> 80%"
    red: "> 90%"
    clear: 5%
)y");
  auto mem = [](double avail, double total) {
    return Samples{Sample{"node_memory_MemAvailable_bytes", {}, avail},
                   Sample{"node_memory_MemTotal_bytes", {}, total},
                   Sample{"node_memory_MemFree_bytes", {}, 1}};
  };
  Set("host", mem(500, 1000), "host");
  Round();
  EXPECT_TRUE(sink_.seen.empty());
  Set("host", mem(150, 1000), "host");
  Round();
  ASSERT_EQ(Moves(), (std::vector<std::string>{"green>yellow"}));
  EXPECT_DOUBLE_EQ(*sink_.seen[0].value, 0.85);
  EXPECT_DOUBLE_EQ(*sink_.seen[0].threshold_value, 0.8);
  EXPECT_TRUE(sink_.seen[0].labels.empty());
  Set("host", mem(50, 1000), "host");
  Round();
  Set("host", mem(120, 1000), "host");  // 88%: within clear of 90%
  Round();
  EXPECT_EQ(Moves(), (std::vector<std::string>{"green>yellow", "yellow>red"}));
  Set("host", mem(160, 1000), "host");  // 84%: below 85%, still yellow
  Round();
  EXPECT_EQ(Moves().back(), "red>yellow");
  // A division by zero has no value: the series is not judged (stale later).
  Set("host", mem(0, 0), "host");
  Round();
  EXPECT_EQ(sink_.seen.size(), 3u);
}

TEST_F(RulesEngineTest, ExpressionRateOfCountersWaitsForItsWindow) {
  Load(R"y(rules:
  - name: cpu_busy
    expr: 'sum(rate(node_cpu_seconds_total{mode!="idle"}[1m])) / sum(rate(node_cpu_seconds_total[1m]))'
    kinds: [host]
    yellow: "> 80%"
    red: "> 95%"
)y");
  // Two CPUs; each second of a round `busy` of it is user time.
  double user[2] = {0, 0}, idle[2] = {0, 0};
  auto cpu = [&](double busy) {
    Samples out;
    for (int c = 0; c < 2; ++c) {
      user[c] += 30 * busy;
      idle[c] += 30 * (1 - busy);
      const std::string n = std::to_string(c);
      out.push_back(
          {"node_cpu_seconds_total", {{"cpu", n}, {"mode", "user"}}, user[c]});
      out.push_back(
          {"node_cpu_seconds_total", {{"cpu", n}, {"mode", "idle"}}, idle[c]});
    }
    return out;
  };
  Set("host", cpu(1.0), "host");
  Round();
  Set("host", cpu(1.0), "host");
  Round();  // 30 s of a 1m window: not covered, not judged
  EXPECT_TRUE(sink_.seen.empty());
  EXPECT_EQ(engine_.SeriesCount(), 0u);
  Set("host", cpu(1.0), "host");
  Round();  // covered: 100% busy
  ASSERT_EQ(Moves(), (std::vector<std::string>{"unknown>red"}));
  EXPECT_DOUBLE_EQ(*sink_.seen[0].value, 1.0);
  // 2 busy + 4 total input series, 3 points each (the minute + its anchor).
  EXPECT_EQ(engine_.WindowPoints(), 18u);
  for (int i = 0; i < 2; ++i) {
    Set("host", cpu(0.5), "host");
    Round();
  }
  EXPECT_EQ(Moves().back(), "red>green");
  // A counter reset (reboot) counts from zero, not as a negative rate.
  user[0] = user[1] = idle[0] = idle[1] = 0;
  Set("host", cpu(0.85), "host");
  Round();
  Set("host", cpu(0.85), "host");
  Round();
  EXPECT_EQ(Moves().back(), "green>yellow");
  EXPECT_NEAR(*sink_.seen.back().value, 0.85, 1e-9);
}

TEST_F(RulesEngineTest, ExpressionAggregatesByLabel) {
  Load(R"y(rules:
  - name: fs_used
    expr: max by (mountpoint) (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)
    kinds: [host]
    red: "> 90%"
    description: "{{label.mountpoint}} {{value}}"
)y");
  auto fs = [](double root_avail, double data_avail) {
    Samples out;
    for (auto [dev, mp, avail] :
         {std::tuple{"/dev/sda1", "/", root_avail},
          std::tuple{"/dev/sdb1", "/data", data_avail}}) {
      Labels l = {{"device", dev}, {"fstype", "ext4"}, {"mountpoint", mp}};
      out.push_back({"node_filesystem_avail_bytes", l, avail});
      out.push_back({"node_filesystem_size_bytes", l, 100});
    }
    return out;
  };
  Set("host", fs(50, 5), "host");
  Round();
  ASSERT_EQ(Moves(), (std::vector<std::string>{"unknown>red"}));
  EXPECT_EQ(sink_.seen[0].labels, (Labels{{"mountpoint", "/data"}}));
  EXPECT_TRUE(sink_.seen[0].description.starts_with("/data 0.9"))
      << sink_.seen[0].description;
  EXPECT_EQ(engine_.SeriesCount(), 2u);  // one per mountpoint

  // avg, min, count, sum and without over the same inputs.
  int n = 0;
  for (auto [text, want] :
       {std::pair{"avg(node_filesystem_avail_bytes)", 27.5},
        std::pair{"min(node_filesystem_avail_bytes)", 5.0},
        std::pair{"count(node_filesystem_avail_bytes)", 2.0},
        std::pair{"sum without (device, mountpoint) "
                  "(node_filesystem_avail_bytes) * 2",
                  110.0}}) {
    sink_.seen.clear();
    samples_.clear();
    Load("rules:\n  - name: agg" + std::to_string(++n) + "\n    expr: \"" +
         text + "\"\n    kinds: [host]\n    red: \"> 0\"\n");
    Set("host", fs(50, 5), "host");
    Round();
    ASSERT_EQ(sink_.seen.size(), 1u) << text;
    EXPECT_DOUBLE_EQ(*sink_.seen[0].value, want) << text;
  }
}

}  // namespace
}  // namespace rigwatch::rules
