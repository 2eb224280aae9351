// The narrow interfaces the actions component consumes and offers. The rules
// engine, the poller and the agent are bridged to these by the agent's wiring
// code; nothing here depends on those components.
#ifndef RIGWATCH_AGENT_ACTIONS_TYPES_H_
#define RIGWATCH_AGENT_ACTIONS_TYPES_H_

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/alert.h"
#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "exporters/sample.h"

namespace rigwatch::actions {

// The level of a judgement and one change of a (rule, target) judgement,
// exactly as the rules engine reports it.
using ::rigwatch::Level;
using ::rigwatch::LevelName;
using ::rigwatch::Transition;

// Restarts one miner through its own API (the poller implements it).
// Restart must return within `timeout`, and soon (about 100 ms) after `stop`
// is requested: the agent is stopping. Called from the actions worker
// thread and from API requests (a restart asked for by hand): thread-safe.
class MinerRestarter {
 public:
  virtual ~MinerRestarter() = default;
  virtual Status Restart(const std::string& miner, Duration timeout,
                         std::stop_token stop) = 0;
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
  // Names this notice for deduplication: the same id is the same mail
  // (Message-ID). Empty: every notice is a mail of its own.
  std::string id;
};
using NoticeSink = std::function<void(const Notice&)>;

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_TYPES_H_
