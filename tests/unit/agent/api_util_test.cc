#include "agent/api/api_util.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

const WallTime kNow = FromUnixMillis(1763787600000);  // 2025-11-22T05:00:00Z

TEST(ParseTimeArgTest, Forms) {
  EXPECT_EQ(*ParseTimeArg("now", kNow), kNow);
  EXPECT_EQ(*ParseTimeArg("-1h", kNow), kNow - std::chrono::hours(1));
  EXPECT_EQ(*ParseTimeArg("now-30m", kNow), kNow - std::chrono::minutes(30));
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("1763787600", kNow)), 1763787600000);
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("1763787600.5", kNow)), 1763787600500);
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("2025-11-22T05:00:00Z", kNow)),
            1763787600000);
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("2025-11-22T06:00:00.250+01:00", kNow)),
            1763787600250);
  for (const char* bad : {"", "yesterday", "2025-13-01T00:00:00Z",
                          "2025-11-22T05:00:00", "-5x", "12:00"}) {
    EXPECT_FALSE(ParseTimeArg(bad, kNow).ok()) << bad;
  }
}

TEST(ParseSelectorTest, MatchersAndErrors) {
  auto s = ParseSelector(
      "miner_up{miner=\"rig-1\",kind!=\"x\",a=~\"b.*\",c!~\"\\\"q\"}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->metric, "miner_up");
  ASSERT_EQ(s->matchers.size(), 4u);
  EXPECT_EQ(s->matchers[1].op, store::LabelMatcher::Op::kNe);
  EXPECT_EQ(s->matchers[2].op, store::LabelMatcher::Op::kRegex);
  EXPECT_EQ(s->matchers[3].value, "\"q");
  EXPECT_TRUE(ParseSelector("{miner=\"a\"}").ok());
  auto bad = ParseSelector("miner_up{miner=rig}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("column 16"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(ParseSelector("miner_up{miner=\"a\"").ok());
  EXPECT_FALSE(ParseSelector("").ok());
}

TEST(SeriesJsonTest, EscapesAndNulls) {
  store::SeriesPoints sp;
  sp.key.target = "r\"1";
  sp.key.metric = "m";
  sp.key.labels = {{"a", "b"}};
  sp.points = {
      {FromUnixMillis(1000), 1.5},
      {FromUnixMillis(2000), std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_EQ(SeriesJson({sp}),
            "{\"series\":[{\"miner\":\"r\\\"1\",\"metric\":\"m\",\"labels\":{"
            "\"a\":\"b\"},\"points\":[[1000,1.5],[2000,null]]}]}");
}

}  // namespace
}  // namespace rigwatch
