// The narrow interfaces the actions component consumes and offers. The rules
// engine, the poller and the agent are bridged to these by the agent's wiring
// code; nothing here depends on those components.
#ifndef RIGWATCH_AGENT_ACTIONS_TYPES_H_
#define RIGWATCH_AGENT_ACTIONS_TYPES_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch::actions {

enum class Level { kGreen, kYellow, kRed, kUnknown };

// "green", "yellow", "red", "unknown".
std::string_view LevelName(Level level);

// One change of a (rule, target) judgement, as the rules engine reports it.
struct Transition {
  std::string rule;    // rule name; the Alertmanager alertname
  std::string target;  // miner name, or "host"
  Labels labels;       // the rule's own labels (e.g. service="cgminer")
  Level from = Level::kUnknown;
  Level to = Level::kUnknown;
  std::optional<double> value;  // absent when the target gave no value
  std::string threshold;        // human text: "> 75 °C for 5m"
  WallTime since{};             // when the target entered `to`
  std::string severity;         // "warning" or "critical"
  std::string description;      // the rule's rendered text; may be empty
  // What the rule asks for at level `to` (its on_red / on_yellow list):
  // "notify", "restart". Unknown words are ignored.
  std::vector<std::string> actions;
  // The rule is muted: no actions, and no mail unless it is a return to
  // green of an alert that was already mailed.
  bool muted = false;

  bool Wants(std::string_view action) const;
};

// Restarts one miner through its own API (the poller implements it).
// Restart must return within `timeout`. Called from the actions worker
// thread only, one call at a time.
class MinerRestarter {
 public:
  virtual ~MinerRestarter() = default;
  virtual Status Restart(const std::string& miner, Duration timeout) = 0;
};

// Told after each restart that rules must not judge `target` for `duration`
// (the restart grace period; RuleEngine::StartGrace fits). Called from the
// actions worker thread.
using GraceSink =
    std::function<void(const std::string& target, Duration duration)>;

// A notice that is not a rule transition: "restart limit reached",
// "fleet unreachable", "fleet reachable again". Mailed on its own, at once.
struct Notice {
  std::string kind;  // "restart_limit", "fleet_unreachable", "fleet_reachable"
  std::string target;   // the target concerned, or "fleet"
  std::string subject;  // one line, sanitized before it reaches a header
  std::string body;     // plain text
};
using NoticeSink = std::function<void(const Notice&)>;

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_TYPES_H_
