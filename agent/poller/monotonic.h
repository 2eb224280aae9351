// Keeps a miner's exported counters monotonic across its reboots.
//
// Miners reset their counters (shares, errors, uptime) when they restart
// (PROTOCOLS.md §5.5). A reboot is detected by the reported uptime going
// down or by any counter decreasing; each counter series then keeps an
// offset (the value it had before the reset) that is added from then on.
//
// Raw values are not trusted (docs/operations.md "Caps on what miners send"): a
// negative or non-finite counter, one above kMaxCounterRaw, or one that grew
// faster than kMaxCounterRatePerSecond since that series' last accepted value
// is dropped from the poll and counted by reason; it neither reaches /metrics
// nor counts as a reboot, and the next plausible value continues the series.
#ifndef RIGWATCH_AGENT_POLLER_MONOTONIC_H_
#define RIGWATCH_AGENT_POLLER_MONOTONIC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "exporters/sample.h"

namespace rigwatch {

// 2^53: past it a double no longer holds every integer, and no miner counts
// that many shares or errors.
inline constexpr double kMaxCounterRaw = 9007199254740992.0;
// The fastest any miner counter may grow (shares, errors, blocks).
inline constexpr double kMaxCounterRatePerSecond = 10000.0;

// One per miner. Not thread-safe.
class CounterTracker {
 public:
  // Rewrites the counter samples in `samples` in place (value + offset) and
  // returns true when a reboot was detected in this scrape. `is_counter`
  // decides which metric names are counters. `now_seconds` is the poll's
  // time on a monotonic clock (for the growth bound; nullopt skips it).
  // Implausible counter samples are removed from `samples`.
  bool Apply(Samples& samples, std::optional<double> uptime_seconds,
             bool (*is_counter)(std::string_view name),
             std::optional<double> now_seconds = std::nullopt);

  // Counter samples dropped so far, by reason: "negative" (also NaN/inf),
  // "out_of_range" (> kMaxCounterRaw), "implausible_jump".
  // The poller adds its own reasons here ("label_truncated", "info_churn"),
  // so a miner's rejections are exported from one place.
  const std::map<std::string, uint64_t>& rejected() const { return rejected_; }
  void CountRejected(const std::string& reason, uint64_t n = 1) {
    if (n > 0) rejected_[reason] += n;
  }

  // Reboots detected so far (miner_restarts_detected_total).
  uint64_t restarts_detected() const { return restarts_; }

 private:
  struct Series {
    double last_raw = 0;
    double offset = 0;
    std::optional<double> last_seconds;  // when last_raw was accepted
  };
  // The reason `s` is not plausible, or nullptr.
  const char* Implausible(const Sample& s, std::optional<double> now_seconds,
                          bool uptime_went_down) const;
  static std::string Key(const Sample& s);

  std::map<std::string, Series> series_;
  std::optional<double> last_uptime_;
  uint64_t restarts_ = 0;
  std::map<std::string, uint64_t> rejected_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_MONOTONIC_H_
