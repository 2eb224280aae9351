// The host exporter: node_exporter's names and labels for the subset rigwatch
// covers (CPU, load, memory, filesystems, network, hwmon and thermal zones,
// boot time, time, uname). Files are read below a configurable root so tests
// point it at tests/fixtures/host/; parsers are pure functions of file
// contents (host_parsers.h) and are tested from literal strings.
#ifndef RIGWATCH_EXPORTERS_HOST_H_
#define RIGWATCH_EXPORTERS_HOST_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch::host {

// What statvfs(2) says about one mounted file system. Sizes are in units of
// block_size (f_bsize, as node_exporter multiplies).
struct FsStats {
  uint64_t block_size = 0;
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_avail = 0;  // free to unprivileged users
  uint64_t files = 0;
  uint64_t files_free = 0;
};

// Stats the file system mounted at `path`. Runs on a helper thread, so it
// must be thread-safe; it may block for ever (the scrape abandons it).
using StatfsFunc = std::function<Result<FsStats>(const std::string& path)>;

struct Options {
  std::string root = "/";                        // prefix for /proc, /sys, /etc
  std::vector<std::string> filesystems = {"/"};  // mountpoints to report
  // statvfs runs on a helper thread and is abandoned after this long, so a
  // hung NFS mount cannot hang a scrape.
  std::chrono::milliseconds statfs_timeout{1000};
  // Empty: statvfs(2) on root + mountpoint. Tests substitute one that
  // answers from a table or blocks like a dead NFS server.
  StatfsFunc statfs;
  // Source of node_time_seconds. nullptr: SystemClock::Default(). Not owned;
  // must outlive the Exporter.
  const Clock* clock = nullptr;
};

// node_exporter's per-collector outcome (node_scrape_collector_success).
struct CollectorOutcome {
  std::string name;  // "cpu", "loadavg", "meminfo", "filesystem", ...
  bool success = false;
  double duration_seconds = 0;
  Status error;  // why it failed, with the file path
};

struct Scrape {
  Samples samples;
  std::vector<CollectorOutcome> collectors;
};

class Exporter {
 public:
  explicit Exporter(Options options);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Runs every collector (cpu, filesystem, hwmon, loadavg, meminfo, netdev,
  // stat, thermal_zone, time, uname, in that order), each timed by one
  // wrapper, and appends node_scrape_collector_success and
  // node_scrape_collector_duration_seconds{collector} for each. A failing
  // collector yields success=false, an error naming the file, and no samples
  // of its own; it never fails the whole scrape. The one exception is
  // filesystem: when some mountpoints fail (statvfs error, no answer within
  // statfs_timeout, not mounted), it still reports the others, emits
  // node_filesystem_device_error=1 for the failed ones it found in
  // proc/mounts, and is marked failed with every failed mountpoint named.
  // A statvfs still hung from an earlier scrape is neither started again nor
  // waited on (the mount is reported failed at once, so a dead server costs
  // one timeout, not one per scrape): at most one helper thread per
  // mountpoint. Once it answers, the next scrape starts a fresh one.
  // Absent sources (no hwmon, no thermal zones) are not errors.
  // Not thread-safe: call from one thread, once per scrape interval.
  Scrape Collect();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The descriptor table of every node_* series this exporter may emit.
std::span<const MetricDesc> MetricDescs();

}  // namespace rigwatch::host

#endif  // RIGWATCH_EXPORTERS_HOST_H_
