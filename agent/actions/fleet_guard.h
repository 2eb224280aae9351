// The fleet fault guard: when too many targets fail in the same poll round
// the cause is almost never the miners (a switch, the agent's own network,
// a power cut). Restarting them all or mailing once per miner would make it
// worse, so while the guard is tripped there are no restarts and one
// "fleet unreachable" notice replaces the per-miner notifications.
#ifndef RIGWATCH_AGENT_ACTIONS_FLEET_GUARD_H_
#define RIGWATCH_AGENT_ACTIONS_FLEET_GUARD_H_

#include <atomic>
#include <cstddef>
#include <mutex>

#include "agent/actions/types.h"

namespace rigwatch::actions {

class FleetGuard {
 public:
  enum class Change { kNone, kTripped, kRecovered };

  // Trips when failed/targets > fraction in one round; recovers at the
  // first round with failed/targets <= fraction. `notices` (may be empty)
  // receives one notice per change.
  FleetGuard(double fraction, NoticeSink notices)
      : fraction_(fraction), notices_(std::move(notices)) {}

  // One poll round's outcome. Rounds with zero targets change nothing.
  // Thread-safe.
  Change OnRound(std::size_t targets, std::size_t failed);

  // True while tripped. Thread-safe, lock-free.
  bool tripped() const { return tripped_.load(); }

 private:
  const double fraction_;
  NoticeSink notices_;
  std::mutex mu_;
  std::atomic<bool> tripped_{false};
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_FLEET_GUARD_H_
