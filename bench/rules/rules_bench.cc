// One evaluation round of the shipped rule set over a fleet: 10,000 miners
// (half Bitaxe-like, half Antminer-like with three chains) plus the host,
// after an hour of 30 s rounds so the 1h windows are full. Prints:
//   rules_eval_cpu_ms_per_round <mean thread CPU time> ms
//   rules_eval_cpu_ms_per_round_max <max> ms
//   rules_eval_wall_ms_per_round <mean wall time> ms
//   rules_miners <n> miners
//   rules_series <n> series
//   rules_window_points <n> points
// Usage: rules_bench [miners] [measured_rounds]. Bounded: < 60 s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "agent/common/kv.h"
#include "agent/rules/engine.h"
#include "agent/rules/loader.h"

namespace rigwatch::rules {
namespace {

class StepClock final : public Clock {
 public:
  WallTime Now() const override { return FromUnixMillis(1767225600000) + t_; }
  SteadyTime SteadyNow() const override { return SteadyTime() + t_; }
  void Advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  std::chrono::milliseconds t_{0};
};

class CountingSink final : public TransitionSink {
 public:
  void OnTransition(const Transition& t) override {
    ++n;
    if (std::getenv("RULES_BENCH_VERBOSE") != nullptr) {
      std::fprintf(stderr, "%s %s %s>%s\n", t.rule.c_str(), t.target.c_str(),
                   std::string(LevelName(t.from)).c_str(),
                   std::string(LevelName(t.to)).c_str());
    }
  }
  size_t n = 0;
};

// CPU time of this thread: the cost of a round regardless of what else the
// machine is running.
double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

Samples BitaxeSamples(double hot) {
  return {
      {"miner_up", {{"kind", "bitaxe"}}, 1},
      {"miner_hashrate_hashes_per_second", {}, 1.1e12},
      {"miner_hashrate_average_hashes_per_second", {{"window", "1m"}}, 1.1e12},
      {"miner_hashrate_average_hashes_per_second", {{"window", "10m"}}, 1.1e12},
      {"miner_hashrate_average_hashes_per_second", {{"window", "1h"}}, 1.1e12},
      {"miner_expected_hashrate_hashes_per_second", {}, 1.2e12},
      {"miner_temperature_celsius", {{"sensor", "asic"}}, 58 + hot},
      {"miner_temperature_celsius", {{"sensor", "vr"}}, 62},
      {"miner_power_watts", {}, 15},
      {"miner_input_voltage_volts", {}, 5.1},
      {"miner_input_current_amperes", {}, 3},
      {"miner_core_voltage_volts", {{"kind", "configured"}}, 1.2},
      {"miner_core_voltage_volts", {{"kind", "measured"}}, 1.19},
      {"miner_fan_speed_rpm", {{"fan", "0"}}, 4200},
      {"miner_fan_duty_ratio", {{"fan", "0"}}, 0.6},
      {"miner_frequency_hertz", {}, 525e6},
      {"miner_shares_accepted_total", {}, 1000},
      {"miner_shares_rejected_total", {}, 3},
      {"miner_best_difficulty", {}, 1e9},
      {"miner_uptime_seconds", {}, 86400},
      {"miner_wifi_rssi_dbm", {}, -60},
      {"miner_free_heap_bytes", {{"memory", "internal"}}, 150000},
  };
}

Samples AntminerSamples(double hot) {
  Samples s = {
      {"miner_up", {{"kind", "cgminer"}}, 1},
      {"miner_hashrate_hashes_per_second", {}, 110e12},
      {"miner_hashrate_average_hashes_per_second", {{"window", "av"}}, 110e12},
      {"miner_shares_accepted_total", {}, 50000},
      {"miner_shares_rejected_total", {}, 20},
      {"miner_hardware_errors_total", {}, 7},
      {"miner_uptime_seconds", {}, 86400},
      {"miner_fan_speed_rpm", {{"fan", "1"}}, 5000},
      {"miner_fan_speed_rpm", {{"fan", "2"}}, 5100},
      {"miner_pool_up", {{"pool", "0"}}, 1},
  };
  for (int c = 0; c < 3; ++c) {
    const std::string n = std::to_string(c);
    s.push_back({"miner_temperature_celsius",
                 {{"sensor", "chain" + n + "_chip"}},
                 70 + hot});
    s.push_back({"miner_temperature_celsius",
                 {{"sensor", "chain" + n + "_board"}},
                 60});
    s.push_back(
        {"miner_chain_hashrate_hashes_per_second", {{"chain", n}}, 36e12});
    s.push_back({"miner_chain_chips", {{"chain", n}}, 76});
  }
  return s;
}

int Main(int argc, char** argv) {
  const int miners = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int measured = argc > 2 ? std::atoi(argv[2]) : 40;
  const char* dir = std::getenv("RIGWATCH_SOURCE_DIR");
  std::string path = std::string(dir ? dir : RIGWATCH_DEFAULT_SOURCE_DIR) + "/rules/default.yaml";
  Result<RuleSet> set = LoadRuleFiles({path});
  if (!set.ok()) {
    std::fprintf(stderr, "%s\n", set.status().message().c_str());
    return 1;
  }
  StepClock clock;
  MemoryKv kv;
  CountingSink sink;
  RuleEngine engine(&clock, &kv, &sink);
  if (!engine.SetRules(std::move(set).value()).ok()) return 1;

  std::vector<std::string> names;
  std::vector<std::string> kinds;
  std::vector<Samples> samples;
  for (int i = 0; i < miners; ++i) {
    const bool bitaxe = i % 2 == 0;
    // One miner in a hundred runs hot enough for a yellow.
    const double hot = i % 100 == 7 ? 15 : 0;
    names.push_back("rig-" + std::to_string(i));
    kinds.push_back(bitaxe ? "bitaxe" : "cgminer");
    samples.push_back(bitaxe ? BitaxeSamples(hot) : AntminerSamples(hot));
  }
  names.push_back("host");
  kinds.push_back("host");
  samples.push_back(
      {{"node_filesystem_avail_bytes",
        {{"device", "/dev/root"}, {"fstype", "ext4"}, {"mountpoint", "/"}},
        20e9},
       {"node_memory_MemAvailable_bytes", {}, 2e9},
       {"node_hwmon_temp_celsius",
        {{"chip", "cpu_thermal"}, {"sensor", "temp1"}},
        55}});
  std::vector<TargetSamples> round;
  for (size_t i = 0; i < names.size(); ++i) {
    round.push_back(TargetSamples{names[i], kinds[i], &samples[i]});
  }

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(50);
  uint64_t counter = 0;
  auto one_round = [&]() {
    clock.Advance(std::chrono::seconds(30));
    ++counter;
    // Counters move and hashrate wobbles, as in a live fleet.
    for (Samples& s : samples) {
      for (Sample& x : s) {
        if (x.name == "miner_shares_accepted_total") x.value += 1;
        if (x.name == "miner_hashrate_hashes_per_second") {
          x.value *= (counter % 2) ? 1.01 : 1 / 1.01;
        }
      }
    }
    const double c0 = ThreadCpuMs();
    const auto t0 = std::chrono::steady_clock::now();
    Status st = engine.Evaluate(round);
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = ThreadCpuMs();
    if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return std::pair<double, double>(
        c1 - c0, std::chrono::duration<double, std::milli>(t1 - t0).count());
  };
  // An hour and a bit of history first, so 1h windows are full.
  int warm = 0;
  for (; warm < 125 && std::chrono::steady_clock::now() < deadline; ++warm) {
    one_round();
  }
  double cpu_sum = 0, cpu_max = 0, wall_sum = 0;
  int n = 0;
  for (; n < measured && std::chrono::steady_clock::now() < deadline; ++n) {
    auto [cpu, wall] = one_round();
    cpu_sum += cpu;
    cpu_max = std::max(cpu_max, cpu);
    wall_sum += wall;
  }
  if (n == 0 || warm < 125) {
    std::fprintf(stderr, "time budget exhausted during warm-up\n");
    return 1;
  }
  std::printf("rules_eval_cpu_ms_per_round %.2f ms\n", cpu_sum / n);
  std::printf("rules_eval_cpu_ms_per_round_max %.2f ms\n", cpu_max);
  std::printf("rules_eval_wall_ms_per_round %.2f ms\n", wall_sum / n);
  std::printf("rules_miners %d miners\n", miners);
  std::printf("rules_series %zu series\n", engine.SeriesCount());
  std::printf("rules_window_points %zu points\n", engine.WindowPoints());
  std::printf("rules_transitions %zu transitions\n", sink.n);
  return 0;
}

}  // namespace
}  // namespace rigwatch::rules

int main(int argc, char** argv) { return rigwatch::rules::Main(argc, argv); }
