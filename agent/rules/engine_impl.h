// Internal to the rules component: the engine's state, shared by engine.cc
// (evaluation), engine_state.cc (persistence, mutes, grace) and
// exposure.cc (metrics and JSON). Everything here is guarded by Impl::mu.
#ifndef RIGWATCH_AGENT_RULES_ENGINE_IMPL_H_
#define RIGWATCH_AGENT_RULES_ENGINE_IMPL_H_

#include <bitset>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/rules/engine.h"
#include "agent/rules/match.h"
#include "agent/rules/value_eval.h"
#include "agent/rules/window.h"

namespace rigwatch::rules {

// Engine time is milliseconds of the steady clock (immune to wall-clock
// steps); persisted times are wall milliseconds, converted at the edge.
struct Series {
  Labels labels;
  Level level = Level::kUnknown;
  int64_t since_wall_ms = 0;
  // Steady ms since the yellow [0] / red [1] condition holds (pending timers).
  std::optional<int64_t> cond_since[2];
  int64_t last_seen_ms = 0;  // steady ms of the last sample (or evaluation)
  uint64_t touched_round = 0;
  std::optional<double> last_value;  // the latest sample
  // What the current (yellow/red) level's condition last compared, for the
  // alerts view.
  std::optional<double> shown_value;
  std::optional<double> shown_threshold;
  Window window;
  bool dirty = false;      // changed since last persisted
  bool persisted = false;  // the kv holds an entry for it
};

struct CompiledRule {
  Rule rule;
  CompiledSelector selector;
  int64_t keep_ms = 0;  // window length to keep; 0 = no window
  // Rules with an expression: its selectors by node id, and its longest
  // window (how long an idle input window is kept: that plus `stale`).
  std::vector<std::optional<CompiledSelector>> expr_selectors;
  int64_t expr_keep_ms = 0;
};

struct TargetState {
  std::string kind;
  uint64_t last_round = 0;  // the last round that listed this target
  // Indexed like Impl::rules; each rule's series of this target.
  std::vector<std::vector<Series>> by_rule;
  // Indexed like Impl::rules: the input windows of expression rules.
  std::vector<ExprWindows> expr_by_rule;
};

struct RuleEngine::Impl {
  const Clock* clock;
  DurableKv* kv;
  TransitionSink* sink;
  EngineOptions options;

  mutable std::mutex mu;
  std::vector<CompiledRule> rules;
  // Value rules by the metric they select; absence rules apart.
  std::unordered_map<std::string_view, std::vector<int>> rules_by_metric;
  std::vector<int> absence_rules;
  std::vector<int> expr_rules;  // rules with an expression
  // metric_lengths[n]: some value rule selects a metric n characters long
  // (names of 256+ characters are always looked up).
  std::bitset<256> metric_lengths;
  std::unordered_map<std::string, TargetState> targets;
  std::map<std::string, int64_t> mute_until_wall_ms;
  std::map<std::string, int64_t> grace_until_wall_ms;
  std::map<std::pair<std::string, Level>, uint64_t> transitions_total;
  uint64_t round = 0;
  bool rules_set = false;  // SetRules was called

  // State writes are queued here by Evaluate and SetRules and made durable
  // in one synced batch at their end (a fleet-wide event changes thousands
  // of series in one round; one sync each took seconds). `batch_states`
  // names the series of each queued state write, to mark them dirty again
  // if the batch fails.
  struct QueuedState {
    std::string rule, target;
    Labels labels;
    bool was_persisted = false;
  };
  std::vector<KvWrite> batch;
  std::vector<QueuedState> batch_states;
  // Writes the batch; on failure marks its series dirty again so the next
  // change retries them. Returns the batch's error.
  Status CommitBatch();

  // Current times, set at the start of each call that needs them.
  int64_t now_ms = 0;
  int64_t now_wall_ms = 0;
  void Tick();

  int RuleIndex(std::string_view name) const;
  TargetState& Target(std::string_view name, std::string_view kind);
  bool Applies(const Rule& rule, std::string_view target,
               std::string_view kind) const;
  bool Muted(const std::string& target) const;
  bool InGrace(const std::string& target) const;

  // Persistence (engine_state.cc).
  static std::string StateKey(std::string_view rule, std::string_view target,
                              const Labels& labels);
  // "mute"/"grace" key of a target.
  static std::string TargetKey(std::string_view prefix,
                               std::string_view target);
  std::string EncodeState(const Series& s) const;
  // Queues the series' state (or its deletion, once it is quiet).
  void QueueState(const std::string& rule, const std::string& target,
                  Series& s);
  // Queues the deletion of a key of the rules namespace.
  void QueueDelete(std::string key);
  int64_t ToWall(int64_t steady_ms) const {
    return now_wall_ms - (now_ms - steady_ms);
  }
  int64_t ToSteady(int64_t wall_ms) const {
    int64_t age = now_wall_ms - wall_ms;
    if (age < 0) age = 0;  // the wall clock went back: count from now
    return now_ms - age;
  }
};

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_ENGINE_IMPL_H_
