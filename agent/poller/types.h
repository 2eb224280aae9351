// The poller's vocabulary: what to poll (MinerTarget), how (PollerOptions),
// what came of it (PollReport, RoundReport) and who hears about it (PollSink).
#ifndef RIGWATCH_AGENT_POLLER_TYPES_H_
#define RIGWATCH_AGENT_POLLER_TYPES_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch {

// One configured miner. `port` 0 means the exporter's DefaultPort().
struct MinerTarget {
  std::string name;  // unique; the `miner` label
  std::string kind;  // exporter key ("bitaxe", "cgminer")
  std::string host;  // name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;
  // The web side (Request::Side::kWeb); 0 means Exporter::DefaultHttpPort().
  uint16_t http_port = 0;
  // Config `auth:`. Empty password_file: the vendor's default login. The
  // password is read from the file for each authenticated exchange, so it
  // never sits in the target list and is never logged.
  std::string username;
  std::string password_file;
  friend bool operator==(const MinerTarget&, const MinerTarget&) = default;
};

// "host:port" with IPv6 in brackets, for messages.
std::string FormatHostPort(std::string_view host, uint16_t port);

// Transport and scheduling knobs; the integrator maps config `scrape:` here.
// Timeouts nest: connect_timeout and first_byte_timeout bound one exchange
// and are cut to whatever is left of `timeout`, the bound of a whole poll.
struct PollerOptions {
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(5);
  Duration connect_timeout = std::chrono::seconds(2);
  Duration first_byte_timeout = std::chrono::seconds(4);
  size_t max_response_bytes = 1 << 20;
  Duration backoff_base = std::chrono::milliseconds(500);
  Duration backoff_cap = std::chrono::minutes(5);
  int breaker_failures = 10;
  Duration breaker_open = std::chrono::minutes(5);
  // Random spread added to schedule slots and backoff delays, as a fraction
  // of the interval (slots) or of the delay (backoff). 0 disables it.
  double jitter = 0.1;
  // Hosts per libcurl multi handle; more hosts get another multi handle
  // (libcurl's per-multi hash tables slow down past ~1-2k hosts).
  size_t max_hosts_per_curl_multi = 1000;
};

// Returns an error naming the first bad field (non-positive interval, a
// timeout not shorter than the interval, jitter outside [0,0.5], ...).
Status ValidatePollerOptions(const PollerOptions& opts);

// How a poll ended. A fixed set: it is the `result` label of
// rigwatch_poll_total.
enum class PollResult {
  kOk,
  kTimeout,     // connect, first byte or total deadline passed
  kRefused,     // connection refused, reset or unreachable
  kDns,         // the host name did not resolve
  kHttpError,   // HTTP status >= 400 (other than 401/403), bad HTTP
  kParseError,  // reply not parseable, truncated or over the size cap
  kDenied,      // 401/403, cgminer Code 45, or cgminer closing with 0 bytes
};
inline constexpr int kPollResultCount = 7;
std::string_view PollResultName(PollResult r);  // "ok", "timeout", ...

// One report per poll of one miner, or per schedule slot in which the miner
// was not polled (backing off or circuit open: `attempted` false).
struct PollReport {
  MinerTarget target;
  WallTime time;  // when the poll started (or the slot passed)
  bool attempted = true;
  // For a skipped slot: the result of the last attempted poll.
  PollResult result = PollResult::kOk;
  Status error;          // ok iff result is kOk; has target context
  Duration duration{0};  // wall time of the poll's exchanges
  bool circuit_open = false;
  // Everything to publish for this miner, replacing what was published
  // before: the exporter's samples (counters made monotonic across miner
  // reboots) plus miner_up, miner_info, miner_last_success_timestamp_seconds,
  // miner_restarts_detected_total and rigwatch_circuit_open. No `miner`
  // label (sample.h).
  Samples samples;
};

// Once per interval: how the fleet did in the interval that just ended.
struct RoundReport {
  WallTime time;
  int targets = 0;  // configured miners
  int ok = 0;       // last poll in the round succeeded
  int failed = 0;   // last poll failed, or not polled (backoff/breaker)
  int pending = 0;  // not polled yet (just added)
  int circuit_open = 0;
};

// Receives the poller's output. Called on the poller thread, one call at a
// time; implementations must not block (queue and return).
class PollSink {
 public:
  virtual ~PollSink() = default;
  virtual void OnPoll(const PollReport& report) = 0;
  virtual void OnRound(const RoundReport& report) = 0;
  // The miner left the configuration: drop its series.
  virtual void OnRemoved(const MinerTarget& target) = 0;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_TYPES_H_
