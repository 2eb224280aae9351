#include "agent/common/selector.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace rigwatch {
namespace {

using LabelMap = std::map<std::string, std::string, std::less<>>;

// Matches against a fixed label map ("" for a missing label).
bool Match(const CompiledSelector& s, std::string_view name,
           const LabelMap& labels) {
  return s.Matches(name, [&labels](std::string_view l) {
    auto it = labels.find(l);
    return it == labels.end() ? std::string_view()
                              : std::string_view(it->second);
  });
}

TEST(SelectorTest, OperatorsAndAnchoring) {
  auto c =
      CompiledSelector::Compile("m", {{"a", MatchOp::kEq, "x"},
                                      {"b", MatchOp::kNe, ""},
                                      {"c", MatchOp::kRe, "chain[0-9]+_chip"},
                                      {"d", MatchOp::kNre, "test.*"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const LabelMap ok = {
      {"a", "x"}, {"b", "1"}, {"c", "chain2_chip"}, {"d", "prod"}};
  EXPECT_TRUE(Match(*c, "m", ok));
  EXPECT_FALSE(Match(*c, "n", ok));
  LabelMap partial = ok;
  partial["c"] = "xchain2_chip";  // anchored at the start
  EXPECT_FALSE(Match(*c, "m", partial));
  partial["c"] = "chain2_chipx";  // and at the end
  EXPECT_FALSE(Match(*c, "m", partial));
  LabelMap missing = ok;
  missing.erase("b");  // != "" fails on a missing label
  EXPECT_FALSE(Match(*c, "m", missing));
  LabelMap test = ok;
  test["d"] = "test1";
  EXPECT_FALSE(Match(*c, "m", test));
}

TEST(SelectorTest, EmptyMetricMatchesAnyNameAndMissingReadsEmpty) {
  auto c = CompiledSelector::Compile("", {{"a", MatchOp::kEq, ""}});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(Match(*c, "whatever", {}));
  EXPECT_FALSE(Match(*c, "whatever", {{"a", "1"}}));
}

TEST(SelectorTest, BadRegexNamesTheMatcherAndQuotesOnlyItsStart) {
  auto c = CompiledSelector::Compile("m", {{"miner", MatchOp::kRe, "(a"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("miner=~\"(a\""), std::string::npos)
      << c.status().message();
  std::string huge = "(" + std::string(10000, 'a');
  auto h = CompiledSelector::Compile("m", {{"x", MatchOp::kNre, huge}});
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("x!~"), std::string::npos);
  EXPECT_LT(h.status().message().size(), 400u) << h.status().message();
}

TEST(SelectorTest, CopiesShareTheCompiledRegexAndMatchAlike) {
  auto c = CompiledSelector::Compile("m", {{"s", MatchOp::kRe, "a|b"}});
  ASSERT_TRUE(c.ok());
  CompiledSelector copy = *c;
  EXPECT_TRUE(Match(copy, "m", {{"s", "b"}}));
  EXPECT_FALSE(Match(copy, "m", {{"s", "ab"}}));
  EXPECT_EQ(copy.metric(), "m");
}

}  // namespace
}  // namespace rigwatch
