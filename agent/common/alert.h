// The vocabulary the rules engine and the actions component share: the level
// of a judgement and a change of it. The rules engine produces Transitions,
// the actions component consumes the very same values (no copy between two
// look-alike types that could drop a field on the way).
#ifndef RIGWATCH_AGENT_COMMON_ALERT_H_
#define RIGWATCH_AGENT_COMMON_ALERT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "exporters/sample.h"

namespace rigwatch {

// A judgement of one (rule, target, series). Ordered: a higher value is worse,
// kUnknown sits apart (no data) and is never "worse" than anything. The
// numbers are persisted in the rules state: do not renumber.
enum class Level { kUnknown = -1, kGreen = 0, kYellow = 1, kRed = 2 };

// "unknown", "green", "yellow", "red".
std::string_view LevelName(Level level);

// A change of level of one (rule, target, series).
struct Transition {
  std::string rule;    // rule name; the Alertmanager alertname
  std::string target;  // miner name, or "host"
  Labels labels;       // the series' labels as the exporter emitted them
  Level from = Level::kUnknown;
  Level to = Level::kUnknown;
  // The value the condition compared (the current value, or the window
  // function's result); empty for absence rules and for UNKNOWN.
  std::optional<double> value;
  // The metric whose base unit `value` is in (FormatMetricValue prints it
  // as "95.0 °C"); empty when the value has no unit of its own (rate,
  // increase, absence rules).
  std::string value_metric;
  // The condition text of the level entered ("> 72"); when entering GREEN or
  // UNKNOWN, the one of the level left.
  std::string threshold;
  // The threshold the value was compared with, after factors, windows and
  // hysteresis; empty when not numeric.
  std::optional<double> threshold_value;
  WallTime since{};  // when `to` was entered
  // "critical"/"warning"/"info" for red/yellow, else "none".
  std::string severity;
  // What the rule asks for at level `to` (its on_red / on_yellow / on_green
  // list): "notify", "restart"; empty when muted, and for UNKNOWN. Unknown
  // words are ignored.
  std::vector<std::string> actions;
  // The target is muted: no actions, and no mail unless it is a return to
  // green of an alert that was already mailed.
  bool muted = false;
  std::string description;  // the rule's rendered text; may be empty

  bool Wants(std::string_view action) const;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_ALERT_H_
