// The rule engine: judges every (rule, target, series) GREEN / YELLOW / RED
// (or UNKNOWN without data) after each poll round, with `for` durations,
// hysteresis, rolling windows, mutes and restart grace, and hands every
// change of level to a TransitionSink. States, pending timers, mutes and
// grace periods are persisted in a DurableKv, so a restarted agent resumes
// them and does not announce again what it already announced.
//
// Semantics in short (docs/rules.md has the full text):
// - A series is created when a sample matching a rule's selector first shows
//   up for a target. Its first level is announced only when it is not GREEN.
// - A level is entered when its condition has held for `for`; a level is
//   left as soon as its hold condition (threshold moved by `clear`) fails.
//   Conditions whose window is not yet covered neither enter nor leave.
// - A series without samples keeps its level for `stale`, then becomes
//   UNKNOWN (announced); an UNKNOWN series without samples for
//   `forget_after` is dropped.
// - Grace (after a restart): no level gets worse and no pending timer runs.
// - Mute: transitions are still delivered, with `muted` set and no actions.
#ifndef RIGWATCH_AGENT_RULES_ENGINE_H_
#define RIGWATCH_AGENT_RULES_ENGINE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/alert.h"
#include "agent/common/clock.h"
#include "agent/common/kv.h"
#include "agent/common/status.h"
#include "agent/rules/rule.h"
#include "exporters/sample.h"

namespace rigwatch::rules {

// One target's latest samples after a poll round. Samples carry no target
// label; host samples come with target "host" and kind "host". The pointer
// is only read during Evaluate.
struct TargetSamples {
  std::string_view target;
  std::string_view kind;
  const Samples* samples = nullptr;
};

// A change of level of one (rule, target, series); the actions component
// consumes the same type.
using ::rigwatch::Transition;

// Receives transitions. Called from the thread that calls Evaluate, after
// the engine's lock is released and after the new state was persisted; it
// may call back into the engine (Mute, StartGrace). It must not block for
// long: queue work and return.
class TransitionSink {
 public:
  virtual ~TransitionSink() = default;
  virtual void OnTransition(const Transition& t) = 0;
};

// Where rolling windows are warmed from at startup (the Store implements it).
class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // Calls fn for every stored sample of `metric` of `target` with
  // from <= time <= to, in time order for each series. Labels exclude the
  // target label, as in Samples.
  virtual Status Read(
      std::string_view target, std::string_view metric, WallTime from,
      WallTime to,
      const std::function<void(const Labels&, WallTime, double)>& fn) = 0;
};

// One row of the GET /api/v1/alerts view.
struct AlertView {
  std::string rule;
  std::string target;
  Labels labels;
  Level level = Level::kUnknown;
  WallTime since;
  std::optional<double> value;
  std::string threshold;
  std::string severity;
  bool muted = false;
  std::optional<WallTime> muted_until;
  std::string description;
  // As in the Transition that entered `level`: the value's unit metric, the
  // numeric threshold, and what the rule asks for at this level (empty
  // while muted).
  std::string value_metric;
  std::optional<double> threshold_value;
  std::vector<std::string> actions;
};

struct EngineOptions {
  std::string kv_namespace = "rules";
  std::chrono::milliseconds forget_after = std::chrono::hours(24);
};

// Thread-safe: every method takes one internal lock (Evaluate on the rule
// thread, the renderers from HTTP threads). Does not own clock, kv or sink;
// they must outlive the engine. kv may be null (no persistence).
class RuleEngine {
 public:
  RuleEngine(const Clock* clock, DurableKv* kv, TransitionSink* sink,
             EngineOptions options = {});
  ~RuleEngine();
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // Replaces the rules. States, timers and windows of rules whose name
  // persists are kept (per target and series); those of removed rules are
  // dropped, in memory and in the kv.
  Status SetRules(RuleSet rules);

  // Loads persisted states, timers, mutes and grace periods. Call once, after
  // the first SetRules (FailedPrecondition otherwise) and before the first
  // Evaluate. Entries of rules no longer defined are deleted. Fails on a kv
  // read error; undecodable entries are skipped and deleted (logged).
  Status Restore();

  // Fills rolling windows from history for the given targets (kind and
  // target filters apply; samples==nullptr is fine here). Idempotent per
  // point: points not newer than a series' last point are dropped.
  Status Warm(HistorySource& source, std::span<const TargetSamples> targets);

  // Judges one poll round at clock->Now(). Targets missing from `round`
  // keep their states until `stale`. Transitions go to the sink. Returns the
  // first kv write error, if any (states in memory and the transitions are
  // still correct; the error is also logged).
  Status Evaluate(std::span<const TargetSamples> round);

  // Mutes a target until a wall time (persisted). Unmute ends it now.
  Status Mute(std::string_view target, WallTime until);
  Status Unmute(std::string_view target);
  // Starts (or extends) a grace period after a restart (persisted).
  Status StartGrace(std::string_view target, Duration duration);

  // rigwatch_rule_state{rule,miner} = 0|1|2 (worst known level over the
  // rule's series of that target; no sample while every series is UNKNOWN)
  // and rigwatch_rule_transitions_total{rule,to}. These samples carry their
  // own `miner` label: render them as agent series, add no target label.
  Samples MetricSamples() const;

  // Yellow and red states (and UNKNOWN ones when asked), worst first.
  std::vector<AlertView> Alerts(bool include_unknown = false) const;
  // {"alerts":[{"rule","miner","labels","level","since","value",
  //   "threshold","severity","muted","muted_until","description"}]}
  std::string AlertsJson(bool include_unknown = false) const;

  // Series held in memory, and rolling-window points over all of them.
  size_t SeriesCount() const;
  size_t WindowPoints() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// HELP/TYPE of the series MetricSamples returns.
std::span<const MetricDesc> RuleMetricDescs();

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_ENGINE_H_
