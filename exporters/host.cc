#include "exporters/host.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "exporters/host_parsers.h"

namespace rigwatch::host {
namespace {

constexpr MetricType kG = MetricType::kGauge;
constexpr MetricType kC = MetricType::kCounter;

// node_exporter writes "Memory information field <Key>." for every field.
#define RW_MEMINFO(key) \
  { "node_memory_" key, kG, "Memory information field " key ".", "" }
#define RW_NETDEV(key)                                                     \
  {                                                                        \
    "node_network_" key "_total", kC, "Network device statistic " key ".", \
        "device"                                                           \
  }

// Every series the host exporter may emit; names, types and HELP as
// node_exporter 1.x writes them, so its dashboards work unchanged.
constexpr MetricDesc kDescs[] = {
    {"node_boot_time_seconds", kG, "Node boot time, in unixtime.", ""},
    {"node_context_switches_total", kC, "Total number of context switches.",
     ""},
    {"node_cpu_guest_seconds_total", kC,
     "Seconds the CPUs spent in guests (VMs) for each mode.", "cpu,mode"},
    {"node_cpu_seconds_total", kC, "Seconds the CPUs spent in each mode.",
     "cpu,mode"},
    {"node_filesystem_avail_bytes", kG,
     "Filesystem space available to non-root users in bytes.",
     "device,fstype,mountpoint"},
    {"node_filesystem_device_error", kG,
     "Whether an error occurred while getting statistics for the given "
     "device.",
     "device,fstype,mountpoint"},
    {"node_filesystem_files", kG, "Filesystem total file nodes.",
     "device,fstype,mountpoint"},
    {"node_filesystem_files_free", kG, "Filesystem total free file nodes.",
     "device,fstype,mountpoint"},
    {"node_filesystem_free_bytes", kG, "Filesystem free space in bytes.",
     "device,fstype,mountpoint"},
    {"node_filesystem_readonly", kG, "Filesystem read-only status.",
     "device,fstype,mountpoint"},
    {"node_filesystem_size_bytes", kG, "Filesystem size in bytes.",
     "device,fstype,mountpoint"},
    {"node_forks_total", kC, "Total number of forks.", ""},
    {"node_hwmon_fan_alarm", kG, "Hardware sensor alarm status (fan)",
     "chip,sensor"},
    {"node_hwmon_fan_fault", kG, "Hardware sensor fault status (fan)",
     "chip,sensor"},
    {"node_hwmon_fan_min_rpm", kG,
     "Hardware monitor for fan revolutions per minute (min)", "chip,sensor"},
    {"node_hwmon_fan_rpm", kG,
     "Hardware monitor for fan revolutions per minute (input)", "chip,sensor"},
    {"node_hwmon_fan_target_rpm", kG,
     "Hardware monitor for fan revolutions per minute (target)", "chip,sensor"},
    {"node_hwmon_chip_names", kG,
     "Annotation metric for human-readable chip names", "chip,chip_name"},
    {"node_hwmon_sensor_label", kG, "Label for given chip and sensor",
     "chip,label,sensor"},
    {"node_hwmon_temp_alarm", kG, "Hardware sensor alarm status (temp)",
     "chip,sensor"},
    {"node_hwmon_temp_celsius", kG, "Hardware monitor for temperature (input)",
     "chip,sensor"},
    {"node_hwmon_temp_crit_celsius", kG,
     "Hardware monitor for temperature (crit)", "chip,sensor"},
    {"node_hwmon_temp_crit_hyst_celsius", kG,
     "Hardware monitor for temperature (crit_hyst)", "chip,sensor"},
    {"node_hwmon_temp_emergency_celsius", kG,
     "Hardware monitor for temperature (emergency)", "chip,sensor"},
    {"node_hwmon_temp_fault", kG, "Hardware sensor fault status (temp)",
     "chip,sensor"},
    {"node_hwmon_temp_max_celsius", kG,
     "Hardware monitor for temperature (max)", "chip,sensor"},
    {"node_hwmon_temp_min_celsius", kG,
     "Hardware monitor for temperature (min)", "chip,sensor"},
    {"node_intr_total", kC, "Total number of interrupts serviced.", ""},
    {"node_load1", kG, "1m load average.", ""},
    {"node_load15", kG, "15m load average.", ""},
    {"node_load5", kG, "5m load average.", ""},
    // /proc/meminfo fields of Linux 6.x (plus a few older ones). A field a
    // newer kernel adds is exported too, under the same naming rule.
    // clang-format off
    RW_MEMINFO("Active_anon_bytes"), RW_MEMINFO("Active_bytes"),
    RW_MEMINFO("Active_file_bytes"), RW_MEMINFO("AnonHugePages_bytes"),
    RW_MEMINFO("AnonPages_bytes"), RW_MEMINFO("Balloon_bytes"),
    RW_MEMINFO("Bounce_bytes"), RW_MEMINFO("Buffers_bytes"),
    RW_MEMINFO("Cached_bytes"), RW_MEMINFO("CmaFree_bytes"),
    RW_MEMINFO("CmaTotal_bytes"), RW_MEMINFO("CommitLimit_bytes"),
    RW_MEMINFO("Committed_AS_bytes"), RW_MEMINFO("DirectMap1G_bytes"),
    RW_MEMINFO("DirectMap2M_bytes"), RW_MEMINFO("DirectMap4M_bytes"),
    RW_MEMINFO("DirectMap4k_bytes"), RW_MEMINFO("Dirty_bytes"),
    RW_MEMINFO("FileHugePages_bytes"), RW_MEMINFO("FilePmdMapped_bytes"),
    RW_MEMINFO("HardwareCorrupted_bytes"), RW_MEMINFO("HighFree_bytes"),
    RW_MEMINFO("HighTotal_bytes"), RW_MEMINFO("HugePages_Free"),
    RW_MEMINFO("HugePages_Rsvd"), RW_MEMINFO("HugePages_Surp"),
    RW_MEMINFO("HugePages_Total"), RW_MEMINFO("Hugepagesize_bytes"),
    RW_MEMINFO("Hugetlb_bytes"), RW_MEMINFO("Inactive_anon_bytes"),
    RW_MEMINFO("Inactive_bytes"), RW_MEMINFO("Inactive_file_bytes"),
    RW_MEMINFO("KReclaimable_bytes"), RW_MEMINFO("KernelStack_bytes"),
    RW_MEMINFO("LowFree_bytes"), RW_MEMINFO("LowTotal_bytes"),
    RW_MEMINFO("Mapped_bytes"), RW_MEMINFO("MemAvailable_bytes"),
    RW_MEMINFO("MemFree_bytes"), RW_MEMINFO("MemTotal_bytes"),
    RW_MEMINFO("Mlocked_bytes"), RW_MEMINFO("MmapCopy_bytes"),
    RW_MEMINFO("NFS_Unstable_bytes"), RW_MEMINFO("PageTables_bytes"),
    RW_MEMINFO("Percpu_bytes"), RW_MEMINFO("Quicklists_bytes"),
    RW_MEMINFO("SReclaimable_bytes"), RW_MEMINFO("SUnreclaim_bytes"),
    RW_MEMINFO("SecPageTables_bytes"), RW_MEMINFO("ShadowCallStack_bytes"),
    RW_MEMINFO("ShmemHugePages_bytes"), RW_MEMINFO("ShmemPmdMapped_bytes"),
    RW_MEMINFO("Shmem_bytes"), RW_MEMINFO("Slab_bytes"),
    RW_MEMINFO("SwapCached_bytes"), RW_MEMINFO("SwapFree_bytes"),
    RW_MEMINFO("SwapTotal_bytes"), RW_MEMINFO("Unaccepted_bytes"),
    RW_MEMINFO("Unevictable_bytes"), RW_MEMINFO("VmallocChunk_bytes"),
    RW_MEMINFO("VmallocTotal_bytes"), RW_MEMINFO("VmallocUsed_bytes"),
    RW_MEMINFO("WritebackTmp_bytes"), RW_MEMINFO("Writeback_bytes"),
    RW_MEMINFO("Zswap_bytes"), RW_MEMINFO("Zswapped_bytes"),
    RW_NETDEV("receive_bytes"), RW_NETDEV("receive_compressed"),
    RW_NETDEV("receive_drop"), RW_NETDEV("receive_errs"),
    RW_NETDEV("receive_fifo"), RW_NETDEV("receive_frame"),
    RW_NETDEV("receive_multicast"), RW_NETDEV("receive_packets"),
    RW_NETDEV("transmit_bytes"), RW_NETDEV("transmit_carrier"),
    RW_NETDEV("transmit_colls"), RW_NETDEV("transmit_compressed"),
    RW_NETDEV("transmit_drop"), RW_NETDEV("transmit_errs"),
    RW_NETDEV("transmit_fifo"), RW_NETDEV("transmit_packets"),
    // clang-format on
    {"node_procs_blocked", kG,
     "Number of processes blocked waiting for I/O to complete.", ""},
    {"node_procs_running", kG, "Number of processes in runnable state.", ""},
    {"node_scrape_collector_duration_seconds", kG,
     "node_exporter: Duration of a collector scrape.", "collector"},
    {"node_scrape_collector_success", kG,
     "node_exporter: Whether a collector succeeded.", "collector"},
    {"node_thermal_zone_temp", kG, "Zone temperature in Celsius", "type,zone"},
    {"node_time_seconds", kG, "System time in seconds since epoch (1970).", ""},
    {"node_uname_info", kG,
     "Labeled system information as provided by the uname system call.",
     "domainname,machine,nodename,release,sysname,version"},
};

#undef RW_MEMINFO
#undef RW_NETDEV

// /proc and /sys files are small; a larger one means something is wrong.
constexpr size_t kMaxFileBytes = 16 << 20;

// Reads whole files into one buffer reused across scrapes: one open, one
// read that returns everything (procfs/sysfs fill the buffer), one read
// that returns 0, one close. No iostreams.
class FileReader {
 public:
  // The view is valid until the next Read.
  Result<std::string_view> Read(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoToStatus(errno, "open " + path);
    if (buf_.size() < 16384) buf_.resize(16384);
    size_t len = 0;
    for (;;) {
      if (buf_.size() - len < 4096) {
        if (buf_.size() >= kMaxFileBytes) {
          ::close(fd);
          return ResourceExhaustedError("read " + path + ": larger than " +
                                        std::to_string(kMaxFileBytes));
        }
        buf_.resize(buf_.size() * 2);
      }
      ssize_t n = ::read(fd, buf_.data() + len, buf_.size() - len);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return ErrnoToStatus(err, "read " + path);
      }
      if (n == 0) break;
      len += static_cast<size_t>(n);
    }
    ::close(fd);
    return std::string_view(buf_.data(), len);
  }

