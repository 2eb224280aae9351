#include "agent/app/pipeline.h"

#ifdef RIGWATCH_TEST_HOOKS
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#endif

#include "agent/actions/actions.h"
#include "agent/common/log.h"
#include "agent/common/memory.h"
#include "agent/config/target_files.h"
#include "agent/live_state/live_state.h"
#include "agent/poller/poller.h"
#include "agent/store/store.h"

namespace rigwatch {
namespace {

// LiveState key of the host; miners render under `miner`, so no clash.
// Elsewhere the host is kHostTargetName, a name no miner may take.
constexpr std::string_view kHostLiveTarget = "\x01host";
// LiveState keys of host services: "\x01service/NAME".
constexpr std::string_view kServiceLivePrefix = "\x01service/";
constexpr std::string_view kServiceKind = "service";

#ifdef RIGWATCH_TEST_HOOKS
// Test builds only: RIGWATCH_TEST_CRASH_AFTER_RULES_SAVE=<file>, read once.
// When a transition into yellow or red arrives (the rules have persisted
// it) while <file> exists, the file is removed and the process kills
// itself with SIGKILL before the actions see the transition: the crash
// between the rules' save and the notifier's, for the test of what the
// next start does about it.
void CrashAfterRulesSaveForTest(const rules::Transition& t) {
  static const std::string file = [] {
    const char* v = ::getenv("RIGWATCH_TEST_CRASH_AFTER_RULES_SAVE");
    return std::string(v ? v : "");
  }();
  if (file.empty() || t.to == Level::kGreen || t.to == Level::kUnknown ||
      t.muted || ::unlink(file.c_str()) != 0) {
    return;
  }
  ::raise(SIGKILL);
}
#endif

}  // namespace

Pipeline::Pipeline(LiveState* live, store::Store* store)
    : live_(live), store_(store) {}

Pipeline::~Pipeline() { Stop(); }

void Pipeline::Connect(rules::RuleEngine* rules,
                       std::shared_ptr<actions::Actions> actions) {
  rules_ = rules;
  SetActions(std::move(actions));
}

void Pipeline::SetActions(std::shared_ptr<actions::Actions> actions) {
  std::lock_guard<std::mutex> l(parts_mu_);
  actions_ = std::move(actions);
}

std::shared_ptr<actions::Actions> Pipeline::actions() const {
  std::lock_guard<std::mutex> l(parts_mu_);
  return actions_;
}

void Pipeline::SetPoller(std::shared_ptr<Poller> poller) {
  std::lock_guard<std::mutex> l(parts_mu_);
  poller_ = std::move(poller);
}

void Pipeline::Start() { rule_worker_.Start(); }

void Pipeline::Stop() { rule_worker_.Stop(); }

void Pipeline::SetRuleMetrics(const std::vector<std::string>& metrics) {
  std::unordered_set<std::string> next(metrics.begin(), metrics.end());
  std::lock_guard<std::mutex> l(mu_);
  if (next == rule_metrics_) return;
  rule_metrics_ = std::move(next);
  ++filter_gen_;
}

void Pipeline::AddRuleMetrics(const std::vector<std::string>& metrics) {
  std::lock_guard<std::mutex> l(mu_);
  const size_t before = rule_metrics_.size();
  rule_metrics_.insert(metrics.begin(), metrics.end());
  if (rule_metrics_.size() != before) ++filter_gen_;
}

void Pipeline::KeepLocked(Pending& p, std::string_view kind,
                          const Samples& in) {
  p.kind.assign(kind);
  p.filter_gen = filter_gen_;
  p.samples.clear();
  for (const Sample& s : in) {
    if (rule_metrics_.count(s.name) != 0) p.samples.push_back(s);
  }
}

void Pipeline::OnHostSamples(WallTime time, const Samples& samples,
                             const Samples& rules_only) {
  live_->Update(kHostLiveTarget, "", samples);
  if (store_ != nullptr) store_->Append(kHostTargetName, time, samples);
  std::lock_guard<std::mutex> l(mu_);
  Pending& p = building_[std::string(kHostTargetName)];
  KeepLocked(p, "host", samples);
  for (const Sample& s : rules_only) {
    if (rule_metrics_.count(s.name) != 0) p.samples.push_back(s);
  }
}

void Pipeline::OnServiceSamples(const std::string& service, WallTime time,
                                const Samples& samples) {
  // Rendered like host series: they carry their own `service` label.
  live_->Update(std::string(kServiceLivePrefix) + service, "", samples);
  if (store_ != nullptr) store_->Append(service, time, samples);
  std::lock_guard<std::mutex> l(mu_);
  KeepLocked(building_[service], kServiceKind, samples);
}

void Pipeline::OnPoll(const PollReport& report) {
  const std::string& name = report.target.name;
  live_->Update(name, "miner", report.samples);
  if (report.attempted) NoteResult(report);
  if (auto a = actions()) a->KnowTarget(name);
  // Skipped slots (backoff, open breaker) carry miner_up 0 and the breaker
  // state: stored too, so history shows the outage.
  if (store_ != nullptr) store_->Append(name, report.time, report.samples);
  std::lock_guard<std::mutex> l(mu_);
  failing_[name] = report.result != PollResult::kOk;
  KeepLocked(building_[name], report.target.kind, report.samples);
}

// Logs a miner's poll error once when its class changes (and once when it
// recovers), not on every poll of an outage.
void Pipeline::NoteResult(const PollReport& report) {
  const std::string& name = report.target.name;
  const std::string_view result = PollResultName(report.result);
  switch (
      poll_errors_.Record(name, result, report.error.message(), report.time)) {
    case PollErrors::Change::kNone:
      break;
    case PollErrors::Change::kFailing:
    case PollErrors::Change::kChanged:
      LogWarn("poll_failed")
          .Kv("miner", name)
          .Kv("result", result)
          .Kv("err", report.error.message());
      break;
    case PollErrors::Change::kRecovered:
      LogInfo("poll_recovered").Kv("miner", name);
      break;
  }
}

void Pipeline::OnRound(const RoundReport& report) {
  round_targets_.store(report.targets);
  round_failed_.store(report.failed);
  if (store_ != nullptr) store_->SyncRound();
  std::vector<std::string> failed;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [name, bad] : failing_) {
      if (bad) failed.push_back(name);
    }
  }
  if (auto a = actions()) {
    a->OnRound(static_cast<size_t>(report.targets), failed);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (have_ready_) {
      // The rule thread has not taken the last round yet: newer samples
      // replace older ones per target.
      for (auto& [k, v] : building_) ready_[k] = std::move(v);
      rounds_merged_.fetch_add(1);
    } else {
      ready_.swap(building_);
      have_ready_ = true;
    }
    building_.clear();
  }
  rule_worker_.Wake();
}

