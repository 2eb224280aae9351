#include "agent/common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace rigwatch {
namespace {

// Captures log lines written through a pipe.
class LogCapture {
 public:
  LogCapture() {
    EXPECT_EQ(pipe(fds_), 0);
    SetLogFd(fds_[1]);
  }
  ~LogCapture() {
    SetLogFd(2);
    close(fds_[0]);
    close(fds_[1]);
  }
  std::string Read() {
    char buf[4096];
    ssize_t n = read(fds_[0], buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  int fds_[2];
};

TEST(LogTest, OneLineWithEscapedValues) {
  LogCapture cap;
  SetLogLevel(LogLevel::kInfo);
  LogWarn("poll_failed")
      .Kv("miner", "rig 1\nlevel=error event=forged")
      .Kv("n", 3)
      .Kv("ok", false);
  std::string line = cap.Read();
  EXPECT_NE(line.find(" level=warn event=poll_failed "), std::string::npos);
  EXPECT_NE(line.find("miner=\"rig 1\\nlevel=error event=forged\""),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" n=3 ok=false\n"), std::string::npos) << line;
  // Exactly one line: a hostile value cannot forge a second one.
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(LogTest, LevelFilters) {
  LogCapture cap;
  SetLogLevel(LogLevel::kWarn);
  LogInfo("hidden");
  LogError("shown");
  std::string out = cap.Read();
  SetLogLevel(LogLevel::kInfo);
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("event=shown"), std::string::npos);
}

TEST(LogTest, ParseLevel) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("loud").ok());
}

}  // namespace
}  // namespace rigwatch
