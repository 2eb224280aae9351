// Measures host::Exporter::Collect() on this machine's own /proc and /sys.
// Prints `name value unit` lines. Bounded: at most 2000 scrapes or 10 s.
//   host_collect_timing [root]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "exporters/host.h"

int main(int argc, char** argv) {
  rigwatch::host::Options opts;
  if (argc > 1) opts.root = argv[1];
  rigwatch::host::Exporter exporter(std::move(opts));
  (void)exporter.Collect();  // warm the buffers
  std::vector<double> us;
  size_t samples = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (us.size() < 2000 && std::chrono::steady_clock::now() < end) {
    const auto t0 = std::chrono::steady_clock::now();
    rigwatch::host::Scrape s = exporter.Collect();
    const std::chrono::duration<double, std::micro> d =
        std::chrono::steady_clock::now() - t0;
    us.push_back(d.count());
    samples = s.samples.size();
  }
  std::sort(us.begin(), us.end());
  std::printf("host_collect_scrapes %zu count\n", us.size());
  std::printf("host_collect_samples %zu count\n", samples);
  std::printf("host_collect_p50 %.1f us\n", us[us.size() / 2]);
  std::printf("host_collect_p99 %.1f us\n", us[us.size() * 99 / 100]);
  return 0;
}
