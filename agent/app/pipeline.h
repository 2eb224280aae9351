// The data path between components, in one direction (docs/architecture.md
// "Data flow"):
//   poller / host collector ──► LiveState (/metrics), Store (history),
//                               a per-round batch ──► rule thread ──► Actions
// The pipeline implements the narrow interfaces each component consumes
// (PollSink, TransitionSink, MinerRestarter, HistorySource) so that no
// component knows another.
//
// Nothing here blocks the poller thread: LiveState and Store updates are
// short, the round batch is handed over by a swap and judged on the rule
// thread. If the rule thread is still busy when the next round ends, the
// newer samples replace the older per target (counted as merged rounds).
#ifndef RIGWATCH_AGENT_APP_PIPELINE_H_
#define RIGWATCH_AGENT_APP_PIPELINE_H_

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "agent/actions/types.h"
#include "agent/common/periodic_worker.h"
#include "agent/live_state/poll_errors.h"
#include "agent/poller/types.h"
#include "agent/rules/engine.h"
#include "exporters/sample.h"

namespace rigwatch {

class LiveState;
class Poller;
namespace store {
class Store;
}
namespace actions {
class Actions;
}

class Pipeline final : public PollSink,
                       public rules::TransitionSink,
                       public actions::MinerRestarter,
                       public rules::HistorySource {
 public:
  // `live` is required; the others may be null (component disabled). None is
  // owned; all must outlive the pipeline's Stop().
  Pipeline(LiveState* live, store::Store* store);
  ~Pipeline() override;

  // Wiring after construction (the rule engine and actions need the
  // pipeline as their sink, the pipeline needs them as consumers).
  // Call before the poller starts (its thread reads the rule engine).
  void Connect(rules::RuleEngine* rules,
               std::shared_ptr<actions::Actions> actions);
  // Replaces the actions (a config reload rebuilt them). Thread-safe: a
  // call in flight on the old ones finishes on them.
  void SetActions(std::shared_ptr<actions::Actions> actions);
  std::shared_ptr<actions::Actions> actions() const;
  // The poller that carries out miner restarts; set once it runs, replaced
  // when a reload rebuilds it. Thread-safe like SetActions.
  void SetPoller(std::shared_ptr<Poller> poller);
  // Targets (name, kind) whose rule windows the rule thread fills from the
  // store before it judges the first round, so "avg_over_time(1h)" works
  // right after an agent restart. Call before Start().
  void SetWarmTargets(std::vector<std::pair<std::string, std::string>> t);
  // The metric names some rule selects; only those samples are kept for the
  // rule thread (a 10,000-miner round of every sample would be tens of MB).
  // Call before the rule engine gets the rules that select them. Targets
  // whose samples this round were filtered by an older list are left out
  // of the round's judgement (they keep their states), so a newly selected
  // metric is never judged absent because it was filtered.
  void SetRuleMetrics(const std::vector<std::string>& metrics);
  // Adds to the list (a rule reload: the old rules still judge until the
  // new ones are set, and need their metrics until then).
  void AddRuleMetrics(const std::vector<std::string>& metrics);
  // Starts / stops the rule thread. Stop judges nothing more.
  void Start();
  void Stop();
  // How long judging one round may take before the rule thread counts as
  // stuck (PeriodicWorker heartbeat).
  void SetStallBound(Duration bound) { rule_worker_.SetStallBound(bound); }

  // The host collector's samples (target "host"); `rules_only` are judged
  // by the rules as the host's too but neither stored nor shown.
  void OnHostSamples(WallTime time, const Samples& samples,
                     const Samples& rules_only = {});
  // One host service check's samples: the service is a target of kind
  // "service" named like the service (any thread).
  void OnServiceSamples(const std::string& service, WallTime time,
                        const Samples& samples);

  // PollSink (poller thread).
  void OnPoll(const PollReport& report) override;
  void OnRound(const RoundReport& report) override;
  void OnRemoved(const MinerTarget& target) override;

  // TransitionSink (rule thread).
  void OnTransition(const rules::Transition& t) override;

  // MinerRestarter (actions worker thread).
  Status Restart(const std::string& miner, Duration timeout,
                 std::stop_token stop) override;

  // HistorySource (warming rule windows from the store at startup).
  Status Read(
      std::string_view target, std::string_view metric, WallTime from,
      WallTime to,
      const std::function<void(const Labels&, WallTime, double)>& fn) override;

  // Each miner's last poll error (the API shows it).
  const PollErrors& poll_errors() const { return poll_errors_; }

  // The last poll round's configured miners and failed ones.
  int round_targets() const { return round_targets_.load(); }
  int round_failed() const { return round_failed_.load(); }

  uint64_t rounds_judged() const { return rounds_judged_.load(); }
  uint64_t rounds_merged() const { return rounds_merged_.load(); }

 private:
  struct Pending {
    std::string kind;
    Samples samples;  // the rule-selected ones
    uint64_t filter_gen = 0;
  };
  // Keeps `in`'s samples of rule-selected metrics in `p` (mu_ held).
  void NoteResult(const PollReport& report);
  void KeepLocked(Pending& p, std::string_view kind, const Samples& in);
  // One pass of the rule thread: warms the rules first time, then judges
  // the round handed over, if any; sleeps until OnRound wakes it.
  Duration RuleTick();
  void Warm();

  LiveState* live_;
  store::Store* store_;
  rules::RuleEngine* rules_ = nullptr;
  mutable std::mutex parts_mu_;  // guards actions_ and poller_ (the pointers)
  std::shared_ptr<actions::Actions> actions_;
  std::shared_ptr<Poller> poller_;

  std::vector<std::pair<std::string, std::string>> warm_targets_;
  std::mutex mu_;
  std::unordered_set<std::string> rule_metrics_;  // mu_
  uint64_t filter_gen_ = 0;                       // mu_; bumped per change
  std::map<std::string, Pending> building_;       // this round so far
  // Per miner, whether its latest poll failed (the fleet guard's input). Not
  // reset per round: a poll in flight across a round's end leaves the
  // miner as it was.
  std::map<std::string, bool> failing_;
  std::map<std::string, Pending> ready_;  // handed to the rule thread
  bool have_ready_ = false;
  bool warmed_ = false;  // the rule thread's own
  PollErrors poll_errors_;
  std::atomic<uint64_t> rounds_judged_{0};
  std::atomic<uint64_t> rounds_merged_{0};
  std::atomic<int> round_targets_{0};
  std::atomic<int> round_failed_{0};
  // Last: stopped (joined) before the members its ticks use are destroyed.
  PeriodicWorker rule_worker_{"rules",
                              [this](std::stop_token) { return RuleTick(); }};
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_APP_PIPELINE_H_
