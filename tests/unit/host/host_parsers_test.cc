// The host parsers, fed literal file contents (node_exporter's
// loadavg_linux_test.go pattern): good input gives exact values, bad input
// gives an error that names the file and line.
#include "exporters/host_parsers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace rigwatch::host {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseLoadavg, ReadsTheThreeAverages) {
  Result<LoadAvg> r = ParseLoadavg("0.02 0.03 0.05 1/345 12345\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (LoadAvg{0.02, 0.03, 0.05}));
}

TEST(ParseLoadavg, TooFewFieldsIsAnError) {
  Result<LoadAvg> r = ParseLoadavg("0.02 0.03\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "proc/loadavg:1: expected 3+ fields, got 2");
}

TEST(ParseLoadavg, GarbageIsAnError) {
  Result<LoadAvg> r = ParseLoadavg("0.02 x 0.05 1/345 12345\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "proc/loadavg:1: bad number \"x\"");
}

constexpr std::string_view kStat =
    "cpu  301854 612 111922 8979004 3552 2 3944 0 0 0\n"
    "cpu0 44490 19 21045 1087069 220 1 3410 0 0 0\n"
    "cpu1 47869 23 16474 1110787 591 0 46 7 3 1\n"
    "intr 8885917 17 0 0 0 0 0 0 0 1 79281 0 0 0 0 0 0 0 231237\n"
    "ctxt 38014093\n"
    "btime 1418183276\n"
    "processes 26442\n"
    "procs_running 2\n"
    "procs_blocked 1\n"
    "softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196\n";

TEST(ParseProcStat, ConvertsTicksToSecondsPerCpu) {
  Result<ProcStat> r = ParseProcStat(kStat, 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cpus.size(), 2u);  // the aggregate "cpu " line is skipped
  const CpuTimes& c1 = r->cpus[1];
  EXPECT_EQ(c1.cpu, "1");
  EXPECT_DOUBLE_EQ(c1.user, 478.69);
  EXPECT_DOUBLE_EQ(c1.nice, 0.23);
  EXPECT_DOUBLE_EQ(c1.system, 164.74);
  EXPECT_DOUBLE_EQ(c1.idle, 11107.87);
  EXPECT_DOUBLE_EQ(c1.iowait, 5.91);
  EXPECT_DOUBLE_EQ(c1.irq, 0);
  EXPECT_DOUBLE_EQ(c1.softirq, 0.46);
  EXPECT_DOUBLE_EQ(c1.steal, 0.07);
  EXPECT_EQ(c1.guest, 0.03);
  EXPECT_EQ(c1.guest_nice, 0.01);
  EXPECT_EQ(r->cpus[0].cpu, "0");
  EXPECT_DOUBLE_EQ(r->cpus[0].user, 444.9);
  EXPECT_EQ(r->boot_time_seconds, 1418183276);
  EXPECT_EQ(r->context_switches, 38014093);
  EXPECT_EQ(r->interrupts, 8885917);
  EXPECT_EQ(r->forks, 26442);
  EXPECT_EQ(r->procs_running, 2);
  EXPECT_EQ(r->procs_blocked, 1);
}

TEST(ParseProcStat, OldKernelWithoutGuestColumnsLeavesThemAbsent) {
  Result<ProcStat> r = ParseProcStat("cpu0 1 2 3 4 5 6 7 8\n", 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cpus.size(), 1u);
  EXPECT_EQ(r->cpus[0].guest, std::nullopt);
  EXPECT_EQ(r->cpus[0].guest_nice, std::nullopt);
  EXPECT_EQ(r->boot_time_seconds, std::nullopt);
}

TEST(ParseProcStat, UserHzIsApplied) {
  Result<ProcStat> r = ParseProcStat("cpu0 250 0 0 0 0 0 0 0\n", 250);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cpus[0].user, 1.0);
}

TEST(ParseProcStat, ShortCpuLineNamesFileAndLine) {
  Result<ProcStat> r = ParseProcStat(
      "cpu  1 2 3 4 5 6 7 8\ncpu0 1 2 3 4 5 6 7 8\ncpu1 1 2 3 4 5\n", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "proc/stat:3: expected 8+ fields after \"cpu1\", got 5");
}

