#include "agent/common/label_regex.h"

#include <gtest/gtest.h>

#include <string>

namespace rigwatch {
namespace {

TEST(LabelRegexTest, FullyAnchoredLikePrometheus) {
  LabelRegex re = LabelRegex::Compile("ab.").value();
  EXPECT_TRUE(re.FullMatch("abc"));
  EXPECT_FALSE(re.FullMatch("xabc"));
  EXPECT_FALSE(re.FullMatch("abcd"));
  EXPECT_TRUE(LabelRegex::Compile("a.b").value().FullMatch("a\nb"));
  EXPECT_TRUE(LabelRegex::Compile("").value().FullMatch(""));
  EXPECT_FALSE(LabelRegex::Compile("").value().FullMatch("x"));
}

TEST(LabelRegexTest, AlternationIsAnchoredAsAWhole) {
  LabelRegex re = LabelRegex::Compile("a|bc").value();
  EXPECT_TRUE(re.FullMatch("a"));
  EXPECT_TRUE(re.FullMatch("bc"));
  EXPECT_FALSE(re.FullMatch("abc"));
}

TEST(LabelRegexTest, BadPatternsNameTheProblem) {
  Result<LabelRegex> r = LabelRegex::Compile("(unclosed");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("missing )"), std::string::npos)
      << r.status().message();

  r = LabelRegex::Compile(std::string(500, '(') + "a" + std::string(500, ')'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deeper than 64"), std::string::npos);

  r = LabelRegex::Compile(std::string(kMaxLabelRegexBytes + 1, 'a'));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("longer than"), std::string::npos);

  // Small to write, huge to compile: refused by the memory bound.
  r = LabelRegex::Compile("((a{100}){100}){100}");
  ASSERT_FALSE(r.ok());
}

TEST(LabelRegexTest, EscapedAndBracketedParensDoNotCountAsNesting) {
  std::string p;
  for (int i = 0; i < 200; ++i) p += "\\([(]";
  EXPECT_TRUE(LabelRegex::Compile(p).ok());
  EXPECT_TRUE(
      LabelRegex::Compile(std::string(64, '(') + "a" + std::string(64, ')'))
          .ok());
}

TEST(LabelRegexTest, LinearOnHostileSubjects) {
  LabelRegex re = LabelRegex::Compile("(a+)+$").value();
  EXPECT_FALSE(re.FullMatch(std::string(10000, 'a') + "-"));
  EXPECT_TRUE(re.FullMatch(std::string(10000, 'a')));
  EXPECT_TRUE(
      LabelRegex::Compile(".*").value().FullMatch(std::string(1 << 20, 'x')));
}

}  // namespace
}  // namespace rigwatch