void Pipeline::OnRemoved(const MinerTarget& target) {
  live_->Remove(target.name);
  poll_errors_.Remove(target.name);
  std::lock_guard<std::mutex> l(mu_);
  building_.erase(target.name);
  failing_.erase(target.name);
}

void Pipeline::SetWarmTargets(
    std::vector<std::pair<std::string, std::string>> t) {
  warm_targets_ = std::move(t);
}

void Pipeline::Warm() {
  if (rules_ != nullptr && store_ != nullptr && !warm_targets_.empty()) {
    std::vector<rules::TargetSamples> targets;
    for (const auto& [name, kind] : warm_targets_) {
      targets.push_back({name, kind, nullptr});
    }
    auto t0 = std::chrono::steady_clock::now();
    Status s = rules_->Warm(*this, targets);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (s.ok()) {
      LogInfo("rules_warmed")
          .Kv("targets", static_cast<uint64_t>(targets.size()))
          .Kv("seconds", secs);
    } else {
      LogWarn("rules_warm_failed").Kv("err", s);
    }
    warm_targets_.clear();
  }
}

Duration Pipeline::RuleTick() {
  // Idle until OnRound (or Stop) wakes the thread.
  constexpr Duration kIdle = std::chrono::hours(1);
  if (!warmed_) {
    Warm();
    warmed_ = true;
    rule_worker_.Beat();  // warming and the first round are bounded apart
  }
  std::map<std::string, Pending> round;
  uint64_t gen;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!have_ready_) return kIdle;
    round.swap(ready_);
    have_ready_ = false;
    gen = filter_gen_;
  }
  if (rules_ == nullptr) {
    round.clear();
    ReleaseFreeHeap();
    return kIdle;
  }
  std::vector<rules::TargetSamples> batch;
  batch.reserve(round.size());
  for (const auto& [name, p] : round) {
    if (p.filter_gen == gen) batch.push_back({name, p.kind, &p.samples});
  }
  Status s = rules_->Evaluate(batch);
  if (!s.ok()) LogWarn("rules_persist_failed").Kv("err", s);
  // What the round's transitions changed in the notifier, in one batch.
  if (auto a = actions()) a->CommitRound();
  rounds_judged_.fetch_add(1);
  batch.clear();
  round.clear();
  // Once per round, off the poller thread: what the round freed goes back
  // to the kernel.
  ReleaseFreeHeap();
  return kIdle;
}

void Pipeline::OnTransition(const rules::Transition& t) {
  LogInfo("rule_transition")
      .Kv("rule", t.rule)
      .Kv("target", t.target)
      .Kv("from", rules::LevelName(t.from))
      .Kv("to", rules::LevelName(t.to))
      .Kv("value", t.value ? *t.value : 0.0)
      .Kv("threshold", t.threshold)
      .Kv("muted", t.muted);
#ifdef RIGWATCH_TEST_HOOKS
  CrashAfterRulesSaveForTest(t);
#endif
  if (auto a = actions()) a->OnTransition(t);
}

Status Pipeline::Restart(const std::string& miner, Duration timeout,
                         std::stop_token stop) {
  std::shared_ptr<Poller> poller;
  {
    std::lock_guard<std::mutex> l(parts_mu_);
    poller = poller_;
  }
  if (poller == nullptr) return FailedPreconditionError("no poller running");
  return poller->RestartMiner(miner, timeout, stop);
}

Status Pipeline::Read(
    std::string_view target, std::string_view metric, WallTime from,
    WallTime to,
    const std::function<void(const Labels&, WallTime, double)>& fn) {
  if (store_ == nullptr) return Status::Ok();
  store::Selector sel;
  sel.metric = std::string(metric);
  sel.target = std::string(target);
  // The store's range is [from, to); the history source's is inclusive.
  RW_ASSIGN_OR_RETURN(
      auto series,
      store_->Select(sel, from, to + std::chrono::milliseconds(1)));
  for (const store::SeriesPoints& sp : series) {
    for (const store::Point& p : sp.points) fn(sp.key.labels, p.ts, p.value);
  }
  return Status::Ok();
}

}  // namespace rigwatch
