// Host usage in percent from the host collector's series (node_exporter
// names), for GET /api/v1/health: CPU busy share between two collections,
// memory in use, each filesystem's used share, the hottest temperature
// sensor and the load averages. Thread-compatible: the collector thread
// Updates, readers take a copy under the agent's lock.
#ifndef RIGWATCH_AGENT_APP_HOST_USAGE_H_
#define RIGWATCH_AGENT_APP_HOST_USAGE_H_

#include <map>
#include <optional>
#include <string>

#include "exporters/sample.h"

namespace rigwatch {

struct HostUsage {
  // Busy share of all CPUs since the previous collection: every mode but
  // idle and iowait, over all modes, summed over CPUs. Empty until two
  // collections were seen.
  std::optional<double> cpu_percent;
  // 1 - MemAvailable / MemTotal.
  std::optional<double> memory_percent;
  // Per mountpoint: 1 - avail / size (what an unprivileged user can still
  // write, as df shows).
  std::map<std::string, double> disk_percent;
  // The hottest hwmon or thermal zone sensor.
  std::optional<double> temperature_celsius;
  std::optional<double> load1, load5, load15;
};

class HostUsageTracker {
 public:
  // One collection's samples; returns the usage it gives.
  HostUsage Update(const Samples& host);

 private:
  std::optional<std::pair<double, double>> last_cpu_;  // busy, total
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_APP_HOST_USAGE_H_