 private:
  std::string buf_;
};

// Entry names of a directory, sorted, "." and ".." left out.
Result<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return ErrnoToStatus(errno, "opendir " + path);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> RealPath(const std::string& path) {
  char* p = ::realpath(path.c_str(), nullptr);
  if (p == nullptr) return std::nullopt;
  std::string out(p);
  std::free(p);
  return out;
}

Result<FsStats> SystemStatfs(const std::string& path) {
  struct statvfs b;
  if (::statvfs(path.c_str(), &b) != 0) {
    return ErrnoToStatus(errno, "statvfs " + path);
  }
  return FsStats{b.f_bsize,  b.f_blocks, b.f_bfree,
                 b.f_bavail, b.f_files,  b.f_ffree};
}

// One statvfs on a helper thread. Shared by the thread and the Exporter so
// that either may go first; an abandoned call touches nothing else.
struct StatfsCall {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Result<FsStats> result = InternalError("statfs pending");
};

// hwmon attributes exported, in emission order per sensor (sysfs-interface
// in the kernel docs: temperatures in millidegrees Celsius, fans in RPM).
struct HwmonElement {
  bool fan;
  const char* element;
  const char* metric;
  bool millis;
};
constexpr HwmonElement kHwmonElements[] = {
    {false, "input", "node_hwmon_temp_celsius", true},
    {false, "min", "node_hwmon_temp_min_celsius", true},
    {false, "max", "node_hwmon_temp_max_celsius", true},
    {false, "crit", "node_hwmon_temp_crit_celsius", true},
    {false, "crit_hyst", "node_hwmon_temp_crit_hyst_celsius", true},
    {false, "emergency", "node_hwmon_temp_emergency_celsius", true},
    {false, "alarm", "node_hwmon_temp_alarm", false},
    {false, "fault", "node_hwmon_temp_fault", false},
    {true, "input", "node_hwmon_fan_rpm", false},
    {true, "min", "node_hwmon_fan_min_rpm", false},
    {true, "target", "node_hwmon_fan_target_rpm", false},
    {true, "alarm", "node_hwmon_fan_alarm", false},
    {true, "fault", "node_hwmon_fan_fault", false},
};

void Add(Samples& out, std::string_view name, Labels labels, double value) {
  out.push_back(Sample{std::string(name), std::move(labels), value});
}

}  // namespace

