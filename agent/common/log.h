// Structured logging: one line per event on stderr,
//   ts=2026-11-22T05:31:09.123Z level=warn event=poll_failed miner=rig-1
//   err="..."
// Values with spaces, quotes or control characters are quoted and escaped so
// a hostile string (a miner's hostname) can never forge a second line.
// Thread-safe: each line is written with one write(2).
#ifndef RIGWATCH_AGENT_COMMON_LOG_H_
#define RIGWATCH_AGENT_COMMON_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace rigwatch {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn", "error".
Result<LogLevel> ParseLogLevel(std::string_view s);
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Redirects log output to a file descriptor (default 2). For tests.
void SetLogFd(int fd);

// Builder for one log line; emitted when it goes out of scope.
//   LogEvent(LogLevel::kWarn, "poll_failed").Kv("miner", name).Kv("err", st);
class LogEvent {
 public:
  LogEvent(LogLevel level, std::string_view event);
  ~LogEvent();
  LogEvent(const LogEvent&) = delete;
  LogEvent& operator=(const LogEvent&) = delete;

  LogEvent& Kv(std::string_view key, std::string_view value);
  LogEvent& Kv(std::string_view key, const char* value) {
    return Kv(key, std::string_view(value));
  }
  LogEvent& Kv(std::string_view key, const std::string& value) {
    return Kv(key, std::string_view(value));
  }
  LogEvent& Kv(std::string_view key, int64_t value);
  LogEvent& Kv(std::string_view key, int value) {
    return Kv(key, static_cast<int64_t>(value));
  }
  LogEvent& Kv(std::string_view key, uint64_t value);
  LogEvent& Kv(std::string_view key, double value);
  LogEvent& Kv(std::string_view key, bool value);
  LogEvent& Kv(std::string_view key, const Status& status);

 private:
  bool enabled_;
  std::string line_;
};

inline LogEvent LogDebug(std::string_view e) {
  return LogEvent(LogLevel::kDebug, e);
}
inline LogEvent LogInfo(std::string_view e) {
  return LogEvent(LogLevel::kInfo, e);
}
inline LogEvent LogWarn(std::string_view e) {
  return LogEvent(LogLevel::kWarn, e);
}
inline LogEvent LogError(std::string_view e) {
  return LogEvent(LogLevel::kError, e);
}

// Appends `value` to `out`, quoted and escaped if it needs it (logfmt rules).
void AppendLogfmtValue(std::string& out, std::string_view value);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_LOG_H_
