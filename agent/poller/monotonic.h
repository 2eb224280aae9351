// Keeps a miner's exported counters monotonic across its reboots.
//
// Miners reset their counters (shares, errors, uptime) when they restart
// (PROTOCOLS.md §5.5). A reboot is detected by the reported uptime going
// down or by any counter decreasing; each counter series then keeps an
// offset (the value it had before the reset) that is added from then on.
#ifndef RIGWATCH_AGENT_POLLER_MONOTONIC_H_
#define RIGWATCH_AGENT_POLLER_MONOTONIC_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "exporters/sample.h"

namespace rigwatch {

// One per miner. Not thread-safe.
class CounterTracker {
 public:
  // Rewrites the counter samples in `samples` in place (value + offset) and
  // returns true when a reboot was detected in this scrape. `is_counter`
  // decides which metric names are counters.
  bool Apply(Samples& samples, std::optional<double> uptime_seconds,
             bool (*is_counter)(std::string_view name));

  // Reboots detected so far (miner_restarts_detected_total).
  uint64_t restarts_detected() const { return restarts_; }

 private:
  struct Series {
    double last_raw = 0;
    double offset = 0;
  };
  static std::string Key(const Sample& s);

  std::map<std::string, Series> series_;
  std::optional<double> last_uptime_;
  uint64_t restarts_ = 0;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_MONOTONIC_H_