TEST(ParseProcStat, BadNumberNamesFileAndLine) {
  Result<ProcStat> r = ParseProcStat("cpu0 1 2 3 4 5 6 7 8\nbtime -3\n", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "proc/stat:2: bad number \"-3\"");
  r = ParseProcStat("ctxt\n", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "proc/stat:1: expected a value after \"ctxt\"");
}

TEST(ParseMeminfo, NamesAndUnitsAsNodeExporter) {
  Result<std::vector<MeminfoField>> r = ParseMeminfo(
      "MemTotal:        3742148 kB\n"
      "Active(anon):       2208 kB\n"
      "Inactive(file):  1358520 kB\n"
      "\n"
      "HugePages_Total:       0\n"
      "Hugepagesize:       2048 kB\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(*r, ElementsAre(MeminfoField{"MemTotal_bytes", 3831959552.0},
                              MeminfoField{"Active_anon_bytes", 2260992.0},
                              MeminfoField{"Inactive_file_bytes", 1391124480.0},
                              MeminfoField{"HugePages_Total", 0.0},
                              MeminfoField{"Hugepagesize_bytes", 2097152.0}));
}

TEST(ParseMeminfo, MalformedLinesAreErrors) {
  Result<std::vector<MeminfoField>> r =
      ParseMeminfo("MemTotal: 1 kB\nMemFree 2 kB\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "proc/meminfo:2: expected \"Key: value [kB]\"");
  r = ParseMeminfo("MemTotal: 1 MB\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "proc/meminfo:1: unknown unit \"MB\" (expected kB)");
  r = ParseMeminfo("MemTotal: 1x kB\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "proc/meminfo:1: bad number \"1x\"");
  r = ParseMeminfo("MemTotal: 1 kB extra\n");
  ASSERT_FALSE(r.ok());
}

TEST(MangleMeminfoKey, ParenthesesBecomeUnderscore) {
  EXPECT_EQ(MangleMeminfoKey("Active(anon)"), "Active_anon");
  EXPECT_EQ(MangleMeminfoKey("MemTotal"), "MemTotal");
  EXPECT_EQ(MangleMeminfoKey("Odd(a)(b)"), "Odd_a)(b");
}

constexpr std::string_view kNetDev =
    "Inter-|   Receive                                                |  "
    "Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes  "
    "  packets errs drop fifo colls carrier compressed\n"
    "    lo:  281377     2791    0    0    0     0          0         0   "
    "281377     2791    0    0    0     0       0          0\n"
    "  eth0: 18446744073709551615 3279810 3 17 1 2 4 1234 118420934 624817 5 "
    "6 7 8 9 10\n";

TEST(ParseNetDev, SixteenCountersPerDevice) {
  Result<std::vector<NetDevStats>> r = ParseNetDev(kNetDev);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].device, "lo");
  EXPECT_EQ((*r)[0].values[0], 281377u);
  EXPECT_EQ((*r)[0].values[9], 2791u);
  EXPECT_EQ((*r)[1].device, "eth0");
  // Counters are full 64-bit.
  EXPECT_EQ((*r)[1].values[0], 18446744073709551615u);
  const std::array<uint64_t, 16> want = {18446744073709551615u,
                                         3279810,
                                         3,
                                         17,
                                         1,
                                         2,
                                         4,
                                         1234,
                                         118420934,
                                         624817,
                                         5,
                                         6,
                                         7,
                                         8,
                                         9,
                                         10};
  EXPECT_EQ((*r)[1].values, want);
  EXPECT_EQ(kNetDevFields[2], "receive_errs");
  EXPECT_EQ(kNetDevFields[13], "transmit_colls");
}

TEST(ParseNetDev, WrongColumnCountNamesLine) {
  Result<std::vector<NetDevStats>> r = ParseNetDev("h1\nh2\n  eth0: 1 2 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "proc/net/dev:3: expected 16 values after \"eth0:\", got 3");
  r = ParseNetDev("h1\nh2\n  eth0 1 2 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "proc/net/dev:3: expected \"device: values\"");
  r = ParseNetDev("h1\nh2\neth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "proc/net/dev:3: expected 16 values after \"eth0:\"");
}

