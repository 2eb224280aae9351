#include "agent/common/log.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "agent/common/rfc3339.h"

namespace rigwatch {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_fd{2};

std::string_view LogLevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return InvalidArgumentError("unknown log level \"" + std::string(s) +
                              "\" (allowed: debug, info, warn, error)");
}

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }
void SetLogFd(int fd) { g_fd = fd; }

void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool needs_quotes = v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) {
    out += v;
    return;
  }
  out += '"';
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

LogEvent::LogEvent(LogLevel level, std::string_view event)
    : enabled_(static_cast<int>(level) >= g_level.load()) {
  if (!enabled_) return;
  line_.reserve(160);
  line_ += "ts=";
  line_ += FormatRfc3339(std::chrono::system_clock::now());
  line_ += " level=";
  line_ += LogLevelName(level);
  line_ += " event=";
  AppendLogfmtValue(line_, event);
}

LogEvent::~LogEvent() {
  if (!enabled_) return;
  line_ += '\n';
  const char* p = line_.data();
  size_t left = line_.size();
  while (left > 0) {
    ssize_t n = ::write(g_fd.load(), p, left);
    if (n <= 0) break;  // Nowhere left to report a failing stderr.
    p += n;
    left -= static_cast<size_t>(n);
  }
}

LogEvent& LogEvent::Kv(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  line_ += ' ';
  line_ += key;
  line_ += '=';
  AppendLogfmtValue(line_, value);
  return *this;
}

LogEvent& LogEvent::Kv(std::string_view key, int64_t value) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return Kv(key, std::string_view(buf, r.ptr - buf));
}

LogEvent& LogEvent::Kv(std::string_view key, uint64_t value) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return Kv(key, std::string_view(buf, r.ptr - buf));
}

LogEvent& LogEvent::Kv(std::string_view key, double value) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return Kv(key, std::string_view(buf, r.ptr - buf));
}

LogEvent& LogEvent::Kv(std::string_view key, bool value) {
  return Kv(key, std::string_view(value ? "true" : "false"));
}

LogEvent& LogEvent::Kv(std::string_view key, const Status& status) {
  if (status.ok()) return Kv(key, std::string_view("ok"));
  return Kv(key, status.ToString());
}

}  // namespace rigwatch
