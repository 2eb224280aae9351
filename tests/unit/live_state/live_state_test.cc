#include "agent/live_state/live_state.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>

#include "agent/live_state/poll_errors.h"

namespace rigwatch {
namespace {

constexpr std::array kDescs = {
    MetricDesc{"miner_up", MetricType::kGauge, "1 if up.", "miner,kind"},
    MetricDesc{"miner_shares_accepted_total", MetricType::kCounter,
               "Accepted shares.", "miner"},
    MetricDesc{"node_load1", MetricType::kGauge, "1m load average.", ""},
};

TEST(LiveStateTest, GroupsFamiliesAcrossTargets) {
  LiveState live({kDescs});
  live.Update("rig-2", "miner",
              {{"miner_up", {{"kind", "bitaxe"}}, 1},
               {"miner_shares_accepted_total", {}, 12}});
  live.Update("rig-1", "miner", {{"miner_up", {{"kind", "cgminer"}}, 0}});
  live.Update("host", "", {{"node_load1", {}, 0.25}});
  std::string out;
  live.Render(&out);
  EXPECT_EQ(out,
            "# HELP miner_shares_accepted_total Accepted shares.\n"
            "# TYPE miner_shares_accepted_total counter\n"
            "miner_shares_accepted_total{miner=\"rig-2\"} 12\n"
            "# HELP miner_up 1 if up.\n"
            "# TYPE miner_up gauge\n"
            "miner_up{miner=\"rig-2\",kind=\"bitaxe\"} 1\n"
            "miner_up{miner=\"rig-1\",kind=\"cgminer\"} 0\n"
            "# HELP node_load1 1m load average.\n"
            "# TYPE node_load1 gauge\n"
            "node_load1 0.25\n");
  EXPECT_EQ(live.SeriesCount(), 4u);
}

TEST(LiveStateTest, UpdateReplacesAndRemoveDrops) {
  LiveState live({kDescs});
  live.Update("rig-1", "miner",
              {{"miner_up", {{"kind", "bitaxe"}}, 1},
               {"miner_shares_accepted_total", {}, 5}});
  // The next poll has no shares: the stale series must go.
  live.Update("rig-1", "miner", {{"miner_up", {{"kind", "bitaxe"}}, 0}});
  std::string out;
  live.Render(&out);
  EXPECT_EQ(out.find("shares"), std::string::npos) << out;
  EXPECT_NE(out.find("miner_up{miner=\"rig-1\",kind=\"bitaxe\"} 0\n"),
            std::string::npos);
  live.Remove("rig-1");
  out.clear();
  live.Render(&out);
  EXPECT_EQ(out, "");
  EXPECT_EQ(live.SeriesCount(), 0u);
  EXPECT_EQ(live.TargetCount(), 0u);
}

TEST(LiveStateTest, SlotsAreReusedAfterRemove) {
  LiveState live({kDescs});
  live.Update("a", "miner", {{"miner_up", {{"kind", "x"}}, 1}});
  live.Update("b", "miner", {{"miner_up", {{"kind", "x"}}, 1}});
  live.Remove("a");
  live.Update("c", "miner", {{"node_load1", {}, 2}});
  std::string out;
  live.Render(&out);
  EXPECT_EQ(out.find("miner=\"a\""), std::string::npos) << out;
  EXPECT_NE(out.find("miner_up{miner=\"b\",kind=\"x\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("node_load1{miner=\"c\"} 2\n"), std::string::npos);
  EXPECT_EQ(live.SeriesCount(), 2u);
  EXPECT_EQ(live.TargetCount(), 2u);
}

TEST(LiveStateTest, EscapesLabelValues) {
  LiveState live({kDescs});
  live.Update("evil\"\\\nminer", "miner",
              {{"miner_up", {{"kind", "a\"b"}}, 1}});
  std::string out;
  live.Render(&out);
  EXPECT_NE(
      out.find("miner_up{miner=\"evil\\\"\\\\\\nminer\",kind=\"a\\\"b\"} 1"),
      std::string::npos)
      << out;
}

TEST(LiveStateTest, SpecialValuesAndUndocumentedFamilies) {
  LiveState live({kDescs});
  live.Update("t", "",
              {{"x_nan", {}, std::nan("")},
               {"x_inf", {}, std::numeric_limits<double>::infinity()},
               {"x_big", {}, 1.0187355702938411e+19}});
  std::string out;
  live.Render(&out);
  EXPECT_NE(out.find("x_nan NaN\n"), std::string::npos);
  EXPECT_NE(out.find("x_inf +Inf\n"), std::string::npos);
  // Shortest round-trip form; Prometheus parses either notation.
  EXPECT_NE(out.find("x_big 10187355702938411008\n"), std::string::npos) << out;
  EXPECT_NE(out.find("# HELP x_nan Undocumented series.\n"), std::string::npos);
}

TEST(PromValueTest, ShortestRoundTrip) {
  std::string s;
  AppendPromValue(&s, 0.1);
  EXPECT_EQ(s, "0.1");
  s.clear();
  AppendPromValue(&s, 1e9);
  EXPECT_EQ(s, "1e+09");
  s.clear();
  AppendPromValue(&s, -3);
  EXPECT_EQ(s, "-3");
}

TEST(PollErrorsTest, OnlyAChangeOfClassIsNews) {
  using C = PollErrors::Change;
  PollErrors e;
  const WallTime t0 = FromUnixMillis(1'000'000);
  EXPECT_EQ(e.Record("r", "ok", "", t0), C::kNone);
  EXPECT_FALSE(e.Last("r").has_value());
  EXPECT_EQ(e.Record("r", "parse_error", "r: summary: bad JSON", t0),
            C::kFailing);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(e.Record("r", "parse_error",
                       "r: summary: bad JSON at " + std::to_string(i),
                       t0 + std::chrono::seconds(i)),
              C::kNone);
  }
  // The newest text and time of the same class are kept.
  ASSERT_TRUE(e.Last("r").has_value());
  EXPECT_EQ(e.Last("r")->text, "r: summary: bad JSON at 3");
  EXPECT_EQ(e.Last("r")->time, t0 + std::chrono::seconds(3));
  EXPECT_TRUE(e.Last("r")->failing);
  EXPECT_EQ(e.Record("r", "timeout", "r: connect timed out", t0), C::kChanged);
  EXPECT_EQ(e.Record("r", "ok", "", t0), C::kRecovered);
  EXPECT_EQ(e.Record("r", "ok", "", t0), C::kNone);
  // The last error outlives the recovery.
  ASSERT_TRUE(e.Last("r").has_value());
  EXPECT_EQ(e.Last("r")->result, "timeout");
  EXPECT_FALSE(e.Last("r")->failing);
  // A miner failing from its first poll is news once.
  EXPECT_EQ(e.Record("s", "refused", "s: refused", t0), C::kFailing);
  EXPECT_EQ(e.Record("s", "refused", "s: refused", t0), C::kNone);
  e.Remove("r");
  EXPECT_FALSE(e.Last("r").has_value());
  EXPECT_TRUE(e.Last("s").has_value());
}

}  // namespace
}  // namespace rigwatch