TEST(ParseMounts, DecodesEscapesAndReadOnly) {
  Result<std::vector<MountEntry>> r = ParseMounts(
      "/dev/root / ext4 rw,noatime 0 0\n"
      "/dev/sda1 /boot vfat ro,relatime 0 0\n"
      "nas:/x /mnt/my\\040share nfs4 rw,vers=4.2,rootcontext=ro 0 0\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(
      *r, ElementsAre(MountEntry{"/dev/root", "/", "ext4", false},
                      MountEntry{"/dev/sda1", "/boot", "vfat", true},
                      MountEntry{"nas:/x", "/mnt/my share", "nfs4", false}));
}

TEST(ParseMounts, ShortLineIsAnError) {
  Result<std::vector<MountEntry>> r =
      ParseMounts("/dev/root / ext4 rw 0 0\n/dev/sdb /data\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "proc/mounts:2: expected 4+ fields, got 2");
}

TEST(DecodeMountEscapes, OnlyThreeOctalDigits) {
  EXPECT_EQ(DecodeMountEscapes("a\\011b\\134c"), "a\tb\\c");
  EXPECT_EQ(DecodeMountEscapes("a\\9xy"), "a\\9xy");
  EXPECT_EQ(DecodeMountEscapes("end\\04"), "end\\04");
}

TEST(ParseSysfsNumber, TrimsAndParses) {
  EXPECT_EQ(*ParseSysfsNumber("48312\n", "temp1_input"), 48312);
  EXPECT_EQ(*ParseSysfsNumber("-5000\n", "temp1_input"), -5000);
  Result<double> r = ParseSysfsNumber("N/A\n", "hwmon0/temp1_input");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "hwmon0/temp1_input:1: bad number \"N/A\"");
}

TEST(CleanHwmonName, LowerCaseAndUnderscores) {
  EXPECT_EQ(CleanHwmonName("coretemp.0"), "coretemp_0");
  EXPECT_EQ(CleanHwmonName("cpu_thermal\n"), "cpu_thermal");
  EXPECT_EQ(CleanHwmonName("ACPI Thermal:1"), "acpi_thermal:1");
  EXPECT_EQ(CleanHwmonName("__.__"), "");
}

TEST(HwmonChipName, PrefersDeviceThenNameThenDirectory) {
  EXPECT_EQ(*HwmonChipName("/sys/devices/platform/coretemp.0", "coretemp\n",
                           "/sys/class/hwmon/hwmon1"),
            "platform_coretemp_0");
  EXPECT_EQ(*HwmonChipName(std::nullopt, "cpu_thermal\n",
                           "/sys/devices/virtual/thermal/thermal_zone0/hwmon0"),
            "cpu_thermal");
  EXPECT_EQ(*HwmonChipName(std::nullopt, std::nullopt,
                           "/sys/devices/virtual/hwmon/hwmon3"),
            "hwmon3");
  EXPECT_EQ(*HwmonChipName(std::nullopt, "\n", "/x/hwmon4"), "hwmon4");
  EXPECT_FALSE(HwmonChipName(std::nullopt, std::nullopt, "/x/__").ok());
}

TEST(ParseHwmonSensorFileName, SplitsTypeSensorAndElement) {
  std::optional<HwmonSensorFile> t =
      ParseHwmonSensorFileName("temp12_crit_alarm");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->type, "temp");
  EXPECT_EQ(t->sensor, "temp12");
  EXPECT_EQ(t->element, "crit_alarm");
  t = ParseHwmonSensorFileName("fan1_input");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->type, "fan");
  EXPECT_EQ(t->sensor, "fan1");
  EXPECT_EQ(t->element, "input");
  EXPECT_FALSE(ParseHwmonSensorFileName("temp_input").has_value());
  EXPECT_FALSE(ParseHwmonSensorFileName("temp1").has_value());
  EXPECT_FALSE(ParseHwmonSensorFileName("temp1_").has_value());
  EXPECT_FALSE(ParseHwmonSensorFileName("in0_input").has_value());
  EXPECT_FALSE(ParseHwmonSensorFileName("name").has_value());
}

TEST(ThermalZoneIndex, OnlyNumberedZones) {
  EXPECT_EQ(ThermalZoneIndex("thermal_zone12"), "12");
  EXPECT_EQ(ThermalZoneIndex("thermal_zone"), std::nullopt);
  EXPECT_EQ(ThermalZoneIndex("thermal_zone1a"), std::nullopt);
  EXPECT_EQ(ThermalZoneIndex("cooling_device0"), std::nullopt);
}

}  // namespace
}  // namespace rigwatch::host
