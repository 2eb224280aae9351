// The fleet fault guard: when many targets fail together the cause is almost
// never the miners (a switch, the agent's own network, a power cut).
// Restarting them all or mailing once per miner would make it worse, so
// while the guard is tripped there are no restarts and one "fleet
// unreachable" notice replaces the per-miner notifications.
//
// It must never mistake one miner's own trouble for a fleet outage: on a
// fleet of one or three a single rebooting miner is no fleet problem. So it
// counts only NEW failures, needs at least `min_failed` of them AND more
// than `fraction` of the fleet, and needs that for `rounds` consecutive
// rounds. A failure is new unless the target was red or in a restart's
// grace window when its failures began (asked once, at the first failed
// round of the streak), or it had been failing for more than rounds + 2
// rounds before the episode began. docs/rules.md has worked examples.
//
// Durable (with a DurableKv): whether it is tripped, since when, the bad
// rounds in a row, the targets of the current episode and the last notice
// are written to namespace "fleet_guard" (one Put per round, only when they
// changed, before the notice goes out), so an agent restarted while the
// fleet is dark stays tripped, and the first good round after it sends the
// one recovery notice. Streaks start afresh: a target failing before the
// restart begins a new streak (and is asked whether it is excused again).
#ifndef RIGWATCH_AGENT_ACTIONS_FLEET_GUARD_H_
#define RIGWATCH_AGENT_ACTIONS_FLEET_GUARD_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "agent/actions/types.h"
#include "agent/common/kv.h"

namespace rigwatch::actions {

struct FleetGuardOptions {
  double fraction = 0.3;       // (0, 1]: more than this share must fail
  std::size_t min_failed = 3;  // >= 1: and at least this many
  int rounds = 2;              // >= 1: for this many rounds in a row
};

// "" when valid, else what is wrong (for config errors).
std::string FleetGuardOptionsError(const FleetGuardOptions& o);

class FleetGuard {
 public:
  enum class Change { kNone, kTripped, kRecovered };

  // True for a target whose failure is not news: rigwatch restarted it (its
  // grace window) or it was already red. Asked at a streak's first round.
  using Excused = std::function<bool(const std::string& target)>;

  static constexpr std::string_view kNamespace = "fleet_guard";

  // `notices` (may be empty) receives one notice per change. With a null
  // `kv` nothing persists.
  FleetGuard(FleetGuardOptions options, NoticeSink notices,
             DurableKv* kv = nullptr)
      : opt_(options), notices_(std::move(notices)), kv_(kv) {}

  // Reads the state an earlier run persisted. An undecodable state is
  // logged and dropped (the guard starts untripped). Call once, before the
  // first OnRound.
  Status Load();

  // The notice of the last change (persisted with the state); kind empty
  // when there was none. For an owner that finds, after a restart, that
  // this notice never reached its receiver.
  Notice LastNotice() const;

  // One poll round: `targets` configured, `failed` the names whose last poll
  // in the round failed. `excused` may be empty. Rounds with zero targets
  // change nothing. Thread-safe.
  Change OnRound(std::size_t targets, const std::vector<std::string>& failed,
                 const Excused& excused = {});

  // The decision for one round with `fresh` new failures out of `targets`.
  bool RoundIsBad(std::size_t targets, std::size_t fresh) const;

  // True while tripped. Thread-safe, lock-free.
  bool tripped() const { return tripped_.load(); }

  // True while the last round was bad but the guard has not tripped yet: it
  // may trip within `rounds` more rounds. Restarts and per-target mails
  // wait meanwhile, so a miner rule that turns red faster than the guard
  // counts its rounds cannot restart a fleet that is about to be judged
  // unreachable. Thread-safe, lock-free.
  bool pending() const { return pending_.load(); }

 private:
  std::size_t NewFailuresLocked(const std::vector<std::string>& failed,
                                const Excused& excused);
  // Writes the state when it differs from what was written last.
  void PersistLocked();

  const FleetGuardOptions opt_;
  NoticeSink notices_;
  mutable std::mutex mu_;
  // Every target failing in the last round: how many rounds in a row, and
  // whether it was excused when the streak began (a target that turns red
  // because it is unreachable, a miner_down rule, does not become excused).
  struct Streak {
    int rounds = 0;
    bool excused = false;
  };
  std::map<std::string, Streak> streaks_;
  // Targets counted as new in the current episode (bad rounds in a row and
  // the tripped time after them): they keep counting while it lasts.
  std::set<std::string> episode_;
  int bad_rounds_ = 0;  // consecutive bad rounds so far, at most rounds
  std::atomic<bool> tripped_{false};
  std::atomic<bool> pending_{false};
  int64_t tripped_at_ms_ = 0;  // wall clock, names the episode's notices
  Notice last_notice_;
  DurableKv* kv_;          // may be null
  std::string persisted_;  // the state as last written
};

}  // namespace rigwatch::actions

#endif  // RIGWATCH_AGENT_ACTIONS_FLEET_GUARD_H_