std::span<const MetricDesc> MetricDescs() { return kDescs; }

struct Exporter::Impl {
  explicit Impl(Options o) : opts(std::move(o)) {
    root = opts.root.empty() ? "/" : opts.root;
    if (root.back() != '/') root += '/';
    clock = opts.clock != nullptr ? opts.clock : SystemClock::Default();
    if (!opts.statfs) opts.statfs = SystemStatfs;
    long hz = ::sysconf(_SC_CLK_TCK);
    user_hz = hz > 0 ? static_cast<double>(hz) : 100.0;
    proc_stat = root + "proc/stat";
    proc_loadavg = root + "proc/loadavg";
    proc_meminfo = root + "proc/meminfo";
    proc_net_dev = root + "proc/net/dev";
    proc_mounts = root + "proc/mounts";
    kernel_dir = root + "proc/sys/kernel/";
    hwmon_dir = root + "sys/class/hwmon";
    thermal_dir = root + "sys/class/thermal";
  }

  Status Cpu(Samples& out);
  Status Filesystem(Samples& out);
  Status Hwmon(Samples& out);
  Status Loadavg(Samples& out);
  Status Meminfo(Samples& out);
  Status Netdev(Samples& out);
  Status Stat(Samples& out);
  Status ThermalZone(Samples& out);
  Status Time(Samples& out);
  Status Uname(Samples& out);

