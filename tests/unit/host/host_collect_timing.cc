// Measures host::Exporter::Collect() on a root (default "/": this machine's
// own /proc and /sys). Prints `name value unit` lines. Bounded: at most 2000
// scrapes or 10 s.
//   host_collect_timing [root]
//   host_collect_timing --dump [root]   one scrape as `name{labels} value`
//                                      lines, to diff against node_exporter
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "exporters/host.h"

namespace {

void Dump(const rigwatch::host::Scrape& s) {
  for (const rigwatch::Sample& x : s.samples) {
    std::string line = x.name;
    if (!x.labels.empty()) {
      line += '{';
      for (size_t i = 0; i < x.labels.size(); ++i) {
        if (i > 0) line += ',';
        line += x.labels[i].name + "=\"" + x.labels[i].value + "\"";
      }
      line += '}';
    }
    std::printf("%s %.17g\n", line.c_str(), x.value);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool dump = argc > 1 && std::strcmp(argv[1], "--dump") == 0;
  rigwatch::host::Options opts;
  if (argc > (dump ? 2 : 1)) opts.root = argv[dump ? 2 : 1];
  rigwatch::host::Exporter exporter(std::move(opts));
  if (dump) {
    Dump(exporter.Collect());
    return 0;
  }
  (void)exporter.Collect();  // warm the buffers
  std::vector<double> us;
  size_t samples = 0;
  std::map<std::string, std::vector<double>> per_collector;  // microseconds
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (us.size() < 2000 && std::chrono::steady_clock::now() < end) {
    const auto t0 = std::chrono::steady_clock::now();
    rigwatch::host::Scrape s = exporter.Collect();
    const std::chrono::duration<double, std::micro> d =
        std::chrono::steady_clock::now() - t0;
    us.push_back(d.count());
    samples = s.samples.size();
    for (const rigwatch::host::CollectorOutcome& o : s.collectors) {
      per_collector[o.name].push_back(o.duration_seconds * 1e6);
    }
  }
  std::sort(us.begin(), us.end());
  std::printf("host_collect_scrapes %zu count\n", us.size());
  std::printf("host_collect_samples %zu count\n", samples);
  std::printf("host_collect_p50 %.1f us\n", us[us.size() / 2]);
  std::printf("host_collect_p99 %.1f us\n", us[us.size() * 99 / 100]);
  for (auto& [name, v] : per_collector) {
    std::sort(v.begin(), v.end());
    std::printf("host_collector_%s_p50 %.1f us\n", name.c_str(),
                v[v.size() / 2]);
  }
  return 0;
}
