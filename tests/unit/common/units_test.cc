#include "agent/common/units.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("10s"), milliseconds(10'000));
  EXPECT_EQ(*ParseDuration("5m"), milliseconds(300'000));
  EXPECT_EQ(*ParseDuration("24h"), milliseconds(86'400'000));
  EXPECT_EQ(*ParseDuration("30d"), milliseconds(2'592'000'000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
}

TEST(DurationTest, RejectsWithAClearMessage) {
  for (const char* bad : {"", "10", "s", "10x", "-5s", "1.5s", "10 s", "5mm"}) {
    Result<milliseconds> r = ParseDuration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("500ms, 10s, 5m, 24h or 30d"),
              std::string::npos)
        << bad << ": " << r.status().message();
  }
  EXPECT_NE(ParseDuration("10x").status().message().find("unknown unit \"x\""),
            std::string::npos);
  EXPECT_FALSE(ParseDuration("99999999999999999999d").ok());
}

TEST(DurationTest, FormatRoundTrips) {
  for (const char* s : {"500ms", "10s", "5m", "30d", "1h30m", "1d12h", "0s"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(s)), s);
  }
  EXPECT_EQ(FormatDuration(*ParseDuration("24h")), "1d");
}

TEST(ByteSizeTest, Units) {
  EXPECT_EQ(*ParseByteSize("100MB"), 100'000'000u);
  EXPECT_EQ(*ParseByteSize("1GB"), 1'000'000'000u);
  EXPECT_EQ(*ParseByteSize("200 MB"), 200'000'000u);
  EXPECT_EQ(*ParseByteSize("1KiB"), 1024u);
  EXPECT_EQ(*ParseByteSize("1.5GiB"), 1610612736u);
  EXPECT_EQ(*ParseByteSize("42"), 42u);
  EXPECT_FALSE(ParseByteSize("12XB").ok());
  EXPECT_FALSE(ParseByteSize("GB").ok());
  EXPECT_FALSE(ParseByteSize("1.2.3MB").ok());
}

}  // namespace
}  // namespace rigwatch
