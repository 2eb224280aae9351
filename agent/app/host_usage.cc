#include "agent/app/host_usage.h"

#include <algorithm>

namespace rigwatch {
namespace {

std::string_view LabelOf(const Sample& s, std::string_view name) {
  for (const Label& l : s.labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

}  // namespace

HostUsage HostUsageTracker::Update(const Samples& host) {
  HostUsage u;
  double busy = 0, total = 0;
  bool have_cpu = false;
  std::optional<double> mem_total, mem_avail;
  std::map<std::string, double> fs_size, fs_avail;
  for (const Sample& s : host) {
    if (s.name == "node_cpu_seconds_total") {
      have_cpu = true;
      total += s.value;
      const std::string_view mode = LabelOf(s, "mode");
      if (mode != "idle" && mode != "iowait") busy += s.value;
    } else if (s.name == "node_memory_MemTotal_bytes") {
      mem_total = s.value;
    } else if (s.name == "node_memory_MemAvailable_bytes") {
      mem_avail = s.value;
    } else if (s.name == "node_filesystem_size_bytes") {
      fs_size[std::string(LabelOf(s, "mountpoint"))] = s.value;
    } else if (s.name == "node_filesystem_avail_bytes") {
      fs_avail[std::string(LabelOf(s, "mountpoint"))] = s.value;
    } else if (s.name == "node_hwmon_temp_celsius" ||
               s.name == "node_thermal_zone_temp") {
      u.temperature_celsius =
          std::max(u.temperature_celsius.value_or(s.value), s.value);
    } else if (s.name == "node_load1") {
      u.load1 = s.value;
    } else if (s.name == "node_load5") {
      u.load5 = s.value;
    } else if (s.name == "node_load15") {
      u.load15 = s.value;
    }
  }
  if (have_cpu) {
    if (last_cpu_) {
      const double d_total = total - last_cpu_->second;
      const double d_busy = busy - last_cpu_->first;
      // A counter that went back (a CPU went offline) gives no figure.
      if (d_total > 0 && d_busy >= 0) {
        u.cpu_percent = std::clamp(100 * d_busy / d_total, 0.0, 100.0);
      }
    }
    last_cpu_ = std::make_pair(busy, total);
  }
  if (mem_total && mem_avail && *mem_total > 0) {
    u.memory_percent = 100 * (1 - *mem_avail / *mem_total);
  }
  for (const auto& [mp, size] : fs_size) {
    auto it = fs_avail.find(mp);
    if (it != fs_avail.end() && size > 0) {
      u.disk_percent[mp] = 100 * (1 - it->second / size);
    }
  }
  return u;
}

}  // namespace rigwatch
