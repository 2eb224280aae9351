// /metrics render cost at fleet scale: rigwatch's latest-value table against
// a prometheus-cpp baseline (one Gauge per series), same series, same run.
// Prints: name value unit, one per line.
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/http/server.h"
#include "agent/live_state/live_state.h"
#include "exporters/registry.h"

namespace {

// Thread CPU time: on a shared machine wall time also counts the time other
// processes held the core.
double CpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

long RssKb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (f && std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  }
  if (f) std::fclose(f);
  return kb;
}

// 25 series per miner, shaped like a cgminer/bitaxe poll.
rigwatch::Samples MinerSamples(int i) {
  rigwatch::Samples s;
  double base = 1e12 + i;
  s.push_back({"miner_up", {{"kind", i % 2 ? "bitaxe" : "cgminer"}}, 1});
  s.push_back({"miner_info",
               {{"kind", i % 2 ? "bitaxe" : "cgminer"},
                {"model", "BM1370"},
                {"firmware", "v2.12.0"},
                {"hostname", "bitaxe-" + std::to_string(i)}},
               1});
  s.push_back({"miner_hashrate_hashes_per_second", {}, base * 1.01});
  s.push_back({"miner_expected_hashrate_hashes_per_second", {}, base});
  for (const char* sensor : {"asic", "asic2", "vr", "board", "chip"}) {
    s.push_back(
        {"miner_temperature_celsius", {{"sensor", sensor}}, 55.25 + i % 7});
  }
  s.push_back({"miner_power_watts", {}, 15.125});
  s.push_back({"miner_input_voltage_volts", {}, 5.1});
  s.push_back({"miner_input_current_amperes", {}, 2.97});
  s.push_back({"miner_fan_speed_rpm", {{"fan", "1"}}, 4200});
  s.push_back({"miner_fan_speed_rpm", {{"fan", "2"}}, 4150});
  s.push_back({"miner_frequency_hertz", {}, 525e6});
  s.push_back({"miner_shares_accepted_total", {}, 12345.0 + i});
  s.push_back({"miner_shares_rejected_total", {}, 12});
  s.push_back({"miner_hardware_errors_total", {}, 3});
  s.push_back({"miner_best_difficulty", {}, 4.29e9});
  s.push_back({"miner_uptime_seconds", {}, 86400.0 + i});
  s.push_back({"miner_pool_up", {{"pool", "0"}}, 1});
  s.push_back({"miner_pool_up", {{"pool", "1"}}, 0});
  s.push_back({"miner_last_success_timestamp_seconds", {}, 1.7e9});
  s.push_back({"miner_pool_difficulty", {}, 1000});
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int miners = argc > 1 ? std::atoi(argv[1]) : 10000;
  int reps = argc > 2 ? std::atoi(argv[2]) : 5;

  long rss0 = RssKb();
  rigwatch::LiveState live({rigwatch::MinerMetricDescs()});
  size_t series = 0;
  for (int i = 0; i < miners; ++i) {
    rigwatch::Samples s = MinerSamples(i);
    series += s.size();
    live.Update("rig-" + std::to_string(i), "miner", s);
  }
  long rss_live = RssKb() - rss0;

  std::string out;
  double best_live = 1e18, best_live_wall = 1e18;
  for (int r = 0; r < reps; ++r) {
    out.clear();
    auto w0 = std::chrono::steady_clock::now();
    double t0 = CpuNs();
    live.Render(&out);
    double ns = CpuNs() - t0;
    best_live_wall =
        std::min(best_live_wall, std::chrono::duration<double, std::nano>(
                                     std::chrono::steady_clock::now() - w0)
                                     .count());
    best_live = std::min(best_live, ns);
  }
  double tz = CpuNs();
  auto zipped = rigwatch::Gzip(out, 1);
  double gz_ms = (CpuNs() - tz) / 1e6;

  // Baseline: one prometheus-cpp Gauge per series.
  long rss1 = RssKb();
  auto registry = std::make_shared<prometheus::Registry>();
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> fams;
  for (int i = 0; i < miners; ++i) {
    for (const rigwatch::Sample& s : MinerSamples(i)) {
      auto& fam = fams[s.name];
      if (!fam)
        fam = &prometheus::BuildGauge().Name(s.name).Help("h").Register(
            *registry);
      std::map<std::string, std::string> labels{
          {"miner", "rig-" + std::to_string(i)}};
      for (const auto& l : s.labels) labels[l.name] = l.value;
      fam->Add(labels).Set(s.value);
    }
  }
  long rss_pcpp = RssKb() - rss1;
  prometheus::TextSerializer ser;
  double best_pcpp = 1e18;
  for (int r = 0; r < std::max(1, reps / 2); ++r) {
    double t0 = CpuNs();
    std::string text = ser.Serialize(registry->Collect());
    double ns = CpuNs() - t0;
    best_pcpp = std::min(best_pcpp, ns);
  }

  std::printf("metrics_render_miners %d count\n", miners);
  std::printf("metrics_render_series %zu count\n", series);
  std::printf("metrics_render_bytes %zu bytes\n", out.size());
  std::printf("metrics_render_ns_per_series %.1f ns\n", best_live / series);
  std::printf("metrics_render_total_cpu %.2f ms\n", best_live / 1e6);
  std::printf("metrics_render_total_wall %.2f ms\n", best_live_wall / 1e6);
  std::printf("metrics_render_gzip1_cpu %.2f ms\n", gz_ms);
  std::printf("metrics_render_gzip1_bytes %zu bytes\n",
              zipped.ok() ? zipped->size() : 0);
  std::printf("metrics_livestate_rss %.1f MB\n", rss_live / 1024.0);
  std::printf("metrics_promcpp_ns_per_series %.1f ns\n", best_pcpp / series);
  std::printf("metrics_promcpp_rss %.1f MB\n", rss_pcpp / 1024.0);
  std::printf("metrics_render_speedup_vs_promcpp %.1f x\n",
              best_pcpp / best_live);
  return 0;
}
