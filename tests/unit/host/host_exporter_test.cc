// host::Exporter end to end: Collect() over the fake root in
// tests/fixtures/host/ must give exactly node_exporter's series; failing,
// absent and hung sources must cost one collector, never the scrape.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "exporters/host.h"
#include "tests/fakes/fake_clock.h"

namespace rigwatch::host {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string FixtureRoot() {
  const char* src = std::getenv("RIGWATCH_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/tests/fixtures/host/";
}

Sample S(std::string name, Labels labels, double value) {
  return Sample{std::move(name), std::move(labels), value};
}

const CollectorOutcome* Outcome(const Scrape& s, std::string_view name) {
  for (const CollectorOutcome& o : s.collectors) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

std::vector<Sample> Named(const Scrape& s, std::string_view prefix) {
  std::vector<Sample> out;
  for (const Sample& x : s.samples) {
    if (x.name.rfind(prefix, 0) == 0) out.push_back(x);
  }
  return out;
}

const Sample* Find(const Scrape& s, std::string_view name,
                   const Labels& labels) {
  for (const Sample& x : s.samples) {
    if (x.name == name && x.labels == labels) return &x;
  }
  return nullptr;
}

// statfs answers from a table keyed by path; unknown paths fail like ENOENT.
StatfsFunc TableStatfs(std::map<std::string, FsStats> table) {
  return
      [table = std::move(table)](const std::string& path) -> Result<FsStats> {
        auto it = table.find(path);
        if (it == table.end())
          return NotFoundError("statvfs " + path + ": nope");
        return it->second;
      };
}

std::vector<Sample> ExpectedFixtureSamples() {
  std::vector<Sample> want;
  const double cpu[4][8] = {
      {3560.41, 8.12, 1335.44, 48529.07, 46.38, 0, 49.13, 0},
      {3572.68, 8.45, 1328.85, 48551.12, 45.9, 0, 13.21, 0},
      {3559.12, 8.3, 1332.6, 48552.96, 45.8, 0, 11.02, 0},
      {3555.92, 8.35, 1332.28, 48554.19, 46.43, 0, 10.83, 0.17}};
  const char* modes[8] = {"user",   "nice", "system",  "idle",
                          "iowait", "irq",  "softirq", "steal"};
  for (int c = 0; c < 4; ++c) {
    for (int m = 0; m < 8; ++m) {
      want.push_back(S("node_cpu_seconds_total",
                       {{"cpu", std::to_string(c)}, {"mode", modes[m]}},
                       cpu[c][m]));
    }
  }
  const double guest[4][2] = {{0, 0}, {0, 0}, {0, 0}, {0.05, 0.02}};
  for (int c = 0; c < 4; ++c) {
    want.push_back(S("node_cpu_guest_seconds_total",
                     {{"cpu", std::to_string(c)}, {"mode", "user"}},
                     guest[c][0]));
    want.push_back(S("node_cpu_guest_seconds_total",
                     {{"cpu", std::to_string(c)}, {"mode", "nice"}},
                     guest[c][1]));
  }
  auto fs_samples = [&](Labels l, double size, double free, double avail,
                        double files, double files_free, double ro) {
    want.push_back(S("node_filesystem_size_bytes", l, size));
    want.push_back(S("node_filesystem_free_bytes", l, free));
    want.push_back(S("node_filesystem_avail_bytes", l, avail));
    want.push_back(S("node_filesystem_files", l, files));
    want.push_back(S("node_filesystem_files_free", l, files_free));
    want.push_back(S("node_filesystem_readonly", l, ro));
    want.push_back(S("node_filesystem_device_error", l, 0));
  };
  fs_samples({{"device", "/dev/root"}, {"fstype", "ext4"}, {"mountpoint", "/"}},
             30720000000, 20480000000, 18841600000, 1900000, 1700000, 0);
  fs_samples({{"device", "/dev/mmcblk0p1"},
              {"fstype", "vfat"},
              {"mountpoint", "/boot/firmware"}},
             536870912, 460800000, 460800000, 0, 0, 1);
  fs_samples({{"device", "nas:/export/mining"},
              {"fstype", "nfs4"},
              {"mountpoint", "/mnt/my share"}},
             1048576000, 262144000, 262144000, 10, 5, 0);

  want.push_back(S("node_hwmon_chip_names",
                   {{"chip", "cpu_thermal"}, {"chip_name", "cpu_thermal"}}, 1));
  want.push_back(S("node_hwmon_temp_celsius",
                   {{"chip", "cpu_thermal"}, {"sensor", "temp1"}}, 48.312));
  const Labels core_t1 = {{"chip", "platform_coretemp_0"}, {"sensor", "temp1"}};
  const Labels core_t2 = {{"chip", "platform_coretemp_0"}, {"sensor", "temp2"}};
  want.push_back(S("node_hwmon_chip_names",
                   {{"chip", "platform_coretemp_0"}, {"chip_name", "coretemp"}},
                   1));
  want.push_back(S("node_hwmon_sensor_label",
                   {{"chip", "platform_coretemp_0"},
                    {"label", "Package id 0"},
                    {"sensor", "temp1"}},
                   1));
  want.push_back(S("node_hwmon_temp_celsius", core_t1, 41));
  want.push_back(S("node_hwmon_temp_max_celsius", core_t1, 80));
  want.push_back(S("node_hwmon_temp_crit_celsius", core_t1, 100));
  want.push_back(S("node_hwmon_temp_alarm", core_t1, 0));
  want.push_back(S("node_hwmon_sensor_label",
                   {{"chip", "platform_coretemp_0"},
                    {"label", "Core 0"},
                    {"sensor", "temp2"}},
                   1));
  want.push_back(S("node_hwmon_temp_celsius", core_t2, 38.5));
  // temp2_max holds "N/A": skipped, like node_exporter does.
  const Labels fan1 = {{"chip", "platform_cooling_fan"}, {"sensor", "fan1"}};
  want.push_back(S("node_hwmon_chip_names",
                   {{"chip", "platform_cooling_fan"}, {"chip_name", "pwmfan"}},
                   1));
  want.push_back(S("node_hwmon_fan_rpm", fan1, 2950));
  want.push_back(S("node_hwmon_fan_alarm", fan1, 0));

  want.push_back(S("node_load1", {}, 0.52));
  want.push_back(S("node_load5", {}, 0.58));
  want.push_back(S("node_load15", {}, 0.59));

  // proc/meminfo of the fixture, in kB as the file has it.
  const std::pair<const char*, double> mem_kb[] = {{"MemTotal", 3885212},
                                                   {"MemFree", 301552},
                                                   {"MemAvailable", 2764096},
                                                   {"Buffers", 151328},
                                                   {"Cached", 2321216},
                                                   {"SwapCached", 0},
                                                   {"Active", 1112644},
                                                   {"Inactive", 2073804},
                                                   {"Active_anon", 2208},
                                                   {"Inactive_anon", 715284},
                                                   {"Active_file", 1110436},
                                                   {"Inactive_file", 1358520},
                                                   {"Unevictable", 16384},
                                                   {"Mlocked", 16384},
                                                   {"SwapTotal", 102396},
                                                   {"SwapFree", 102396},
                                                   {"Zswap", 0},
                                                   {"Zswapped", 0},
                                                   {"Dirty", 44},
                                                   {"Writeback", 0},
                                                   {"AnonPages", 729776},
                                                   {"Mapped", 309020},
                                                   {"Shmem", 6552},
                                                   {"KReclaimable", 178176},
                                                   {"Slab", 262976},
                                                   {"SReclaimable", 178176},
                                                   {"SUnreclaim", 84800},
                                                   {"KernelStack", 5504},
                                                   {"PageTables", 12048},
                                                   {"SecPageTables", 0},
                                                   {"NFS_Unstable", 0},
                                                   {"Bounce", 0},
                                                   {"WritebackTmp", 0},
                                                   {"CommitLimit", 2045000},
                                                   {"Committed_AS", 1637108},
                                                   {"VmallocTotal", 261087232},
                                                   {"VmallocUsed", 23360},
                                                   {"VmallocChunk", 0},
                                                   {"Percpu", 1024},
                                                   {"CmaTotal", 524288},
                                                   {"CmaFree", 496340}};
  for (const auto& [k, kb] : mem_kb) {
    want.push_back(
        S(std::string("node_memory_") + k + "_bytes", {}, kb * 1024));
  }
  want.push_back(S("node_memory_HugePages_Total", {}, 0));
  want.push_back(S("node_memory_HugePages_Free", {}, 0));
  want.push_back(S("node_memory_HugePages_Rsvd", {}, 0));
  want.push_back(S("node_memory_HugePages_Surp", {}, 0));
  want.push_back(S("node_memory_Hugepagesize_bytes", {}, 2097152));
  want.push_back(S("node_memory_Hugetlb_bytes", {}, 0));

  const char* fields[16] = {
      "receive_bytes",      "receive_packets",   "receive_errs",
      "receive_drop",       "receive_fifo",      "receive_frame",
      "receive_compressed", "receive_multicast", "transmit_bytes",
      "transmit_packets",   "transmit_errs",     "transmit_drop",
      "transmit_fifo",      "transmit_colls",    "transmit_carrier",
      "transmit_compressed"};
  const std::pair<const char*, std::array<double, 16>> devs[] = {
      {"lo", {281377, 2791, 0, 0, 0, 0, 0, 0, 281377, 2791, 0, 0, 0, 0, 0, 0}},
      {"eth0",
       {2157341945, 3279810, 3, 17, 1, 2, 4, 1234, 118420934, 624817, 5, 6, 7,
        8, 9, 10}},
      {"wlan0", {}}};
  for (const auto& [dev, values] : devs) {
    for (int i = 0; i < 16; ++i) {
      want.push_back(S(std::string("node_network_") + fields[i] + "_total",
                       {{"device", dev}}, values[i]));
    }
  }

  want.push_back(S("node_boot_time_seconds", {}, 1763712000));
  want.push_back(S("node_context_switches_total", {}, 232466201));
  want.push_back(S("node_forks_total", {}, 483121));
  want.push_back(S("node_intr_total", {}, 118436471));
  want.push_back(S("node_procs_blocked", {}, 1));
  want.push_back(S("node_procs_running", {}, 2));

  want.push_back(S("node_thermal_zone_temp",
                   {{"type", "cpu-thermal"}, {"zone", "0"}}, 48.312));
  want.push_back(S("node_thermal_zone_temp",
                   {{"type", "gpu-thermal"}, {"zone", "1"}}, 45.7));

  want.push_back(S("node_time_seconds", {}, 1767225600));  // FakeClock start

  want.push_back(
      S("node_uname_info",
        {{"domainname", "(none)"},
         {"machine", "aarch64"},
         {"nodename", "rigpi"},
         {"release", "6.6.51+rpt-rpi-v8"},
         {"sysname", "Linux"},
         {"version", "#1 SMP PREEMPT Debian 1:6.6.51-1+rpt3 (2024-10-08)"}},
        1));
  return want;
}

const char* const kCollectors[] = {
    "cpu",    "filesystem", "hwmon",        "loadavg", "meminfo",
    "netdev", "stat",       "thermal_zone", "time",    "uname"};

class FixtureTest : public ::testing::Test {
 protected:
  Options FixtureOptions() {
    Options o;
    o.root = FixtureRoot();
    o.filesystems = {"/", "/boot/firmware", "/mnt/my share"};
    o.statfs = TableStatfs({
        {o.root, {4096, 7500000, 5000000, 4600000, 1900000, 1700000}},
        {o.root + "boot/firmware", {512, 1048576, 900000, 900000, 0, 0}},
        {o.root + "mnt/my share", {1048576, 1000, 250, 250, 10, 5}},
    });
    o.clock = &clock_;
    return o;
  }
  FakeClock clock_;
};

TEST_F(FixtureTest, CollectGivesExactlyNodeExporterSeries) {
  Exporter e(FixtureOptions());
  Scrape s = e.Collect();

  ASSERT_EQ(s.collectors.size(), std::size(kCollectors));
  for (size_t i = 0; i < s.collectors.size(); ++i) {
    EXPECT_EQ(s.collectors[i].name, kCollectors[i]);
    EXPECT_TRUE(s.collectors[i].success)
        << s.collectors[i].name << ": " << s.collectors[i].error.ToString();
    EXPECT_GE(s.collectors[i].duration_seconds, 0);
  }

  // Everything but the volatile collector durations, in emission order.
  std::vector<Sample> got;
  std::vector<Sample> durations;
  for (const Sample& x : s.samples) {
    (x.name == "node_scrape_collector_duration_seconds" ? durations : got)
        .push_back(x);
  }
  std::vector<Sample> want = ExpectedFixtureSamples();
  for (const char* c : kCollectors) {
    want.push_back(S("node_scrape_collector_success", {{"collector", c}}, 1));
  }
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    EXPECT_EQ(got[i], want[i])
        << "sample " << i << ": got " << got[i].name << " = " << got[i].value
        << ", want " << want[i].name << " = " << want[i].value;
  }
  ASSERT_EQ(durations.size(), std::size(kCollectors));
  for (size_t i = 0; i < durations.size(); ++i) {
    EXPECT_EQ(durations[i].labels, (Labels{{"collector", kCollectors[i]}}));
    EXPECT_EQ(durations[i].value, s.collectors[i].duration_seconds);
  }
}

TEST_F(FixtureTest, EverySeriesHasADescriptor) {
  Exporter e(FixtureOptions());
  Scrape s = e.Collect();
  for (const Sample& x : s.samples) {
    EXPECT_NE(FindDesc(MetricDescs(), x.name), nullptr) << x.name;
  }
  std::set<std::string_view> names;
  for (const MetricDesc& d : MetricDescs()) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate " << d.name;
    EXPECT_FALSE(d.help.empty()) << d.name;
    EXPECT_EQ(d.name.substr(0, 5), "node_") << d.name;
    if (d.name.ends_with("_total")) {
      EXPECT_EQ(d.type, MetricType::kCounter) << d.name;
    }
  }
  const MetricDesc* cpu = FindDesc(MetricDescs(), "node_cpu_seconds_total");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->help, "Seconds the CPUs spent in each mode.");
  EXPECT_EQ(FindDesc(MetricDescs(), "node_memory_MemAvailable_bytes")->help,
            "Memory information field MemAvailable_bytes.");
}

