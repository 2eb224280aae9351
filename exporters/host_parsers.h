// Pure parsers for the host exporter: file contents in, typed values out.
// They never touch the file system, so each is tested from a literal string
// (tests/unit/host/host_parsers_test.cc). Errors are InvalidArgument and name
// the file as it sits below the root and the 1-based line:
//   "proc/stat:3: expected 8+ fields after \"cpu1\", got 5".
// All functions are thread-safe (no shared state).
#ifndef RIGWATCH_EXPORTERS_HOST_PARSERS_H_
#define RIGWATCH_EXPORTERS_HOST_PARSERS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/status.h"

namespace rigwatch::host {

// --- proc/loadavg -----------------------------------------------------------

struct LoadAvg {
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;
  friend bool operator==(const LoadAvg&, const LoadAvg&) = default;
};

// "0.52 0.58 0.59 1/231 48312": needs at least the three averages.
Result<LoadAvg> ParseLoadavg(std::string_view content);

// --- proc/stat --------------------------------------------------------------

// One "cpuN" line converted to seconds. guest and guest_nice are absent on
// kernels older than 2.6.24/2.6.33 (the line then has 8 or 9 values).
struct CpuTimes {
  std::string cpu;  // "0" for "cpu0"
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0,
         softirq = 0, steal = 0;
  std::optional<double> guest, guest_nice;
  friend bool operator==(const CpuTimes&, const CpuTimes&) = default;
};

// Every field is optional: a line the kernel does not write stays absent.
struct ProcStat {
  std::vector<CpuTimes> cpus;  // per-CPU lines in file order; "cpu " skipped
  std::optional<double> boot_time_seconds;  // btime
  std::optional<double> context_switches;   // ctxt
  std::optional<double> interrupts;         // first value of intr
  std::optional<double> forks;              // processes
  std::optional<double> procs_running;
  std::optional<double> procs_blocked;
};

// Parses /proc/stat. CPU ticks are divided by `user_hz` (USER_HZ, from
// sysconf(_SC_CLK_TCK); 100 on every Linux port). A cpuN line with fewer
// than 8 values or a non-numeric value is an error; unknown lines are
// ignored (the kernel adds lines over time).
Result<ProcStat> ParseProcStat(std::string_view content, double user_hz);

// --- proc/meminfo -----------------------------------------------------------

// One field under node_exporter's name: "Active(anon):  2208 kB" becomes
// {"Active_anon_bytes", 2260992}; a field without unit keeps its name
// ("HugePages_Total").
struct MeminfoField {
  std::string name;
  double value = 0;
  friend bool operator==(const MeminfoField&, const MeminfoField&) = default;
};

// Parses /proc/meminfo in file order. Lines must be "Key: value [kB]"; blank
// lines are skipped (some kernels emit one).
Result<std::vector<MeminfoField>> ParseMeminfo(std::string_view content);

// node_exporter's key mangling: "Active(anon)" -> "Active_anon" (the text
// from the first '(' to the last ')' becomes '_' plus what was inside).
std::string MangleMeminfoKey(std::string_view key);

// --- proc/net/dev -----------------------------------------------------------

// The 16 columns of /proc/net/dev under node_exporter's names; metric names
// are "node_network_" + name + "_total".
inline constexpr std::array<std::string_view, 16> kNetDevFields = {
    "receive_bytes",      "receive_packets",   "receive_errs",
    "receive_drop",       "receive_fifo",      "receive_frame",
    "receive_compressed", "receive_multicast", "transmit_bytes",
    "transmit_packets",   "transmit_errs",     "transmit_drop",
    "transmit_fifo",      "transmit_colls",    "transmit_carrier",
    "transmit_compressed"};

struct NetDevStats {
  std::string device;
  std::array<uint64_t, 16> values{};  // indexed like kNetDevFields
  friend bool operator==(const NetDevStats&, const NetDevStats&) = default;
};

// Parses /proc/net/dev: two header lines, then "dev: 16 numbers" per line.
Result<std::vector<NetDevStats>> ParseNetDev(std::string_view content);

// --- proc/mounts ------------------------------------------------------------

struct MountEntry {
  std::string device;
  std::string mountpoint;
  std::string fstype;
  bool read_only = false;  // "ro" among the mount options
  friend bool operator==(const MountEntry&, const MountEntry&) = default;
};

// Parses /proc/mounts (fstab format). Octal escapes the kernel writes for
// space, tab, newline and backslash ("\040") are decoded.
Result<std::vector<MountEntry>> ParseMounts(std::string_view content);

// Decodes "\ooo" octal escapes; anything else is kept as is.
std::string DecodeMountEscapes(std::string_view s);

// --- sysfs ------------------------------------------------------------------

// Strips ASCII whitespace (sysfs values end in '\n') from both ends.
std::string_view TrimSpace(std::string_view s);

// A one-value sysfs attribute ("48312\n") as a number. `file` names the
// attribute in the error.
Result<double> ParseSysfsNumber(std::string_view content,
                                std::string_view file);

// node_exporter's cleaning of hwmon names: lower case, every character
// outside [a-z0-9:_] replaced by '_', leading/trailing '_' removed.
std::string CleanHwmonName(std::string_view name);

// The `chip` label of one hwmon directory, derived the way node_exporter
// does so its dashboards match:
//   1. from the resolved "device" link: "<parent dir>_<device dir>"
//      (".../platform/coretemp.0" -> "platform_coretemp_0"), or the device
//      dir alone when the parent cleans to empty;
//   2. else the cleaned contents of the "name" file;
//   3. else the cleaned name of the resolved hwmon directory ("hwmon0").
// `device_path` is the resolved device link target (absent when there is no
// link), `name_file` the raw "name" contents. NotFound when all are empty.
Result<std::string> HwmonChipName(std::optional<std::string_view> device_path,
                                  std::optional<std::string_view> name_file,
                                  std::string_view hwmon_dir_path);

// A temperature or fan attribute file name split into sensor type, sensor
// and element: "temp1_input" -> {"temp", "temp1", "input"}, "fan2_min" ->
// {"fan", "fan2", "min"}. nullopt for anything else (in0_input, name, ...).
struct HwmonSensorFile {
  std::string_view type;     // "temp" or "fan"
  std::string_view sensor;   // "temp1"
  std::string_view element;  // "input", "max", "crit", "label", ...
};
std::optional<HwmonSensorFile> ParseHwmonSensorFileName(std::string_view file);

// "thermal_zone12" -> "12"; nullopt when the name does not have that form.
std::optional<std::string_view> ThermalZoneIndex(std::string_view dir_name);

}  // namespace rigwatch::host

#endif  // RIGWATCH_EXPORTERS_HOST_PARSERS_H_
