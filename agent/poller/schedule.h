// When to poll one miner: its slot inside the interval, exponential backoff
// after failures and the circuit breaker. Pure logic on SteadyTime values,
// no I/O and no clock of its own, so tests drive it with plain numbers.
#ifndef RIGWATCH_AGENT_POLLER_SCHEDULE_H_
#define RIGWATCH_AGENT_POLLER_SCHEDULE_H_

#include <cstdint>
#include <string_view>

#include "agent/common/clock.h"
#include "agent/poller/types.h"

namespace rigwatch {

// Stable 64-bit hash of a name (FNV-1a), for slot offsets.
uint64_t StableHash(std::string_view s);

// Per-miner schedule. Slot k of a miner is at
//   epoch + k*interval + offset + jitter_k
// where offset = StableHash(name) % ((1 - jitter) * interval) spreads the
// fleet over the interval and jitter_k in [0, jitter*interval) is derived
// from (name, k). So slot k always lies inside interval k: every miner is
// due exactly once per interval, and a round holds one slot of each.
// Not thread-safe (owned by the loop).
class MinerSchedule {
 public:
  MinerSchedule(const PollerOptions& opts, std::string_view name,
                SteadyTime epoch, SteadyTime now);

  // The next slot boundary (a time > the last one passed).
  SteadyTime next_slot() const { return next_slot_; }
  // When the next poll may start.
  SteadyTime next_attempt() const { return next_attempt_; }
  bool circuit_open() const { return circuit_open_; }
  int consecutive_failures() const { return failures_; }

  // Passes every slot boundary <= now. Returns true when no poll is due at
  // the last boundary passed (the miner backs off or its circuit is open):
  // the caller reports that slot as skipped unless a poll is in flight.
  bool PassSlots(SteadyTime now);
  // A poll ended. `u` in [0,1) is a random draw for backoff jitter.
  void OnSuccess(SteadyTime now);
  void OnFailure(SteadyTime now, double u);

  // The backoff delay after the n-th consecutive failure (n >= 1), before
  // jitter: min(cap, base * 2^(n-1)).
  Duration BackoffDelay(int n) const;

 private:
  // The first slot at or after t.
  SteadyTime SlotAtOrAfter(SteadyTime t) const;
  SteadyTime SlotTime(int64_t k) const;
  int64_t SlotIndexAtOrAfter(SteadyTime t) const;

  PollerOptions opts_;
  uint64_t name_hash_;
  SteadyTime epoch_;
  Duration offset_;
  int64_t next_slot_k_;
  SteadyTime next_slot_;
  SteadyTime next_attempt_;
  int failures_ = 0;
  bool circuit_open_ = false;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_SCHEDULE_H_
