#include "exporters/host_parsers.h"

#include <charconv>
#include <string>
#include <system_error>

namespace rigwatch::host {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

// Splits off the next whitespace-separated field of `rest`; empty at the end.
std::string_view NextField(std::string_view& rest) {
  size_t i = 0;
  while (i < rest.size() && IsSpace(rest[i])) ++i;
  size_t j = i;
  while (j < rest.size() && !IsSpace(rest[j])) ++j;
  std::string_view field = rest.substr(i, j - i);
  rest.remove_prefix(j);
  return field;
}

// Yields the lines of a file with their 1-based numbers.
class LineReader {
 public:
  explicit LineReader(std::string_view content) : rest_(content) {}
  bool Next(std::string_view& line) {
    if (rest_.empty()) return false;
    size_t nl = rest_.find('\n');
    if (nl == std::string_view::npos) {
      line = rest_;
      rest_ = {};
    } else {
      line = rest_.substr(0, nl);
      rest_.remove_prefix(nl + 1);
    }
    ++number_;
    return true;
  }
  int number() const { return number_; }

 private:
  std::string_view rest_;
  int number_ = 0;
};

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> ParseDouble(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

Status LineError(std::string_view file, int line, std::string_view what) {
  std::string m(file);
  m += ':';
  m += std::to_string(line);
  m += ": ";
  m += what;
  return InvalidArgumentError(std::move(m));
}

Status BadNumber(std::string_view file, int line, std::string_view field) {
  std::string what = "bad number \"";
  what += field;
  what += '"';
  return LineError(file, line, what);
}

std::string_view BaseName(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view DirName(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view()
                                         : path.substr(0, slash);
}

}  // namespace

Result<LoadAvg> ParseLoadavg(std::string_view content) {
  constexpr std::string_view kFile = "proc/loadavg";
  std::string_view rest = content;
  std::string_view f[3];
  for (int i = 0; i < 3; ++i) {
    f[i] = NextField(rest);
    if (f[i].empty()) {
      return LineError(kFile, 1,
                       "expected 3+ fields, got " + std::to_string(i));
    }
  }
  LoadAvg out;
  double* dst[3] = {&out.load1, &out.load5, &out.load15};
  for (int i = 0; i < 3; ++i) {
    std::optional<double> v = ParseDouble(f[i]);
    if (!v) return BadNumber(kFile, 1, f[i]);
    *dst[i] = *v;
  }
  return out;
}

Result<ProcStat> ParseProcStat(std::string_view content, double user_hz) {
  constexpr std::string_view kFile = "proc/stat";
  ProcStat out;
  LineReader lines(content);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view rest = line;
    std::string_view key = NextField(rest);
    if (key.empty()) continue;
    if (key.size() > 3 && key.substr(0, 3) == "cpu") {
      // Per-CPU line: cpuN user nice system idle iowait irq softirq steal
      // [guest [guest_nice]] (proc(5)).
      double ticks[10];
      int n = 0;
      for (std::string_view f = NextField(rest); !f.empty();
           f = NextField(rest)) {
        if (n == 10) break;  // newer kernels may append columns
        std::optional<uint64_t> v = ParseU64(f);
        if (!v) return BadNumber(kFile, lines.number(), f);
        ticks[n++] = static_cast<double>(*v) / user_hz;
      }
      if (n < 8) {
        std::string what = "expected 8+ fields after \"";
        what += key;
        what += "\", got " + std::to_string(n);
        return LineError(kFile, lines.number(), what);
      }
      CpuTimes c;
      c.cpu = std::string(key.substr(3));
      c.user = ticks[0];
      c.nice = ticks[1];
      c.system = ticks[2];
      c.idle = ticks[3];
      c.iowait = ticks[4];
      c.irq = ticks[5];
      c.softirq = ticks[6];
      c.steal = ticks[7];
      if (n > 8) c.guest = ticks[8];
      if (n > 9) c.guest_nice = ticks[9];
      out.cpus.push_back(std::move(c));
      continue;
    }
    std::optional<double>* dst = nullptr;
    if (key == "btime") {
      dst = &out.boot_time_seconds;
    } else if (key == "ctxt") {
      dst = &out.context_switches;
    } else if (key == "intr") {
      dst = &out.interrupts;
    } else if (key == "processes") {
      dst = &out.forks;
    } else if (key == "procs_running") {
      dst = &out.procs_running;
    } else if (key == "procs_blocked") {
      dst = &out.procs_blocked;
    } else {
      continue;  // "cpu " aggregate, softirq, and lines of newer kernels
    }
    std::string_view f = NextField(rest);
    if (f.empty()) {
      std::string what = "expected a value after \"";
      what += key;
      what += '"';
      return LineError(kFile, lines.number(), what);
    }
    std::optional<uint64_t> v = ParseU64(f);
    if (!v) return BadNumber(kFile, lines.number(), f);
    *dst = static_cast<double>(*v);
  }
  return out;
}

std::string MangleMeminfoKey(std::string_view key) {
  size_t open = key.find('(');
  size_t close = key.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos ||
      close < open) {
    return std::string(key);
  }
  std::string out(key.substr(0, open));
  out += '_';
  out += key.substr(open + 1, close - open - 1);
  out += key.substr(close + 1);
  return out;
}

