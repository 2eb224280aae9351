// The host exporter: node_exporter's names and labels for the subset rigwatch
// covers (CPU, load, memory, filesystems, network, hwmon and thermal zones,
// boot time, time, uname). Files are read below a configurable root so tests
// point it at tests/fixtures/host/; parsers are pure functions of file
// contents (host_parsers.h) and are tested from literal strings.
#ifndef RIGWATCH_EXPORTERS_HOST_H_
#define RIGWATCH_EXPORTERS_HOST_H_

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch::host {

struct Options {
  std::string root = "/";                   // prefix for /proc, /sys, /etc
  std::vector<std::string> filesystems = {"/"};  // mountpoints to report
  // statvfs runs on a helper thread and is abandoned after this long, so a
  // hung NFS mount cannot hang a scrape.
  std::chrono::milliseconds statfs_timeout{1000};
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

  // Runs every collector. A failing collector yields success=false and no
  // samples of its own; it never fails the whole scrape. Not thread-safe:
  // call from one thread.
  Scrape Collect();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The descriptor table of every node_* series this exporter may emit.
std::span<const MetricDesc> MetricDescs();

}  // namespace rigwatch::host

#endif  // RIGWATCH_EXPORTERS_HOST_H_
