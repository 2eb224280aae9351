#include "exporters/json_util.h"

#include <gtest/gtest.h>

#include <string>

namespace rigwatch::json_util {
namespace {

std::string Fixed(std::string_view in) { return Repair(in).text; }

TEST(RepairTest, LeavesValidJsonAlone) {
  const std::string ok = R"({"a":[1,2.5e3,"x\n\u00e9"],"b":{"c":null}})";
  EXPECT_EQ(Fixed(ok), ok);
}

TEST(RepairTest, InsertsMissingCommas) {
  EXPECT_EQ(Fixed(R"({"S":[{"a":1}{"b":2}]})"), R"({"S":[{"a":1},{"b":2}]})");
  EXPECT_EQ(Fixed(R"({"x":"v""temp0":0})"), R"({"x":"v","temp0":0})");
}

TEST(RepairTest, DropsStrayAndTrailingCommas) {
  EXPECT_EQ(Fixed(R"({"S":[,{"a":1,}],})"), R"({"S":[{"a":1}]})");
  EXPECT_EQ(Fixed(R"([1,,2,])"), R"([1,2])");
}

TEST(RepairTest, NonFiniteBareTokensBecomeNull) {
  EXPECT_EQ(Fixed(R"({"a":nan,"b":-nan,"c":inf,"d":-inf,"e":"inf"})"),
            R"({"a":null,"b":null,"c":null,"d":null,"e":"inf"})");
}

TEST(RepairTest, LeadingAvalonGarbage) {
  EXPECT_EQ(Fixed(R"(,"id":1}{"a":1})"), R"({"a":1})");
  EXPECT_EQ(Fixed(R"(,"STATUS":"S","id":1})"), R"({"STATUS":"S","id":1})");
}

TEST(RepairTest, EscapesControlBytesAndReplacesBadUtf8InStrings) {
  EXPECT_EQ(Fixed("{\"u\":\"a\nb\tc\x01\"}"), R"({"u":"a\nb\tc\u0001"})");
  EXPECT_EQ(Fixed("{\"u\":\"\xff\xc3\xa9\"}"),
            "{\"u\":\"\xEF\xBF\xBD\xc3\xa9\"}");
  EXPECT_EQ(Fixed(R"({"u":"\x\ud800"})"), R"({"u":"\\x\uFFFD"})");
}

TEST(RepairTest, ReportsTruncation) {
  RepairResult r = Repair(R"({"S":[{"a":"xy)");
  EXPECT_TRUE(r.in_string);
  r = Repair(R"({"S":[{"a":1})");
  EXPECT_FALSE(r.in_string);
  EXPECT_EQ(r.open_depth, 2);
}

TEST(ParseLenientTest, TruncatedIsDataLoss) {
  Result<Json> r = ParseLenient(R"({"S":[{"a":1)", "stats");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(r.status().message(),
            "stats: truncated reply: ends at byte 12 with 3 unclosed "
            "bracket(s)");
}

TEST(ParseLenientTest, SyntaxErrorNamesTheInputByte) {
  // Byte 6 is the 'x'; the repair inserted nothing before it.
  Result<Json> r = ParseLenient(R"({"a":[x]})", "summary");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("summary: malformed JSON at byte 6"),
            std::string::npos)
      << r.status().message();
  // After a repair that removed a comma the offset still points at `body`.
  r = ParseLenient(R"({,,"a":1,"b":@})", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at byte 13"), std::string::npos)
      << r.status().message();
}

TEST(ParseLenientTest, EmptyAndTooDeep) {
  EXPECT_EQ(ParseLenient("  \n", "info").status().code(),
            StatusCode::kInvalidArgument);
  std::string deep(kMaxDepth + 1, '[');
  Result<Json> r = ParseLenient(deep, "info");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper"), std::string::npos);
}

TEST(StripNulTest, StripsExactlyOne) {
  using namespace std::string_view_literals;
  EXPECT_EQ(StripOneTrailingNul("{}\0"sv), "{}");
  EXPECT_EQ(StripOneTrailingNul("{}\0\0"sv), "{}\0"sv);
  EXPECT_EQ(StripOneTrailingNul("{}"), "{}");
  EXPECT_EQ(StripOneTrailingNul(""), "");
}

TEST(NumberTest, NumbersAndNumericStrings) {
  EXPECT_EQ(ToNumber(Json(5)), 5.0);
  EXPECT_EQ(ToNumber(Json("  5.0000")), 5.0);
  EXPECT_EQ(ToNumber(Json("13845.12")), 13845.12);
  EXPECT_EQ(ToNumber(Json("1.274507897e14")), 1.274507897e14);
  EXPECT_EQ(ToNumber(Json::parse("1.0187355702938411e+19")),
            1.0187355702938411e+19);
  EXPECT_EQ(ToNumber(Json("+3")), 3.0);
  EXPECT_EQ(ToNumber(Json("")), std::nullopt);
  EXPECT_EQ(ToNumber(Json("inf")), std::nullopt);
  EXPECT_EQ(ToNumber(Json("nan")), std::nullopt);
  EXPECT_EQ(ToNumber(Json("131K")), std::nullopt);
  EXPECT_EQ(ToNumber(Json("0:00:14")), std::nullopt);
  EXPECT_EQ(ToNumber(Json(nullptr)), std::nullopt);
  EXPECT_EQ(ToNumber(Json(true)), std::nullopt);
  EXPECT_EQ(ToNumber(static_cast<const Json*>(nullptr)), std::nullopt);
}

TEST(FlagTest, AcceptsEveryFirmwareSpelling) {
  Json t = true, one = 1, y = "Y", tr = "true", f = false, zero = 0, n = "N";
  EXPECT_EQ(ToFlag(&t), true);
  EXPECT_EQ(ToFlag(&one), true);
  EXPECT_EQ(ToFlag(&y), true);
  EXPECT_EQ(ToFlag(&tr), true);
  EXPECT_EQ(ToFlag(&f), false);
  EXPECT_EQ(ToFlag(&zero), false);
  EXPECT_EQ(ToFlag(&n), false);
  Json junk = "maybe";
  EXPECT_EQ(ToFlag(&junk), std::nullopt);
  EXPECT_EQ(ToFlag(nullptr), std::nullopt);
}

TEST(DifficultyTest, EveryBestDiffFormat) {
  // docs/protocols.md §1.5: %.3g%s, %.2f%s, %.2f %s, and numbers.
  EXPECT_EQ(ParseDifficultyText("4.29G"), 4.29 * 1e9);
  EXPECT_EQ(ParseDifficultyText("91.5M"), 91.5 * 1e6);
  EXPECT_EQ(ParseDifficultyText("512"), 512.0);
  EXPECT_EQ(ParseDifficultyText("1e+03M"), 1e9);
  EXPECT_EQ(ParseDifficultyText("1.16 G"), 1.16 * 1e9);
  EXPECT_EQ(ParseDifficultyText("512 "), 512.0);
  EXPECT_EQ(ParseDifficultyText("12.3k"), 12.3 * 1e3);
  EXPECT_EQ(ParseDifficultyText("12.3K"), 12.3 * 1e3);
  EXPECT_EQ(ParseDifficultyText("2.5T"), 2.5 * 1e12);
  EXPECT_EQ(ParseDifficultyText("1.2P"), 1.2 * 1e15);
  EXPECT_EQ(ParseDifficultyText("3E"), 3 * 1e18);
  EXPECT_EQ(ParseDifficultyText("7.5e2"), 750.0);
  EXPECT_EQ(ParseDifficultyText(""), std::nullopt);
  EXPECT_EQ(ParseDifficultyText("G"), std::nullopt);
  EXPECT_EQ(ParseDifficultyText("4.29 GH"), std::nullopt);
  EXPECT_EQ(ParseDifficultyText("4.29X"), std::nullopt);
  EXPECT_EQ(ParseDifficultyText("-1M"), std::nullopt);
  Json num = 2147483648u, neg = -5, str = "4.29 G";
  EXPECT_EQ(ToDifficulty(&num), 2147483648.0);
  EXPECT_EQ(ToDifficulty(&neg), std::nullopt);
  EXPECT_EQ(ToDifficulty(&str), 4.29 * 1e9);
}

}  // namespace
}  // namespace rigwatch::json_util
