// Helpers shared by the store tests: temp dirs and sample builders.
#ifndef RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
#define RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "agent/store/store.h"
#include "tests/support/files.h"

namespace rigwatch::store::testing {

using test_support::TempDir;

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