  // A one-value sysfs/procfs attribute, trimmed; nullopt when unreadable.
  std::optional<std::string> ReadAttr(const std::string& path) {
    Result<std::string_view> r = reader.Read(path);
    if (!r.ok()) return std::nullopt;
    return std::string(TrimSpace(*r));
  }

  Options opts;
  std::string root;  // ends in '/'
  const Clock* clock;
  double user_hz;
  std::string proc_stat, proc_loadavg, proc_meminfo, proc_net_dev, proc_mounts,
      kernel_dir, hwmon_dir, thermal_dir;
  FileReader reader;
  // statvfs calls that have not answered yet, by mountpoint.
  std::map<std::string, std::shared_ptr<StatfsCall>, std::less<>> pending;
  size_t last_sample_count = 0;
};

Status Exporter::Impl::Cpu(Samples& out) {
  RW_ASSIGN_OR_RETURN(std::string_view content, reader.Read(proc_stat));
  RW_ASSIGN_OR_RETURN(ProcStat st, ParseProcStat(content, user_hz));
  constexpr std::string_view kName = "node_cpu_seconds_total";
  for (const CpuTimes& c : st.cpus) {
    const std::pair<const char*, double> modes[] = {
        {"user", c.user},       {"nice", c.nice},     {"system", c.system},
        {"idle", c.idle},       {"iowait", c.iowait}, {"irq", c.irq},
        {"softirq", c.softirq}, {"steal", c.steal}};
    for (const auto& [mode, v] : modes) {
      Add(out, kName, {{"cpu", c.cpu}, {"mode", mode}}, v);
    }
  }
  for (const CpuTimes& c : st.cpus) {
    if (c.guest) {
      Add(out, "node_cpu_guest_seconds_total",
          {{"cpu", c.cpu}, {"mode", "user"}}, *c.guest);
    }
    if (c.guest_nice) {
      Add(out, "node_cpu_guest_seconds_total",
          {{"cpu", c.cpu}, {"mode", "nice"}}, *c.guest_nice);
    }
  }
  return Status::Ok();
}

