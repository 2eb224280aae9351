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

TEST(FormatMetricValueTest, ValuesReadLikeAPersonWouldWriteThem) {
  EXPECT_EQ(FormatMetricValue(95.04220581054688, "miner_temperature_celsius"),
            "95.0 \u00b0C");
  EXPECT_EQ(FormatMetricValue(1.0905e12, "miner_hashrate_hashes_per_second"),
            "1.09 TH/s");
  EXPECT_EQ(FormatMetricValue(525e9, "miner_hashrate_hashes_per_second"),
            "525 GH/s");
  EXPECT_EQ(FormatMetricValue(18.66, "miner_power_watts"), "18.7 W");
  EXPECT_EQ(FormatMetricValue(3250, "miner_power_watts"), "3.25 kW");
  EXPECT_EQ(FormatMetricValue(999.7, "miner_power_watts"), "1.00 kW");
  EXPECT_EQ(FormatMetricValue(1.2, "miner_voltage_volts"), "1.20 V");
  EXPECT_EQ(FormatMetricValue(0.85, "miner_voltage_volts"), "850 mV");
  EXPECT_EQ(FormatMetricValue(0.953, "miner_share_reject_ratio"), "95.3 %");
  EXPECT_EQ(FormatMetricValue(5400, "miner_uptime_seconds"), "1h30m");
  EXPECT_EQ(FormatMetricValue(0.25, "miner_poll_duration_seconds"), "250 ms");
  EXPECT_EQ(FormatMetricValue(4200, "miner_fan_speed_rpm"), "4200 rpm");
  EXPECT_EQ(FormatMetricValue(2.5e9, "host_memory_available_bytes"), "2.50 GB");
  EXPECT_EQ(FormatMetricValue(525e6, "miner_frequency_hertz"), "525 MHz");
  EXPECT_EQ(FormatMetricValue(0, "miner_hashrate_hashes_per_second"), "0 H/s");
  // Counters (increase/rate of them) and unit-less names: plain numbers.
  EXPECT_EQ(FormatMetricValue(3, "miner_shares_accepted_total"), "3");
  EXPECT_EQ(FormatMetricValue(0, "miner_up"), "0");
  EXPECT_EQ(FormatMetricValue(0.25, "miner_up"), "0.25");
}

TEST(MetricDimTest, SuffixDecides) {
  EXPECT_EQ(MetricDim("miner_temperature_celsius"), Dim::kCelsius);
  EXPECT_EQ(MetricDim("miner_hashes_per_second_total"), Dim::kHashrate);
  EXPECT_EQ(MetricDim("miner_up"), Dim::kNone);
}

}  // namespace
}  // namespace rigwatch
