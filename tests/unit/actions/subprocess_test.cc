#include "agent/actions/subprocess.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <thread>

namespace rigwatch::actions {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RunCommandTest, CapturesOutputAndExitCode) {
  auto r =
      RunCommand({"sh", "-c", "echo out; echo err >&2; exit 3"}, seconds(5));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->success());
  EXPECT_NE(r->output.find("out\n"), std::string::npos);
  EXPECT_NE(r->output.find("err\n"), std::string::npos);
}

TEST(RunCommandTest, ArgumentsReachTheProgramVerbatim) {
  // No shell: metacharacters are data.
  auto r = RunCommand({"echo", "a;b", "$(id)", "|", "c"}, seconds(5));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->output, "a;b $(id) | c\n");
}

TEST(RunCommandTest, TimeoutKillsTheProcessGroup) {
  auto start = std::chrono::steady_clock::now();
  // The child forks a grandchild that would keep the pipe open.
  auto r = RunCommand({"sh", "-c", "sleep 30 & sleep 30"}, milliseconds(200));
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->success());
  EXPECT_LT(took, seconds(5));
}

TEST(RunCommandTest, StopKillsTheProcessGroupAtOnce) {
  std::stop_source stop;
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  auto start = std::chrono::steady_clock::now();
  auto r = RunCommand({"sh", "-c", "sleep 60 & sleep 60"}, seconds(60), 4096,
                      stop.get_token());
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->interrupted);
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->success());
  EXPECT_LT(took, seconds(5));
}

TEST(RunCommandTest, OutputIsBounded) {
  auto r = RunCommand({"head", "-c", "100000", "/dev/zero"}, seconds(5), 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->success());
  EXPECT_EQ(r->output.size(), 1000u);
  EXPECT_TRUE(r->output_truncated);
}

TEST(RunCommandTest, MissingProgramAndEmptyArgvFail) {
  auto r = RunCommand({"/nonexistent/rigwatch-no-such-binary"}, seconds(5));
  // posix_spawnp reports the exec failure either as an error or as exit 127.
  if (r.ok()) {
    EXPECT_EQ(r->exit_code, 127);
  }
  EXPECT_FALSE(RunCommand({}, seconds(1)).ok());
}

}  // namespace
}  // namespace rigwatch::actions
