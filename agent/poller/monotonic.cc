#include "agent/poller/monotonic.h"

namespace rigwatch {

std::string CounterTracker::Key(const Sample& s) {
  std::string k = s.name;
  for (const Label& l : s.labels) {
    k += '\0';
    k += l.name;
    k += '\0';
    k += l.value;
  }
  return k;
}

bool CounterTracker::Apply(Samples& samples,
                           std::optional<double> uptime_seconds,
                           bool (*is_counter)(std::string_view name)) {
  bool reboot =
      uptime_seconds && last_uptime_ && *uptime_seconds < *last_uptime_;
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
    s.value += ser.offset;
  }
  return reboot;
}

}  // namespace rigwatch
