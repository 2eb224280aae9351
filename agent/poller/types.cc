#include "agent/poller/types.h"

namespace rigwatch {

std::string FormatHostPort(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  out.append(":").append(std::to_string(port));
  return out;
}

Status ValidatePollerOptions(const PollerOptions& o) {
  using std::chrono::milliseconds;
  if (o.interval < milliseconds(10)) {
    return InvalidArgumentError("poller: interval must be at least 10ms");
  }
  if (o.timeout <= Duration(0) || o.timeout >= o.interval) {
    return InvalidArgumentError(
        "poller: timeout must be positive and shorter than interval");
  }
  if (o.connect_timeout <= Duration(0) || o.first_byte_timeout <= Duration(0)) {
    return InvalidArgumentError(
        "poller: connect_timeout and first_byte_timeout must be positive");
  }
  if (o.max_response_bytes == 0) {
    return InvalidArgumentError("poller: max_response_bytes must be > 0");
  }
  if (o.backoff_base <= Duration(0) || o.backoff_cap < o.backoff_base) {
    return InvalidArgumentError(
        "poller: backoff_base must be positive and <= backoff_cap");
  }
  if (o.breaker_failures < 1 || o.breaker_open <= Duration(0)) {
    return InvalidArgumentError(
        "poller: breaker_failures must be >= 1 and breaker_open positive");
  }
  if (!(o.jitter >= 0.0 && o.jitter <= 0.5)) {
    return InvalidArgumentError("poller: jitter must be within [0, 0.5]");
  }
  if (o.max_hosts_per_curl_multi == 0) {
    return InvalidArgumentError("poller: max_hosts_per_curl_multi must be > 0");
  }
  return Status::Ok();
}

std::string_view PollResultName(PollResult r) {
  switch (r) {
    case PollResult::kOk:
      return "ok";
    case PollResult::kTimeout:
      return "timeout";
    case PollResult::kRefused:
      return "refused";
    case PollResult::kDns:
      return "dns";
    case PollResult::kHttpError:
      return "http_error";
    case PollResult::kParseError:
      return "parse_error";
    case PollResult::kDenied:
      return "denied";
  }
  return "unknown";
}

}  // namespace rigwatch