Status Exporter::Impl::Filesystem(Samples& out) {
  RW_ASSIGN_OR_RETURN(std::string_view content, reader.Read(proc_mounts));
  RW_ASSIGN_OR_RETURN(std::vector<MountEntry> mounts, ParseMounts(content));

  struct Job {
    const MountEntry* mount;
    std::string path;
    std::shared_ptr<StatfsCall> call;
    bool still_hung;  // started by an earlier scrape, not answered yet
  };
  std::vector<Job> jobs;
  std::string failures;
  auto fail = [&failures](std::string_view what) {
    if (!failures.empty()) failures += "; ";
    failures += what;
  };
  for (const std::string& mp : opts.filesystems) {
    bool seen = std::any_of(jobs.begin(), jobs.end(), [&](const Job& j) {
      return j.mount->mountpoint == mp;
    });
    if (seen) continue;
    // The last entry wins: it is the one mounted on top, the one visible.
    const MountEntry* m = nullptr;
    for (const MountEntry& e : mounts) {
      if (e.mountpoint == mp) m = &e;
    }
    if (m == nullptr) {
      fail("mountpoint " + mp + ": not in proc/mounts");
      continue;
    }
    std::string path = root + (mp.empty() ? mp : mp.substr(1));
    std::shared_ptr<StatfsCall>& slot = pending[mp];
    bool still_hung = false;
    if (slot != nullptr) {
      std::lock_guard<std::mutex> l(slot->mu);
      still_hung = !slot->done;
    }
    // A call abandoned earlier that has answered since: its figures are old,
    // start a fresh one. One still hung is not started again, nor waited on
    // (it already cost one timeout): node_exporter's "stuck mount" rule.
    if (!still_hung) slot.reset();
    if (slot == nullptr) {
      auto call = std::make_shared<StatfsCall>();
      try {
        std::thread([call, fn = opts.statfs, path] {
          Result<FsStats> r = fn(path);
          std::lock_guard<std::mutex> l(call->mu);
          call->result = std::move(r);
          call->done = true;
          call->cv.notify_all();
        }).detach();
      } catch (const std::system_error& e) {
        pending.erase(mp);
        fail("mountpoint " + mp + ": cannot start statfs thread: " + e.what());
        continue;
      }
      slot = std::move(call);
    }
    jobs.push_back(Job{m, std::move(path), slot, still_hung});
  }

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + opts.statfs_timeout;
  for (Job& j : jobs) {
    const MountEntry& m = *j.mount;
    Labels labels = {{"device", m.device},
                     {"fstype", m.fstype},
                     {"mountpoint", m.mountpoint}};
    std::optional<Result<FsStats>> answer;
    {
      std::unique_lock<std::mutex> l(j.call->mu);
      if (j.call->cv.wait_until(l, j.still_hung ? start : deadline,
                                [&] { return j.call->done; })) {
        answer = std::move(j.call->result);
      }
    }
    if (!answer) {
      Add(out, "node_filesystem_device_error", std::move(labels), 1);
      fail("mountpoint " + m.mountpoint + ": statfs " + j.path +
           (j.still_hung
                ? " still hung since an earlier scrape"
                : " gave no answer within " +
                      std::to_string(opts.statfs_timeout.count()) + "ms"));
      continue;
    }
    pending.erase(m.mountpoint);
    if (!answer->ok()) {
      Add(out, "node_filesystem_device_error", std::move(labels), 1);
      fail("mountpoint " + m.mountpoint + ": " + answer->status().message());
      continue;
    }
    const FsStats& s = answer->value();
    const double bs = static_cast<double>(s.block_size);
    Add(out, "node_filesystem_size_bytes", labels,
        static_cast<double>(s.blocks) * bs);
    Add(out, "node_filesystem_free_bytes", labels,
        static_cast<double>(s.blocks_free) * bs);
    Add(out, "node_filesystem_avail_bytes", labels,
        static_cast<double>(s.blocks_avail) * bs);
    Add(out, "node_filesystem_files", labels, static_cast<double>(s.files));
    Add(out, "node_filesystem_files_free", labels,
        static_cast<double>(s.files_free));
    Add(out, "node_filesystem_readonly", labels, m.read_only ? 1 : 0);
    Add(out, "node_filesystem_device_error", std::move(labels), 0);
  }
  if (!failures.empty()) return UnavailableError(std::move(failures));
  return Status::Ok();
}