Result<std::vector<MeminfoField>> ParseMeminfo(std::string_view content) {
  constexpr std::string_view kFile = "proc/meminfo";
  std::vector<MeminfoField> out;
  out.reserve(64);
  LineReader lines(content);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view rest = line;
    std::string_view key = NextField(rest);
    if (key.empty()) continue;
    std::string_view value = NextField(rest);
    std::string_view unit = NextField(rest);
    std::string_view extra = NextField(rest);
    if (key.back() != ':' || key.size() < 2 || value.empty() ||
        !extra.empty()) {
      return LineError(kFile, lines.number(), "expected \"Key: value [kB]\"");
    }
    std::optional<uint64_t> v = ParseU64(value);
    if (!v) return BadNumber(kFile, lines.number(), value);
    MeminfoField field;
    field.name = MangleMeminfoKey(key.substr(0, key.size() - 1));
    field.value = static_cast<double>(*v);
    if (!unit.empty()) {
      if (unit != "kB") {
        std::string what = "unknown unit \"";
        what += unit;
        what += "\" (expected kB)";
        return LineError(kFile, lines.number(), what);
      }
      field.value *= 1024;
      field.name += "_bytes";
    }
    out.push_back(std::move(field));
  }
  return out;
}

Result<std::vector<NetDevStats>> ParseNetDev(std::string_view content) {
  constexpr std::string_view kFile = "proc/net/dev";
  std::vector<NetDevStats> out;
  LineReader lines(content);
  std::string_view line;
  while (lines.Next(line)) {
    if (lines.number() <= 2) continue;  // the two header lines
    if (TrimSpace(line).empty()) continue;
    size_t colon = line.rfind(':');
    if (colon == std::string_view::npos) {
      return LineError(kFile, lines.number(), "expected \"device: values\"");
    }
    NetDevStats s;
    s.device = std::string(TrimSpace(line.substr(0, colon)));
    if (s.device.empty()) {
      return LineError(kFile, lines.number(), "empty device name");
    }
    std::string_view rest = line.substr(colon + 1);
    size_t n = 0;
    for (std::string_view f = NextField(rest); !f.empty();
         f = NextField(rest)) {
      if (n == s.values.size()) {
        ++n;
        break;
      }
      std::optional<uint64_t> v = ParseU64(f);
      if (!v) return BadNumber(kFile, lines.number(), f);
      s.values[n++] = *v;
    }
    if (n != s.values.size()) {
      std::string what = "expected 16 values after \"" + s.device + ":\"";
      if (n < s.values.size()) what += ", got " + std::to_string(n);
      return LineError(kFile, lines.number(), what);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string DecodeMountEscapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      bool octal = true;
      int v = 0;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') {
          octal = false;
          break;
        }
        v = v * 8 + (s[i + k] - '0');
      }
      if (octal && v < 256) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

Result<std::vector<MountEntry>> ParseMounts(std::string_view content) {
  constexpr std::string_view kFile = "proc/mounts";
  std::vector<MountEntry> out;
  LineReader lines(content);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view rest = line;
    std::string_view f[4];
    int n = 0;
    for (; n < 4; ++n) {
      f[n] = NextField(rest);
      if (f[n].empty()) break;
    }
    if (n == 0) continue;
    if (n < 4) {
      return LineError(kFile, lines.number(),
                       "expected 4+ fields, got " + std::to_string(n));
    }
    MountEntry e;
    e.device = DecodeMountEscapes(f[0]);
    e.mountpoint = DecodeMountEscapes(f[1]);
    e.fstype = DecodeMountEscapes(f[2]);
    std::string_view opts = f[3];
    while (!opts.empty()) {
      size_t comma = opts.find(',');
      std::string_view opt = opts.substr(0, comma);
      if (opt == "ro") e.read_only = true;
      if (comma == std::string_view::npos) break;
      opts.remove_prefix(comma + 1);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

Result<double> ParseSysfsNumber(std::string_view content,
                                std::string_view file) {
  std::string_view t = TrimSpace(content);
  std::optional<double> v = ParseDouble(t);
  if (!v) return BadNumber(file, 1, t);
  return *v;
}

std::string CleanHwmonName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' ||
              c == '_';
    out += ok ? c : '_';
  }
  size_t b = out.find_first_not_of('_');
  if (b == std::string::npos) return {};
  size_t e = out.find_last_not_of('_');
  return out.substr(b, e - b + 1);
}

Result<std::string> HwmonChipName(std::optional<std::string_view> device_path,
                                  std::optional<std::string_view> name_file,
                                  std::string_view hwmon_dir_path) {
  if (device_path) {
    std::string dev_name = CleanHwmonName(BaseName(*device_path));
    std::string dev_type = CleanHwmonName(BaseName(DirName(*device_path)));
    if (!dev_type.empty() && !dev_name.empty()) {
      return dev_type + "_" + dev_name;
    }
    if (!dev_name.empty()) return dev_name;
  }
  if (name_file) {
    std::string clean = CleanHwmonName(*name_file);
    if (!clean.empty()) return clean;
  }
  std::string clean = CleanHwmonName(BaseName(hwmon_dir_path));
  if (!clean.empty()) return clean;
  std::string m = "cannot derive a chip name for ";
  m += hwmon_dir_path;
  return NotFoundError(std::move(m));
}

std::optional<HwmonSensorFile> ParseHwmonSensorFileName(std::string_view file) {
  for (std::string_view type :
       {std::string_view("temp"), std::string_view("fan")}) {
    if (file.substr(0, type.size()) != type) continue;
    size_t digits = type.size();
    while (digits < file.size() && file[digits] >= '0' && file[digits] <= '9') {
      ++digits;
    }
    if (digits == type.size() || digits + 1 >= file.size() ||
        file[digits] != '_') {
      return std::nullopt;
    }
    return HwmonSensorFile{type, file.substr(0, digits),
                           file.substr(digits + 1)};
  }
  return std::nullopt;
}

std::optional<std::string_view> ThermalZoneIndex(std::string_view dir_name) {
  constexpr std::string_view kPrefix = "thermal_zone";
  if (dir_name.size() <= kPrefix.size() ||
      dir_name.substr(0, kPrefix.size()) != kPrefix) {
    return std::nullopt;
  }
  std::string_view idx = dir_name.substr(kPrefix.size());
  for (char c : idx) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return idx;
}

}  // namespace rigwatch::host
