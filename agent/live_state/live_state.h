// LiveState: the latest value of every series, by target, rendered as the
// Prometheus text exposition format 0.0.4.
//
// Each target's samples are stored pre-formatted ("name{labels} ") grouped
// by metric family, so rendering is a walk over memory plus one number
// format per series — no per-series objects (prometheus-cpp's Gauge costs
// ~465 bytes and µs per series at fleet scale; see DESIGN.md).
//
// Thread-safety: all methods may be called concurrently. Update/Remove take
// an exclusive lock for the time of the replace; Render a shared lock.
#ifndef RIGWATCH_AGENT_LIVE_STATE_LIVE_STATE_H_
#define RIGWATCH_AGENT_LIVE_STATE_LIVE_STATE_H_

#include <cstddef>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exporters/sample.h"

namespace rigwatch {

class LiveState {
 public:
  // `tables` give HELP and TYPE for each family; they must outlive this.
  explicit LiveState(std::vector<std::span<const MetricDesc>> tables);

  // Replaces every series of `target` by `samples`. When `target_label` is
  // non-empty, each series gets {target_label="target"} as its first label
  // (miners: "miner"); the host and the agent itself pass "".
  void Update(std::string_view target, std::string_view target_label,
              const Samples& samples);

  // Drops every series of `target` (a miner removed from the config).
  void Remove(std::string_view target);

  // Appends the exposition text of every series to *out, one HELP and TYPE
  // per family, families in name order.
  void Render(std::string* out) const;

  size_t SeriesCount() const;
  size_t TargetCount() const;

 private:
  struct Line {
    std::string prefix;  // `name{labels} `
    double value;
  };
  struct Family {
    const MetricDesc* desc = nullptr;
    // Per target, the lines of this family, in the order they came.
    std::map<std::string, std::vector<Line>, std::less<>> by_target;
  };
  struct Target {
    std::vector<std::string> families;  // names it currently has series in
  };

  const MetricDesc* FindDescLocked(std::string_view name) const;

  std::vector<std::span<const MetricDesc>> tables_;
  mutable std::shared_mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
  std::map<std::string, Target, std::less<>> targets_;
  size_t series_ = 0;
};

// Appends `value` in exposition format: shortest round-trip decimal, NaN,
// +Inf, -Inf.
void AppendPromValue(std::string* out, double value);
// Appends a label value with \\, \" and \n escaped.
void AppendPromLabelValue(std::string* out, std::string_view value);
// Appends "# HELP name help\n# TYPE name type\n" (help escaped).
void AppendHelpType(std::string* out, const MetricDesc& desc);

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_LIVE_STATE_LIVE_STATE_H_
