// The string languages inside rule files, without YAML.
#include "agent/rules/expr.h"

#include <gtest/gtest.h>

#include "agent/rules/match.h"

namespace rigwatch::rules {
namespace {

TEST(RulesExprTest, SelectorMatchers) {
  auto r = ParseSelector(
      R"(m{a="x", b!="", c=~"chain[0-9]+_chip", d!~"t.*", e="q\"uote"})");
  ASSERT_TRUE(std::holds_alternative<Selector>(r));
  const Selector& s = std::get<Selector>(r);
  EXPECT_EQ(s.metric, "m");
  ASSERT_EQ(s.matchers.size(), 5u);
  EXPECT_EQ(s.matchers[1].op, MatchOp::kNe);
  EXPECT_EQ(s.matchers[2].op, MatchOp::kRe);
  EXPECT_EQ(s.matchers[3].op, MatchOp::kNre);
  EXPECT_EQ(s.matchers[4].value, "q\"uote");

  CompiledSelector c = CompileSelector(s).value();
  Labels ok = {{"a", "x"},
               {"b", "1"},
               {"c", "chain2_chip"},
               {"d", "prod"},
               {"e", "q\"uote"}};
  EXPECT_TRUE(Matches(c, "m", ok));
  EXPECT_FALSE(Matches(c, "n", ok));
  Labels no_b = ok;
  no_b[1].value = "";  // != "" fails on empty, as on a missing label
  EXPECT_FALSE(Matches(c, "m", no_b));
  Labels partial = ok;
  partial[2].value = "xchain2_chip";  // regexes are anchored
  EXPECT_FALSE(Matches(c, "m", partial));
  Labels test = ok;
  test[3].value = "test1";
  EXPECT_FALSE(Matches(c, "m", test));
}

TEST(RulesExprTest, ErrorOffsetsPointAtTheToken) {
  auto e = [](std::string_view cond) {
    auto r = ParseCondition(cond, "miner_temperature_celsius");
    EXPECT_TRUE(std::holds_alternative<ExprError>(r)) << cond;
    return std::holds_alternative<ExprError>(r) ? std::get<ExprError>(r)
                                                : ExprError{};
  };
  EXPECT_EQ(e("> 72 foo").offset, 5u);
  EXPECT_EQ(e("> ").offset, 2u);
  EXPECT_EQ(e("max_over_time(5m) 3").offset, 18u);
  EXPECT_EQ(e("> 3 * rate(0s)").offset, 11u);
  EXPECT_EQ(e("").message, "empty condition");
}

TEST(RulesExprTest, GlobMatch) {
  EXPECT_TRUE(GlobMatch("rack1-*", "rack1-07"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
  EXPECT_FALSE(GlobMatch("rig-1", "rig-10"));
}

}  // namespace
}  // namespace rigwatch::rules
