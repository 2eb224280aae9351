#include "agent/poller/monotonic.h"

#include <algorithm>
#include <cmath>

#include "agent/poller/series_budget.h"

namespace rigwatch {

std::string CounterTracker::Key(const Sample& s) { return SeriesKey(s); }

const char* CounterTracker::Implausible(const Sample& s,
                                        std::optional<double> now_seconds,
                                        bool uptime_went_down) const {
  if (!std::isfinite(s.value) || s.value < 0) return "negative";
  if (s.value > kMaxCounterRaw) return "out_of_range";
  if (uptime_went_down || !now_seconds) return nullptr;
  auto it = series_.find(Key(s));
  if (it == series_.end() || !it->second.last_seconds) return nullptr;
  const double grew = s.value - it->second.last_raw;
  // At least one second: two polls close together may still see one burst.
  const double elapsed = std::max(1.0, *now_seconds - *it->second.last_seconds);
  if (grew > kMaxCounterRatePerSecond * elapsed) return "implausible_jump";
  return nullptr;
}

bool CounterTracker::Apply(Samples& samples,
                           std::optional<double> uptime_seconds,
                           bool (*is_counter)(std::string_view name),
                           std::optional<double> now_seconds) {
  bool reboot =
      uptime_seconds && last_uptime_ && *uptime_seconds < *last_uptime_;
  std::erase_if(samples, [&](const Sample& s) {
    if (!is_counter(s.name)) return false;
    const char* why = Implausible(s, now_seconds, reboot);
    if (why == nullptr) return false;
    ++rejected_[why];
    return true;
  });
  if (!reboot) {
    for (const Sample& s : samples) {
      if (!is_counter(s.name)) continue;
      auto it = series_.find(Key(s));
      if (it != series_.end() && s.value < it->second.last_raw) {
        reboot = true;
        break;
      }
    }
  }
  if (uptime_seconds) last_uptime_ = uptime_seconds;
  if (reboot) ++restarts_;
  for (Sample& s : samples) {
    if (!is_counter(s.name)) continue;
    Series& ser = series_[Key(s)];
    // On a reboot every counter restarted from zero, even one that already
    // climbed past its old value since: carry the old value forward.
    if (reboot) ser.offset += ser.last_raw;
    ser.last_raw = s.value;
    ser.last_seconds = now_seconds;
    s.value += ser.offset;
  }
  // Counter series are a subset of the miner's live series (SeriesBudget):
  // forget the idle ones once there are more than that budget.
  if (now_seconds && series_.size() > kMaxSeriesPerMiner) {
    const double idle =
        std::chrono::duration<double>(kSeriesIdleForget).count();
    std::erase_if(series_, [&](const auto& kv) {
      return !kv.second.last_seconds ||
             *now_seconds - *kv.second.last_seconds > idle;
    });
  }
  return reboot;
}

}  // namespace rigwatch
