#include "agent/poller/series_budget.h"

#include <vector>

namespace rigwatch {

std::string SeriesKey(const Sample& s) {
  std::string k = s.name;
  for (const Label& l : s.labels) {
    k += '\0';
    k += l.name;
    k += '\0';
    k += l.value;
  }
  return k;
}

void SeriesBudget::ForgetIdle(SteadyTime now) {
  std::erase_if(last_seen_, [&](const auto& kv) {
    return now - kv.second > kSeriesIdleForget;
  });
}

size_t SeriesBudget::Apply(Samples& samples, SteadyTime now) {
  size_t dropped = 0;
  bool pruned = false;
  std::erase_if(samples, [&](const Sample& s) {
    std::string key = SeriesKey(s);
    auto it = last_seen_.find(key);
    if (it != last_seen_.end()) {
      it->second = now;
      return false;
    }
    if (last_seen_.size() >= kMaxSeriesPerMiner && !pruned) {
      ForgetIdle(now);  // at most once per poll: O(live) each time
      pruned = true;
    }
    if (last_seen_.size() >= kMaxSeriesPerMiner) {
      ++dropped;
      return true;
    }
    last_seen_.emplace(std::move(key), now);
    return false;
  });
  return dropped;
}

}  // namespace rigwatch
