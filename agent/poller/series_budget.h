// Bounds the number of live series one miner can have. A series is live
// while the miner reported it within kSeriesIdleForget; a poll that would
// take a miner past kMaxSeriesPerMiner live series loses the new series
// (counted), the known ones are kept. Labels that change on every poll can
// then not grow the store, /metrics or the poller's own maps without bound
// (docs/operations.md "Caps on what miners send").
#ifndef RIGWATCH_AGENT_POLLER_SERIES_BUDGET_H_
#define RIGWATCH_AGENT_POLLER_SERIES_BUDGET_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

#include "agent/common/clock.h"
#include "exporters/sample.h"

namespace rigwatch {

inline constexpr size_t kMaxSeriesPerMiner = 1000;
inline constexpr std::chrono::hours kSeriesIdleForget{1};

// name and labels of `s` as one map key.
std::string SeriesKey(const Sample& s);

// One per miner. Not thread-safe.
class SeriesBudget {
 public:
  // Removes from `samples` the series that are new and do not fit; returns
  // how many were removed.
  size_t Apply(Samples& samples, SteadyTime now);
  size_t live() const { return last_seen_.size(); }

 private:
  void ForgetIdle(SteadyTime now);
  std::unordered_map<std::string, SteadyTime> last_seen_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_SERIES_BUDGET_H_
