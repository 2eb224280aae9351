#include "agent/app/host_usage.h"

#include <gtest/gtest.h>

namespace rigwatch {
namespace {

Samples Host(double busy, double idle) {
  return {
      {"node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}, busy / 2},
      {"node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "system"}}, busy / 2},
      {"node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}, idle / 2},
      {"node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "iowait"}}, idle / 2},
      {"node_memory_MemTotal_bytes", {}, 8e9},
      {"node_memory_MemAvailable_bytes", {}, 2e9},
      {"node_filesystem_size_bytes", {{"mountpoint", "/"}}, 100e9},
      {"node_filesystem_avail_bytes", {{"mountpoint", "/"}}, 37e9},
      {"node_filesystem_size_bytes", {{"mountpoint", "/data"}}, 0},
      {"node_hwmon_temp_celsius", {{"chip", "a"}, {"sensor", "temp1"}}, 48},
      {"node_thermal_zone_temp", {{"zone", "0"}, {"type", "cpu"}}, 61.5},
      {"node_load1", {}, 0.5},
      {"node_load5", {}, 0.25},
      {"node_load15", {}, 0.125},
  };
}

TEST(HostUsage, PercentsFromNodeSeries) {
  HostUsageTracker t;
  HostUsage first = t.Update(Host(100, 300));
  EXPECT_FALSE(first.cpu_percent);  // a rate needs two collections
  EXPECT_DOUBLE_EQ(*first.memory_percent, 75);
  ASSERT_EQ(first.disk_percent.size(), 1u);  // a zero size gives none
  EXPECT_DOUBLE_EQ(first.disk_percent.at("/"), 63);
  EXPECT_DOUBLE_EQ(*first.temperature_celsius, 61.5);
  EXPECT_DOUBLE_EQ(*first.load1, 0.5);
  EXPECT_DOUBLE_EQ(*first.load5, 0.25);
  EXPECT_DOUBLE_EQ(*first.load15, 0.125);
  // 30 busy and 10 idle seconds later: 75 % busy.
  HostUsage second = t.Update(Host(130, 310));
  ASSERT_TRUE(second.cpu_percent);
  EXPECT_DOUBLE_EQ(*second.cpu_percent, 75);
  // Counters that went back give no figure, not a negative one.
  EXPECT_FALSE(t.Update(Host(10, 10)).cpu_percent);
  EXPECT_FALSE(HostUsageTracker().Update({}).memory_percent);
}

}  // namespace
}  // namespace rigwatch