Status Exporter::Impl::Hwmon(Samples& out) {
  Result<std::vector<std::string>> dirs = ListDir(hwmon_dir);
  if (!dirs.ok()) {
    // A machine without hwmon has no such class directory: nothing to say.
    if (dirs.status().code() == StatusCode::kNotFound) return Status::Ok();
    return dirs.status();
  }
  for (const std::string& entry : *dirs) {
    const std::string dir = hwmon_dir + "/" + entry;
    std::optional<std::string> device = RealPath(dir + "/device");
    Result<std::string_view> name_raw = reader.Read(dir + "/name");
    std::optional<std::string> name;
    if (name_raw.ok()) name = std::string(*name_raw);
    std::optional<std::string> real_dir = RealPath(dir);
    RW_ASSIGN_OR_RETURN(
        std::string chip,
        HwmonChipName(
            device ? std::optional<std::string_view>(*device) : std::nullopt,
            name ? std::optional<std::string_view>(*name) : std::nullopt,
            real_dir ? *real_dir : dir));
    if (name) {
      std::string chip_name = CleanHwmonName(*name);
      if (!chip_name.empty()) {
        Add(out, "node_hwmon_chip_names",
            {{"chip", chip}, {"chip_name", std::move(chip_name)}}, 1);
      }
    }
    RW_ASSIGN_OR_RETURN(std::vector<std::string> files, ListDir(dir));
    // Sensors in file-name order; per sensor its label, then the values.
    std::map<std::string, std::map<std::string, std::string>> sensors;
    for (const std::string& f : files) {
      std::optional<HwmonSensorFile> t = ParseHwmonSensorFileName(f);
      if (t) sensors[std::string(t->sensor)][std::string(t->element)] = f;
    }
    for (const auto& [sensor, elems] : sensors) {
      // Unreadable attributes (EIO, ENODATA from a sensor that is asleep or
      // gone) are skipped, as node_exporter does: absent, not an error.
      if (auto it = elems.find("label"); it != elems.end()) {
        if (std::optional<std::string> label =
                ReadAttr(dir + "/" + it->second)) {
          Add(out, "node_hwmon_sensor_label",
              {{"chip", chip}, {"label", *label}, {"sensor", sensor}}, 1);
        }
      }
      const bool is_fan = sensor[0] == 'f';
      for (const HwmonElement& el : kHwmonElements) {
        if (el.fan != is_fan) continue;
        auto it = elems.find(el.element);
        if (it == elems.end()) continue;
        std::optional<std::string> v = ReadAttr(dir + "/" + it->second);
        if (!v) continue;
        Result<double> raw = ParseSysfsNumber(*v, it->second);
        if (!raw.ok()) continue;
        Add(out, el.metric, {{"chip", chip}, {"sensor", sensor}},
            el.millis ? *raw / 1000 : *raw);
      }
    }
  }
  return Status::Ok();
}

