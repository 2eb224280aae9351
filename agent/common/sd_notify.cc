#include "agent/common/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

namespace rigwatch {
namespace {

// Closes a descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

bool ParseUint64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Status SdNotifyTo(std::string_view socket_name, std::string_view state,
                  bool may_block) {
  if (socket_name.empty()) {
    return InvalidArgumentError("sd_notify: empty socket name");
  }
  const bool abstract = socket_name[0] == '@';
  if (!abstract && socket_name[0] != '/') {
    return InvalidArgumentError("sd_notify: socket name \"" +
                                std::string(socket_name) +
                                "\" is neither absolute nor '@abstract'");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // A path needs room for its terminating NUL; an abstract name does not
  // have one (its leading '@' becomes the leading NUL byte).
  const size_t limit = sizeof(addr.sun_path) - (abstract ? 0 : 1);
  if (socket_name.size() > limit) {
    return InvalidArgumentError("sd_notify: socket name longer than " +
                                std::to_string(limit) + " bytes");
  }
  std::memcpy(addr.sun_path, socket_name.data(), socket_name.size());
  if (abstract) addr.sun_path[0] = '\0';
  const socklen_t addr_len =
      static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) +
                             socket_name.size() + (abstract ? 0 : 1));

  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, "sd_notify: socket");
  FdCloser closer(fd);
  ssize_t n;
  do {
    n = ::sendto(fd, state.data(), state.size(),
                 MSG_NOSIGNAL | (may_block ? 0 : MSG_DONTWAIT),
                 reinterpret_cast<const sockaddr*>(&addr), addr_len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    return UnavailableError("sd_notify: send to " + std::string(socket_name) +
                            ": " + std::strerror(err));
  }
  if (static_cast<size_t>(n) != state.size()) {
    return UnavailableError("sd_notify: short send to " +
                            std::string(socket_name));
  }
  return Status::Ok();
}

namespace {
Status SdNotifyEnv(std::string_view state, bool may_block) {
  const char* name = ::getenv("NOTIFY_SOCKET");
  if (name == nullptr || *name == '\0') return Status::Ok();
  return SdNotifyTo(name, state, may_block);
}
}  // namespace

Status SdNotify(std::string_view state) { return SdNotifyEnv(state, true); }

Status SdNotifyReady() { return SdNotify("READY=1"); }
Status SdNotifyStopping() { return SdNotify("STOPPING=1"); }
Status SdNotifyWatchdog() { return SdNotifyEnv("WATCHDOG=1", false); }

Status SdNotifyReloading() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1000000u +
                        static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  return SdNotify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

Status SdNotifyStatus(std::string_view text) {
  std::string state = "STATUS=";
  state.reserve(state.size() + text.size());
  for (char c : text) state.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return SdNotify(state);
}

std::optional<Duration> ParseWatchdogInterval(const char* usec, const char* pid,
                                              pid_t self) {
  if (usec == nullptr) return std::nullopt;
  uint64_t us = 0;
  if (!ParseUint64(usec, &us) || us == 0) return std::nullopt;
  // Nanoseconds in int64 hold ~292 years; anything beyond is nonsense.
  if (us > static_cast<uint64_t>(INT64_MAX / 1000)) return std::nullopt;
  if (pid != nullptr && *pid != '\0') {
    uint64_t p = 0;
    if (!ParseUint64(pid, &p) || p != static_cast<uint64_t>(self)) {
      return std::nullopt;  // meant for another process (e.g. our parent)
    }
  }
  return std::chrono::microseconds(static_cast<int64_t>(us));
}

std::optional<Duration> WatchdogInterval() {
  return ParseWatchdogInterval(::getenv("WATCHDOG_USEC"),
                               ::getenv("WATCHDOG_PID"), ::getpid());
}

}  // namespace rigwatch
