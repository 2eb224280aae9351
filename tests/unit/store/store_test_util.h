// Helpers shared by the store tests: temp dirs and sample builders.
#ifndef RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
#define RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/log.h"
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

// Agent log lines written while this lives (to a file in `dir`), back to
// stderr when it goes.
class LogCapture {
 public:
  explicit LogCapture(const std::string& dir) : path_(dir + "/log") {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    SetLogFd(fd_);
  }
  ~LogCapture() {
    SetLogFd(2);
    close(fd_);
  }
  std::vector<std::string> Lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  // Lines holding `needle`.
  std::vector<std::string> Grep(std::string_view needle) const {
    std::vector<std::string> out;
    for (std::string& l : Lines()) {
      if (l.find(needle) != std::string::npos) out.push_back(std::move(l));
    }
    return out;
  }

 private:
  std::string path_;
  int fd_;
};

}  // namespace rigwatch::store::testing

#endif  // RIGWATCH_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
