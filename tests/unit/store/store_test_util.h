// Helpers shared by the store tests: temp dirs and sample builders.
#ifndef RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
#define RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "agent/store/store.h"

namespace rigwatch::store::testing {

// A fresh directory under /tmp, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/rigwatch-store-XXXXXX";
    char* p = mkdtemp(tmpl);
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// 2026-01-01T00:00:00Z, FakeClock's start.
inline WallTime Epoch() { return FromUnixMillis(1767225600000); }
inline WallTime At(int64_t seconds) {
  return Epoch() + std::chrono::seconds(seconds);
}

// A miner's poll: hashrate, temperature, a labelled fan and a counter.
inline Samples MinerPoll(double hashrate, double temp, double fan,
                         double shares) {
  return {
      {"miner_hashrate_hashes_per_second", {}, hashrate},
      {"miner_temperature_celsius", {{"sensor", "chip"}}, temp},
      {"miner_fan_speed_rpm", {{"fan", "0"}, {"board", "a"}}, fan},
      {"miner_shares_accepted_total", {}, shares},
  };
}

}  // namespace rigwatch::store::testing

#endif  // RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