Status Exporter::Impl::Loadavg(Samples& out) {
  RW_ASSIGN_OR_RETURN(std::string_view content, reader.Read(proc_loadavg));
  RW_ASSIGN_OR_RETURN(LoadAvg l, ParseLoadavg(content));
  Add(out, "node_load1", {}, l.load1);
  Add(out, "node_load5", {}, l.load5);
  Add(out, "node_load15", {}, l.load15);
  return Status::Ok();
}

Status Exporter::Impl::Meminfo(Samples& out) {
  RW_ASSIGN_OR_RETURN(std::string_view content, reader.Read(proc_meminfo));
  RW_ASSIGN_OR_RETURN(std::vector<MeminfoField> fields, ParseMeminfo(content));
  for (MeminfoField& f : fields) {
    Add(out, "node_memory_" + f.name, {}, f.value);
  }
  return Status::Ok();
}

Status Exporter::Impl::Netdev(Samples& out) {
  RW_ASSIGN_OR_RETURN(std::string_view content, reader.Read(proc_net_dev));
  RW_ASSIGN_OR_RETURN(std::vector<NetDevStats> devs, ParseNetDev(content));
  for (const NetDevStats& d : devs) {
    for (size_t i = 0; i < kNetDevFields.size(); ++i) {
      std::string name = "node_network_";
      name += kNetDevFields[i];
      name += "_total";
      Add(out, name, {{"device", d.device}}, static_cast<double>(d.values[i]));
    }
  }
  return Status::Ok();
}

Status Exporter::Impl::Stat(Samples& out) {
  RW_ASSIGN_OR_RETURN(std::string_view content, reader.Read(proc_stat));
  RW_ASSIGN_OR_RETURN(ProcStat st, ParseProcStat(content, user_hz));
  const std::pair<const char*, const std::optional<double>*> rows[] = {
      {"node_boot_time_seconds", &st.boot_time_seconds},
      {"node_context_switches_total", &st.context_switches},
      {"node_forks_total", &st.forks},
      {"node_intr_total", &st.interrupts},
      {"node_procs_blocked", &st.procs_blocked},
      {"node_procs_running", &st.procs_running}};
  for (const auto& [name, v] : rows) {
    if (v->has_value()) Add(out, name, {}, **v);
  }
  return Status::Ok();
}

Status Exporter::Impl::ThermalZone(Samples& out) {
  Result<std::vector<std::string>> dirs = ListDir(thermal_dir);
  if (!dirs.ok()) {
    if (dirs.status().code() == StatusCode::kNotFound) return Status::Ok();
    return dirs.status();
  }
  for (const std::string& entry : *dirs) {
    std::optional<std::string_view> zone = ThermalZoneIndex(entry);
    if (!zone) continue;  // cooling_deviceN and friends
    const std::string dir = thermal_dir + "/" + entry;
    // A zone whose sensor is disabled answers EINVAL/ENODATA: skip it.
    std::optional<std::string> type = ReadAttr(dir + "/type");
    std::optional<std::string> temp = ReadAttr(dir + "/temp");
    if (!type || !temp) continue;
    Result<double> milli = ParseSysfsNumber(*temp, entry + "/temp");
    if (!milli.ok()) continue;
    Add(out, "node_thermal_zone_temp",
        {{"type", *type}, {"zone", std::string(*zone)}}, *milli / 1000);
  }
  return Status::Ok();
}

