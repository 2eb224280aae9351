// The one JSON string escaper: every input gives a valid JSON string that
// nlohmann::json reads back as the input (or, for broken UTF-8, with U+FFFD
// in place of each bad byte).
#include "agent/common/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/common/rfc3339.h"

namespace rigwatch::json {
namespace {

std::string RoundTrip(std::string_view s) {
  return nlohmann::json::parse(Quote(s)).get<std::string>();
}

TEST(JsonTest, EveryControlCharacterIsEscaped) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    const std::string q = Quote(in);
    for (char ch : q) {
      EXPECT_GE(static_cast<unsigned char>(ch), 0x20) << "control " << c;
    }
    EXPECT_EQ(RoundTrip(in), in) << "control " << c;
  }
  EXPECT_EQ(Quote(std::string_view("\0", 1)), "\"\\u0000\"");
  EXPECT_EQ(Quote("\x1f"), "\"\\u001f\"");
  EXPECT_EQ(Quote("a\tb\nc\r\b\f"), "\"a\\tb\\nc\\r\\b\\f\"");
}

TEST(JsonTest, QuoteAndBackslash) {
  EXPECT_EQ(Quote("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
  EXPECT_EQ(RoundTrip("\"\\\""), "\"\\\"");
}

TEST(JsonTest, WellFormedUtf8IsCopied) {
  const std::string s =
      "temp \xc2\xb0"
      "C \xe2\x82\xac \xf0\x9f\x94\xa5";
  EXPECT_EQ(Quote(s), "\"" + s + "\"");
  EXPECT_EQ(RoundTrip(s), s);
}

TEST(JsonTest, BrokenUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(RoundTrip("a\xff"
                      "b"),
            "a" + fffd + "b");
  EXPECT_EQ(RoundTrip("\xc3"), fffd);                        // truncated
  EXPECT_EQ(RoundTrip("\xc0\xaf"), fffd + fffd);             // overlong
  EXPECT_EQ(RoundTrip("\xed\xa0\x80"), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(RoundTrip("\xf4\x90\x80\x80"),                   // > U+10FFFF
            fffd + fffd + fffd + fffd);
  EXPECT_EQ(RoundTrip("\x80"), fffd);  // lone continuation
}

TEST(JsonTest, EveryByteGivesValidJson) {
  for (int c = 0; c < 256; ++c) {
    for (int d : {0x41, 0x80, 0xbf, 0xc3}) {
      const std::string in = {static_cast<char>(c), static_cast<char>(d)};
      EXPECT_NO_THROW(RoundTrip(in)) << c << " " << d;
    }
  }
}

TEST(Rfc3339Test, MillisecondsInUtc) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1767225600123)),
            "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace rigwatch::json