TEST_F(FixtureTest, UnknownMountpointFailsOnlyFilesystem) {
  Options o = FixtureOptions();
  o.filesystems = {"/", "/data"};
  Exporter e(std::move(o));
  Scrape s = e.Collect();
  const CollectorOutcome* fs = Outcome(s, "filesystem");
  ASSERT_NE(fs, nullptr);
  EXPECT_FALSE(fs->success);
  EXPECT_EQ(fs->error.message(), "mountpoint /data: not in proc/mounts");
  // "/" is still reported.
  EXPECT_NE(
      Find(s, "node_filesystem_size_bytes",
           {{"device", "/dev/root"}, {"fstype", "ext4"}, {"mountpoint", "/"}}),
      nullptr);
  EXPECT_TRUE(Outcome(s, "cpu")->success);
  EXPECT_EQ(
      Find(s, "node_scrape_collector_success", {{"collector", "filesystem"}})
          ->value,
      0);
}

TEST_F(FixtureTest, StatfsErrorMarksDeviceError) {
  Options o = FixtureOptions();
  o.statfs = TableStatfs({{o.root, {4096, 10, 5, 5, 3, 2}}});
  o.filesystems = {"/", "/boot/firmware"};
  Exporter e(std::move(o));
  Scrape s = e.Collect();
  const CollectorOutcome* fs = Outcome(s, "filesystem");
  EXPECT_FALSE(fs->success);
  EXPECT_THAT(fs->error.message(), HasSubstr("mountpoint /boot/firmware: "));
  EXPECT_THAT(fs->error.message(), HasSubstr("boot/firmware: nope"));
  const Labels boot = {{"device", "/dev/mmcblk0p1"},
                       {"fstype", "vfat"},
                       {"mountpoint", "/boot/firmware"}};
  ASSERT_NE(Find(s, "node_filesystem_device_error", boot), nullptr);
  EXPECT_EQ(Find(s, "node_filesystem_device_error", boot)->value, 1);
  EXPECT_EQ(Find(s, "node_filesystem_size_bytes", boot), nullptr);
  EXPECT_EQ(
      Find(s, "node_filesystem_size_bytes",
           {{"device", "/dev/root"}, {"fstype", "ext4"}, {"mountpoint", "/"}})
          ->value,
      40960);
}

