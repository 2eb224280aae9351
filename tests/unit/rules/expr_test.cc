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

TEST(RulesExprTest, ValueExpressionsParseWithPrecedence) {
  int nodes = 0;
  auto r = ParseValueExpr(
      "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
      &nodes);
  ASSERT_TRUE(std::holds_alternative<ValueExpr>(r));
  const ValueExpr& e = std::get<ValueExpr>(r);
  EXPECT_EQ(nodes, 5);
  ASSERT_EQ(e.kind, ValueExpr::Kind::kBinary);
  EXPECT_EQ(e.op, '-');  // 1 - (a / b)
  EXPECT_EQ(e.args[0].number, 1);
  ASSERT_EQ(e.args[1].kind, ValueExpr::Kind::kBinary);
  EXPECT_EQ(e.args[1].op, '/');
  EXPECT_EQ(e.args[1].args[0].selector.metric,
            "node_memory_MemAvailable_bytes");
  EXPECT_EQ(e.args[1].args[1].id, 4);
  EXPECT_EQ(ExprMetric(e), "");

  auto cpu =
      ParseValueExpr(R"(sum(rate(node_cpu_seconds_total{mode!="idle"}[1m])) / )"
                     R"(sum without (cpu) (rate(node_cpu_seconds_total[1m])))");
  ASSERT_TRUE(std::holds_alternative<ValueExpr>(cpu));
  const ValueExpr& c = std::get<ValueExpr>(cpu);
  const ValueExpr& busy = c.args[0];
  EXPECT_EQ(busy.kind, ValueExpr::Kind::kAggregate);
  EXPECT_EQ(busy.agg, AggOp::kSum);
  EXPECT_TRUE(busy.grouping.empty());
  const ValueExpr& rate = busy.args[0];
  EXPECT_EQ(rate.kind, ValueExpr::Kind::kWindow);
  EXPECT_EQ(rate.fn, WindowFn::kRate);
  EXPECT_EQ(rate.window, std::chrono::minutes(1));
  EXPECT_EQ(rate.selector.text, R"(node_cpu_seconds_total{mode!="idle"})");
  EXPECT_TRUE(c.args[1].without);
  EXPECT_EQ(c.args[1].grouping, std::vector<std::string>{"cpu"});

  // `by` before or after the argument; unary minus; parentheses.
  for (std::string_view text :
       {"max by (mountpoint) (node_filesystem_avail_bytes)",
        "max(node_filesystem_avail_bytes) by (mountpoint)"}) {
    auto m = ParseValueExpr(text);
    ASSERT_TRUE(std::holds_alternative<ValueExpr>(m)) << text;
    EXPECT_EQ(std::get<ValueExpr>(m).grouping,
              std::vector<std::string>{"mountpoint"});
    EXPECT_EQ(ExprMetric(std::get<ValueExpr>(m)),
              "node_filesystem_avail_bytes");
  }
  auto neg = ParseValueExpr("-(a - b) * 2");
  ASSERT_TRUE(std::holds_alternative<ValueExpr>(neg));
  EXPECT_EQ(std::get<ValueExpr>(neg).op, '*');
}

TEST(RulesExprTest, ValueExpressionErrorsPointAtTheToken) {
  auto e = [](std::string_view text) {
    auto r = ParseValueExpr(text);
    EXPECT_TRUE(std::holds_alternative<ExprError>(r)) << text;
    return std::holds_alternative<ExprError>(r) ? std::get<ExprError>(r)
                                                : ExprError{};
  };
  EXPECT_EQ(e("").message, "empty expression");
  ExprError unknown = e("1 - frobnicate(x[1m])");
  EXPECT_EQ(unknown.offset, 4u);
  EXPECT_EQ(unknown.message,
            "unknown function \"frobnicate\"; known: sum, avg, min, max, "
            "count, avg_over_time, min_over_time, max_over_time, increase, "
            "rate");
  ExprError range = e("rate(x)");
  EXPECT_EQ(range.offset, 6u);
  EXPECT_EQ(range.message,
            "rate needs a range: a selector followed by [DURATION], found "
            "\")\"");
  ExprError bare = e("x[5m] / 2");
  EXPECT_EQ(bare.offset, 1u);
  EXPECT_EQ(e("a / ").offset, 4u);
  EXPECT_EQ(e("a b").offset, 2u);
  EXPECT_EQ(e("rate(x[0s])").offset, 7u);
  EXPECT_EQ(e("rate(x[0s])").message, "window must be longer than 0s");
  EXPECT_EQ(e("sum by (a) (x) by (b)").message,
            "only one by/without per aggregation");
  EXPECT_EQ(e("sum by (a (x)").offset, 10u);
  EXPECT_EQ(e("(a + b").message, "expected \")\", found end of text");
  EXPECT_EQ(e("x{a=\"1\"").message, "missing \"}\"");
  // Nesting is bounded (the parser recurses).
  EXPECT_EQ(e(std::string(100, '(') + "1" + std::string(100, ')')).message,
            "expression nested deeper than 64 levels");
  EXPECT_EQ(e(std::string(100, '-') + "1").message,
            "expression nested deeper than 64 levels");
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
