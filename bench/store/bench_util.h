// Shared by the store benches: temp dirs, flags, a realistic miner poll.
#ifndef RIGWATCH_BENCH_STORE_BENCH_UTIL_H_
#define RIGWATCH_BENCH_STORE_BENCH_UTIL_H_

#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "exporters/sample.h"

namespace rigwatch::bench {

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/rigwatch-bench-XXXXXX";
    if (!mkdtemp(t)) std::abort();
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const char* n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

// --name=value from argv, or the default.
inline long Flag(int argc, char** argv, const char* name, long def) {
  size_t n = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) == 0 &&
        std::strncmp(argv[i] + 2, name, n) == 0 && argv[i][2 + n] == '=') {
      return std::strtol(argv[i] + 3 + n, nullptr, 10);
    }
  }
  return def;
}

inline double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

// Deterministic noise.
class Rng {
 public:
  explicit Rng(uint64_t seed) : x_(seed * 2654435761u + 88172645463325252ull) {}
  uint64_t Next() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return x_;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Noise(double amp) { return (Uniform() - 0.5) * 2 * amp; }

 private:
  uint64_t x_;
};

// One target's 25 values, shaped like what the exporters emit for an
// AxeOS/CGMiner miner: full-precision hashrates, float32 readings
// (power/voltage/current as the firmware sends them), 0.25 °C temperatures,
// integer fans, counters, and constants (frequency, difficulty, ...).
class MinerStream {
 public:
  explicit MinerStream(uint64_t seed) : rng_(seed) {
    for (int i = 0; i < 25; ++i) {
      samples_.push_back({"miner_metric_" + std::to_string(i), {}, 0});
    }
    samples_[5].labels = {{"sensor", "asic"}};
    samples_[6].labels = {{"sensor", "vr"}};
    samples_[9].labels = {{"fan", "0"}};
    samples_[10].labels = {{"fan", "1"}};
  }
  const Samples& Next() {
    ++n_;
    double h = 480 + rng_.Noise(25);
    samples_[0].value = h;                         // hashrate now
    samples_[1].value = h * 0.98 + rng_.Noise(2);  // 10m
    samples_[2].value = 481.2 + rng_.Noise(1);     // 1h average
    samples_[3].value = static_cast<float>(14.3 + rng_.Noise(0.4));   // watts
    samples_[4].value = static_cast<float>(5.05 + rng_.Noise(0.02));  // volts
    samples_[5].value = std::round((58 + rng_.Noise(1.5)) * 4) / 4;   // °C
    samples_[6].value = std::round((47 + rng_.Noise(1.0)) * 4) / 4;
    samples_[7].value = static_cast<float>(2.83 + rng_.Noise(0.05));  // amps
    samples_[8].value = 1200;                               // core mV setting
    samples_[9].value = std::round(4800 + rng_.Noise(60));  // rpm
    samples_[10].value = std::round(4750 + rng_.Noise(60));
    samples_[11].value = 525;  // MHz
    if (rng_.Uniform() < 0.6) accepted_ += 1 + (rng_.Next() % 3);
    samples_[12].value = accepted_;
    if (rng_.Uniform() < 0.01) rejected_ += 1;
    samples_[13].value = rejected_;
    samples_[14].value = 10.0 * n_;  // uptime seconds
    if (rng_.Uniform() < 0.002) best_ = 1e9 * (1 + rng_.Uniform());
    samples_[15].value = std::round(best_);
    samples_[16].value = 1000;                             // pool difficulty
    samples_[17].value = std::round(-60 + rng_.Noise(4));  // rssi
    samples_[18].value = std::round(150000 + rng_.Noise(2000));  // heap
    samples_[19].value = 1;                                      // up
    samples_[20].value = 1;  // pool connected
    samples_[21].value = static_cast<float>(1.19 + rng_.Noise(0.005));
    samples_[22].value = std::round(70 + rng_.Noise(3));  // fan %
    samples_[23].value = 0;                               // errors
    samples_[24].value = static_cast<float>(h / 14.3);    // J/TH-ish
    return samples_;
  }

 private:
  Rng rng_;
  Samples samples_;
  uint64_t n_ = 0;
  double accepted_ = 0, rejected_ = 0, best_ = 5e8;
};

}  // namespace rigwatch::bench

#endif  // RIGWATCH_BENCH_STORE_BENCH_UTIL_H_