// A statfs that hangs on one path until the test opens the gate, like an
// NFS mount whose server went away.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> hung_calls{0};
  std::atomic<int> other_calls{0};
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
};

TEST_F(FixtureTest, HungMountIsAbandonedAndNeverPilesUp) {
  auto gate = std::make_shared<Gate>();
  Options o = FixtureOptions();
  const std::string hung_path = o.root + "mnt/my share";
  o.filesystems = {"/", "/mnt/my share"};
  o.statfs_timeout = std::chrono::milliseconds(100);
  o.statfs = [gate, hung_path](const std::string& path) -> Result<FsStats> {
    if (path == hung_path) {
      gate->hung_calls++;
      std::unique_lock<std::mutex> l(gate->mu);
      gate->cv.wait(l, [&] { return gate->open; });
      return FsStats{4096, 100, 50, 40, 20, 10};
    }
    gate->other_calls++;
    return FsStats{4096, 10, 5, 5, 3, 2};
  };
  const Labels share = {{"device", "nas:/export/mining"},
                        {"fstype", "nfs4"},
                        {"mountpoint", "/mnt/my share"}};
  Exporter e(std::move(o));

  for (int scrape = 1; scrape <= 2; ++scrape) {
    const auto start = std::chrono::steady_clock::now();
    Scrape s = e.Collect();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(5)) << "scrape " << scrape;
    const CollectorOutcome* fs = Outcome(s, "filesystem");
    EXPECT_FALSE(fs->success);
    // The first scrape waits one timeout; later ones know the mount is hung
    // and do not wait again.
    EXPECT_EQ(fs->error.message(),
              "mountpoint /mnt/my share: statfs " + hung_path +
                  (scrape == 1 ? " gave no answer within 100ms"
                               : " still hung since an earlier scrape"));
    ASSERT_NE(Find(s, "node_filesystem_device_error", share), nullptr);
    EXPECT_EQ(Find(s, "node_filesystem_device_error", share)->value, 1);
    EXPECT_EQ(Find(s, "node_filesystem_size_bytes", share), nullptr);
    // The healthy mount is still reported, and other collectors ran.
    EXPECT_NE(
        Find(
            s, "node_filesystem_size_bytes",
            {{"device", "/dev/root"}, {"fstype", "ext4"}, {"mountpoint", "/"}}),
        nullptr);
    EXPECT_TRUE(Outcome(s, "meminfo")->success);
    // One helper thread for the hung mount, however many scrapes.
    EXPECT_EQ(gate->hung_calls.load(), 1) << "scrape " << scrape;
    EXPECT_EQ(gate->other_calls.load(), scrape);
  }

  // The server comes back: within a bounded number of scrapes the mount is
  // reported again.
  gate->Open();
  bool recovered = false;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    Scrape s = e.Collect();
    const Sample* size = Find(s, "node_filesystem_size_bytes", share);
    if (Outcome(s, "filesystem")->success && size != nullptr) {
      EXPECT_EQ(size->value, 409600);
      EXPECT_EQ(Find(s, "node_filesystem_device_error", share)->value, 0);
      recovered = true;
    }
  }
  EXPECT_TRUE(recovered);
  EXPECT_LE(gate->hung_calls.load(), 2);
}