Status Exporter::Impl::Time(Samples& out) {
  const std::chrono::duration<double> since_epoch =
      clock->Now().time_since_epoch();
  Add(out, "node_time_seconds", {}, since_epoch.count());
  return Status::Ok();
}

Status Exporter::Impl::Uname(Samples& out) {
  // Label name and the proc/sys/kernel file it comes from.
  const std::pair<const char*, const char*> files[] = {
      {"domainname", "domainname"}, {"machine", "arch"},
      {"nodename", "hostname"},     {"release", "osrelease"},
      {"sysname", "ostype"},        {"version", "version"}};
  Labels labels;
  Status failed;
  for (const auto& [label, file] : files) {
    Result<std::string_view> r = reader.Read(kernel_dir + file);
    if (!r.ok()) {
      failed = r.status();
      break;
    }
    labels.push_back({label, std::string(TrimSpace(*r))});
  }
  if (!failed.ok()) {
    // proc/sys/kernel/arch is new in Linux 6.1; on the live root the
    // uname(2) call answers for every field. Under another root it would
    // describe the wrong machine, so there the error stands.
    if (root != "/") return failed;
    struct utsname u;
    if (::uname(&u) != 0) return ErrnoToStatus(errno, "uname");
    labels = {{"domainname", u.domainname}, {"machine", u.machine},
              {"nodename", u.nodename},     {"release", u.release},
              {"sysname", u.sysname},       {"version", u.version}};
  }
  Add(out, "node_uname_info", std::move(labels), 1);
  return Status::Ok();
}

Exporter::Exporter(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

Exporter::~Exporter() = default;

Scrape Exporter::Collect() {
  using Fn = Status (Impl::*)(Samples&);
  struct Collector {
    const char* name;
    Fn fn;
    bool keeps_partial;  // filesystem reports the mountpoints that answered
  };
  static constexpr Collector kCollectors[] = {
      {"cpu", &Impl::Cpu, false},
      {"filesystem", &Impl::Filesystem, true},
      {"hwmon", &Impl::Hwmon, false},
      {"loadavg", &Impl::Loadavg, false},
      {"meminfo", &Impl::Meminfo, false},
      {"netdev", &Impl::Netdev, false},
      {"stat", &Impl::Stat, false},
      {"thermal_zone", &Impl::ThermalZone, false},
      {"time", &Impl::Time, false},
      {"uname", &Impl::Uname, false},
  };
  Scrape scrape;
  scrape.samples.reserve(impl_->last_sample_count);
  scrape.collectors.reserve(std::size(kCollectors));
  for (const Collector& c : kCollectors) {
    const size_t mark = scrape.samples.size();
    // The real monotonic clock: this measures our own work, like
    // node_exporter's collector.go, and is not a scheduling decision.
    const auto start = std::chrono::steady_clock::now();
    Status st = (impl_.get()->*c.fn)(scrape.samples);
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    if (!st.ok() && !c.keeps_partial) scrape.samples.resize(mark);
    scrape.collectors.push_back(
        CollectorOutcome{c.name, st.ok(), took.count(), std::move(st)});
  }
  for (const CollectorOutcome& o : scrape.collectors) {
    Add(scrape.samples, "node_scrape_collector_duration_seconds",
        {{"collector", o.name}}, o.duration_seconds);
  }
  for (const CollectorOutcome& o : scrape.collectors) {
    Add(scrape.samples, "node_scrape_collector_success",
        {{"collector", o.name}}, o.success ? 1 : 0);
  }
  impl_->last_sample_count = scrape.samples.size();
  return scrape;
}

}  // namespace rigwatch::host
