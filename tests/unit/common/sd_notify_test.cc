#include "agent/common/sd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

namespace rigwatch {
namespace {

// A real datagram socket standing in for the service manager: bound to a
// path in a fresh temp dir, or to an abstract name.
class NotifyListener {
 public:
  explicit NotifyListener(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len;
    if (abstract) {
      name_ = "@rigwatch-sd-test-" + std::to_string(::getpid());
      std::memcpy(addr.sun_path, name_.data(), name_.size());
      addr.sun_path[0] = '\0';
      len = offsetof(sockaddr_un, sun_path) + name_.size();
    } else {
      char dir[] = "/tmp/rigwatch-sd-XXXXXX";
      EXPECT_NE(::mkdtemp(dir), nullptr);
      dir_ = dir;
      name_ = dir_ + "/notify";
      std::memcpy(addr.sun_path, name_.c_str(), name_.size() + 1);
      len = offsetof(sockaddr_un, sun_path) + name_.size() + 1;
    }
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0)
        << std::strerror(errno);
  }
  ~NotifyListener() {
    ::close(fd_);
    if (!dir_.empty()) {
      ::unlink(name_.c_str());
      ::rmdir(dir_.c_str());
    }
  }
  const std::string& name() const { return name_; }

  // The next datagram, or nullopt when none arrives within 2 s.
  std::optional<std::string> Receive() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  // True when a datagram is waiting right now.
  bool Pending() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
  std::string dir_;
  std::string name_;
};

// Sets an environment variable for one test and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = ::getenv(name);
    if (old != nullptr) old_ = old;
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(SdNotifyTest, SendsToPathSocket) {
  NotifyListener l(/*abstract=*/false);
  ASSERT_TRUE(SdNotifyTo(l.name(), "READY=1").ok());
  EXPECT_EQ(l.Receive(), "READY=1");
}

TEST(SdNotifyTest, SendsToAbstractSocket) {
  NotifyListener l(/*abstract=*/true);
  ASSERT_TRUE(SdNotifyTo(l.name(), "WATCHDOG=1").ok());
  EXPECT_EQ(l.Receive(), "WATCHDOG=1");
}

TEST(SdNotifyTest, HelpersUseNotifySocketFromEnvironment) {
  NotifyListener l(/*abstract=*/false);
  ScopedEnv env("NOTIFY_SOCKET", l.name().c_str());
  ASSERT_TRUE(SdNotifyReady().ok());
  EXPECT_EQ(l.Receive(), "READY=1");
  ASSERT_TRUE(SdNotifyWatchdog().ok());
  EXPECT_EQ(l.Receive(), "WATCHDOG=1");
  ASSERT_TRUE(SdNotifyStopping().ok());
  EXPECT_EQ(l.Receive(), "STOPPING=1");
  ASSERT_TRUE(SdNotifyStatus("polling 20 miners\nREADY=1").ok());
  EXPECT_EQ(l.Receive(), "STATUS=polling 20 miners READY=1");
  ASSERT_TRUE(SdNotifyReloading().ok());
  const std::optional<std::string> reload = l.Receive();
  ASSERT_TRUE(reload.has_value());
  EXPECT_EQ(reload->rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << *reload;
  EXPECT_GT(reload->size(), std::strlen("RELOADING=1\nMONOTONIC_USEC="));
}

TEST(SdNotifyTest, AWatchdogPingNeverWaitsForAFullQueue) {
  NotifyListener l(/*abstract=*/false);
  ScopedEnv env("NOTIFY_SOCKET", l.name().c_str());
  // Nobody reads: the queue fills (net.unix.max_dgram_qlen, 10 by default).
  // A blocking send would wait here and deliver its stale ping later.
  const auto t0 = std::chrono::steady_clock::now();
  int dropped = 0;
  for (int i = 0; i < 2000 && dropped == 0; ++i) {
    if (!SdNotifyWatchdog().ok()) ++dropped;
  }
  EXPECT_EQ(dropped, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(SdNotifyTest, NoSocketIsANoOp) {
  ScopedEnv env("NOTIFY_SOCKET", nullptr);
  EXPECT_TRUE(SdNotifyReady().ok());
  ScopedEnv empty("NOTIFY_SOCKET", "");
  EXPECT_TRUE(SdNotifyReady().ok());
}

TEST(SdNotifyTest, BadSocketNamesAreInvalidArgument) {
  EXPECT_EQ(SdNotifyTo("", "READY=1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SdNotifyTo("relative/path", "READY=1").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SdNotifyTo("/" + std::string(200, 'x'), "READY=1").code(),
            StatusCode::kInvalidArgument);
}

TEST(SdNotifyTest, MissingListenerIsUnavailable) {
  NotifyListener l(/*abstract=*/false);
  const std::string gone = l.name() + "-absent";
  const Status st = SdNotifyTo(gone, "READY=1");
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_FALSE(l.Pending());
}

TEST(WatchdogIntervalTest, ParsesMicroseconds) {
  EXPECT_EQ(ParseWatchdogInterval("30000000", nullptr, 42),
            std::optional<Duration>(std::chrono::seconds(30)));
  EXPECT_EQ(ParseWatchdogInterval("1500", "42", 42),
            std::optional<Duration>(std::chrono::microseconds(1500)));
}

TEST(WatchdogIntervalTest, DisabledCases) {
  EXPECT_EQ(ParseWatchdogInterval(nullptr, nullptr, 42), std::nullopt);
  EXPECT_EQ(ParseWatchdogInterval("", nullptr, 42), std::nullopt);
  EXPECT_EQ(ParseWatchdogInterval("0", nullptr, 42), std::nullopt);
  EXPECT_EQ(ParseWatchdogInterval("30s", nullptr, 42), std::nullopt);
  EXPECT_EQ(ParseWatchdogInterval("-5", nullptr, 42), std::nullopt);
  EXPECT_EQ(ParseWatchdogInterval("99999999999999999999", nullptr, 42),
            std::nullopt);
  // Meant for another process.
  EXPECT_EQ(ParseWatchdogInterval("30000000", "41", 42), std::nullopt);
  EXPECT_EQ(ParseWatchdogInterval("30000000", "x", 42), std::nullopt);
}

TEST(WatchdogIntervalTest, ReadsEnvironmentForThisProcess) {
  ScopedEnv usec("WATCHDOG_USEC", "2000000");
  const std::string self = std::to_string(::getpid());
  ScopedEnv pid("WATCHDOG_PID", self.c_str());
  EXPECT_EQ(WatchdogInterval(),
            std::optional<Duration>(std::chrono::seconds(2)));
}

}  // namespace
}  // namespace rigwatch