TEST(HostExporter, FailingCollectorsCostOnlyThemselves) {
  const fs::path root = fs::temp_directory_path() /
                        ("rigwatch_host_test_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "proc");
  std::ofstream(root / "proc/stat") << "cpu0 1 2 3\nbtime 5\n";
  std::ofstream(root / "proc/loadavg") << "1.5 2.5 3.5 1/2 3\n";
  std::ofstream(root / "proc/mounts") << "/dev/x / ext4 rw 0 0\n";

  Options o;
  o.root = root.string();
  o.statfs = TableStatfs({{o.root + "/", {1, 1, 1, 1, 1, 1}}});
  Exporter e(std::move(o));
  Scrape s = e.Collect();

  const CollectorOutcome* cpu = Outcome(s, "cpu");
  EXPECT_FALSE(cpu->success);
  EXPECT_EQ(cpu->error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cpu->error.message(),
            "proc/stat:1: expected 8+ fields after \"cpu0\", got 3");
  EXPECT_TRUE(Named(s, "node_cpu").empty());
  // stat reads the same file but its parse of btime comes after the bad
  // cpu line, so it fails as well: a half-parsed file gives no samples.
  EXPECT_FALSE(Outcome(s, "stat")->success);
  EXPECT_TRUE(Named(s, "node_boot_time").empty());

  const CollectorOutcome* mem = Outcome(s, "meminfo");
  EXPECT_FALSE(mem->success);
  EXPECT_EQ(mem->error.code(), StatusCode::kNotFound);
  EXPECT_EQ(mem->error.message(), "open " + root.string() +
                                      "/proc/meminfo: No such file or "
                                      "directory");
  EXPECT_FALSE(Outcome(s, "netdev")->success);
  // Not under "/": no uname(2) fallback, the missing files are the error.
  EXPECT_FALSE(Outcome(s, "uname")->success);
  EXPECT_THAT(Outcome(s, "uname")->error.message(),
              HasSubstr("proc/sys/kernel/domainname"));

  // No hwmon, no thermal zones: nothing to report, and that is fine.
  EXPECT_TRUE(Outcome(s, "hwmon")->success);
  EXPECT_TRUE(Outcome(s, "thermal_zone")->success);
  EXPECT_TRUE(Named(s, "node_hwmon").empty());
  EXPECT_TRUE(Named(s, "node_thermal").empty());

  EXPECT_TRUE(Outcome(s, "loadavg")->success);
  EXPECT_EQ(
      Named(s, "node_load"),
      (std::vector<Sample>{S("node_load1", {}, 1.5), S("node_load5", {}, 2.5),
                           S("node_load15", {}, 3.5)}));
  EXPECT_TRUE(Outcome(s, "filesystem")->success);
  EXPECT_TRUE(Outcome(s, "time")->success);
  EXPECT_EQ(
      Find(s, "node_scrape_collector_success", {{"collector", "cpu"}})->value,
      0);
  EXPECT_EQ(Find(s, "node_scrape_collector_success", {{"collector", "loadavg"}})
                ->value,
            1);
  fs::remove_all(root);
}

TEST_F(FixtureTest, RealStatvfsOnTheFixtureDirectory) {
  Options o = FixtureOptions();
  o.statfs = nullptr;  // the real statvfs(2)
  o.filesystems = {"/"};
  Exporter e(std::move(o));
  Scrape s = e.Collect();
  ASSERT_TRUE(Outcome(s, "filesystem")->success)
      << Outcome(s, "filesystem")->error.ToString();
  struct statvfs direct;
  ASSERT_EQ(::statvfs(FixtureRoot().c_str(), &direct), 0);
  const Sample* size =
      Find(s, "node_filesystem_size_bytes",
           {{"device", "/dev/root"}, {"fstype", "ext4"}, {"mountpoint", "/"}});
  ASSERT_NE(size, nullptr);
  EXPECT_EQ(size->value, static_cast<double>(direct.f_blocks) *
                             static_cast<double>(direct.f_bsize));
  EXPECT_GT(size->value, 0);
}

// The live machine: every collector that has a source here must succeed,
// and uname must agree with uname(2).
TEST(HostExporter, LiveRoot) {
  Exporter e(Options{});
  Scrape s = e.Collect();
  for (const char* c : {"cpu", "filesystem", "hwmon", "loadavg", "meminfo",
                        "netdev", "stat", "thermal_zone", "time", "uname"}) {
    const CollectorOutcome* o = Outcome(s, c);
    ASSERT_NE(o, nullptr) << c;
    EXPECT_TRUE(o->success) << c << ": " << o->error.ToString();
  }
  EXPECT_FALSE(Named(s, "node_cpu_seconds_total").empty());
  const std::vector<Sample> uname = Named(s, "node_uname_info");
  ASSERT_EQ(uname.size(), 1u);
  struct utsname u;
  ASSERT_EQ(::uname(&u), 0);
  EXPECT_EQ(uname[0].labels[1], (Label{"machine", u.machine}));
  EXPECT_EQ(uname[0].labels[2], (Label{"nodename", u.nodename}));
  EXPECT_EQ(uname[0].labels[3], (Label{"release", u.release}));
  EXPECT_EQ(uname[0].labels[4], (Label{"sysname", u.sysname}));
  const std::vector<Sample> mem = Named(s, "node_memory_MemTotal_bytes");
  ASSERT_EQ(mem.size(), 1u);
  EXPECT_GT(mem[0].value, 0);
}

}  // namespace
}  // namespace rigwatch::host
