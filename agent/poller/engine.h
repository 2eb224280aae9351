// The poll logic for a fleet, separated from I/O: which miner is due, the
// chain of requests of one poll, classification of the outcome, counter
// monotonicity, the samples to publish, round reports, restarts.
//
// Drives a Transport and reads time from a Clock, so unit tests run it with
// FakeClock and a scripted transport. Not thread-safe: every call, and every
// Transport callback, happens on one thread (the poller loop).
#ifndef RIGWATCH_AGENT_POLLER_ENGINE_H_
#define RIGWATCH_AGENT_POLLER_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "agent/poller/monotonic.h"
#include "agent/poller/schedule.h"
#include "agent/poller/self_metrics.h"
#include "agent/poller/series_budget.h"
#include "agent/poller/transport.h"
#include "agent/poller/types.h"
#include "exporters/exporter.h"
#include "exporters/probe.h"

namespace rigwatch {

// Finds the exporter for a kind; FindExporter (exporters/registry.h) in
// production. The returned pointer must outlive the engine.
using ExporterLookup = std::function<const Exporter*(std::string_view kind)>;

// Names of the series the poller adds for every miner.
inline constexpr std::string_view kCircuitOpenMetric = "rigwatch_circuit_open";

// A miner's identity (miner_info labels) may change at most this often; a
// change sooner keeps the previous identity and counts as
// miner_samples_rejected_total{reason="info_churn"} (docs/operations.md).
inline constexpr std::chrono::minutes kMinInfoChangeInterval{10};

// A `kind: auto` miner is probed again after this many polls in a row
// failed as malformed (the firmware may have been replaced by another).
inline constexpr int kReprobeAfterMalformedPolls = 3;

class PollEngine {
 public:
  // `clock`, `transport`, `sink` and `metrics` (may be null) must outlive
  // the engine. `opts` must pass ValidatePollerOptions.
  PollEngine(const PollerOptions& opts, const Clock& clock,
             Transport& transport, PollSink& sink, PollerMetrics* metrics,
             ExporterLookup lookup, uint64_t seed = 0);
  // Aborts every exchange in flight and fails pending restarts.
  ~PollEngine();
  PollEngine(const PollEngine&) = delete;
  PollEngine& operator=(const PollEngine&) = delete;

  // Replaces the target list. New miners are scheduled at their slot;
  // removed (or changed) miners have their exchange aborted and are
  // reported through PollSink::OnRemoved; unchanged miners keep their
  // state. Targets with an unknown kind or a duplicate name are skipped and
  // named in the returned InvalidArgument; the rest is applied. A target of
  // kind probe::kAutoKind is probed (exporters/probe.h) before its first
  // poll, again when the firmware it reports changes or after
  // kReprobeAfterMalformedPolls malformed polls; a probe that tells no kind
  // is a failed poll (backoff as usual) whose error says why.
  Status SetTargets(std::vector<MinerTarget> targets);

  // The PollSink is called from inside Tick and transport callbacks: it
  // must not call SetTargets or Restart re-entrantly (Poller defers them).
  //
  // Does everything due at clock.SteadyNow() (start polls, report skipped
  // slots and rounds, start restarts) and returns when it wants to be
  // called next. Also call it after transport callbacks ran.
  SteadyTime Tick();

  // Asks miner `name` to restart, after its current poll (never two
  // exchanges in flight to one miner). `done` is called once on this thread
  // with Ok, NotFound (no such miner), DeadlineExceeded, PermissionDenied or
  // the transport/parse error, with the miner as context.
  void Restart(const std::string& name, Duration timeout,
               std::function<void(Status)> done);

  size_t targets() const { return by_name_.size(); }
  size_t in_flight() const { return in_flight_; }

 private:
  struct PendingRestart {
    SteadyTime deadline;
    std::function<void(Status)> done;
  };
  enum class RoundState { kPending, kOk, kFailed };
  struct Miner {
    explicit Miner(MinerSchedule s) : schedule(std::move(s)) {}
    uint64_t id = 0;
    MinerTarget target;  // as configured; port resolved for a known kind
    // Where polls go: `target`, or for `kind: auto` the kind told by the
    // probe (still "auto" before) and its port.
    MinerTarget effective;
    // Null while a `kind: auto` miner has to be probed.
    const Exporter* exporter = nullptr;
    std::string context;  // "kind name (host:port)"
    bool auto_kind = false;
    std::optional<probe::Decision> decision;  // the last one logged
    probe::Replies probe_replies;
    probe::Source probe_step = probe::Source::kVersion;
    PollResult probe_failure = PollResult::kOk;  // of the first failed step
    // The firmware of the first good poll after a probe; a poll reporting
    // another one triggers a new probe.
    std::optional<std::string> probed_firmware;
    int malformed_polls = 0;
    MinerSchedule schedule;
    CounterTracker counters;
    SeriesBudget series;
    std::optional<MinerInfo> info;
    std::optional<SteadyTime> info_changed;  // last accepted change of info
    std::optional<WallTime> last_success;
    bool ever_ok = false;
    RoundState round = RoundState::kPending;
    PollResult last_result = PollResult::kOk;
    // The exchange in flight (a poll step or a restart), if any.
    std::optional<ExchangeId> exchange;
    bool restarting = false;
    std::vector<Request> requests;
    std::vector<Response> responses;
    // This poll sends the Request::fallback requests (a required one
    // failed in transport); `fell_back` is that of the last good poll, for
    // a log line when the data source changes.
    bool falling_back = false;
    bool fell_back = false;
    SteadyTime poll_start_steady;
    WallTime poll_start;
    SteadyTime poll_deadline;
    std::vector<PendingRestart> restarts;   // rare; no per-miner deque block
    std::vector<Response> restart_replies;  // of the restart chain running
    uint64_t wake_gen = 0;
  };
  struct Wake {
    SteadyTime t;
    uint64_t id;
    uint64_t gen;
    bool operator>(const Wake& o) const { return t > o.t; }
  };

  void AddMiner(MinerTarget target, const Exporter* exporter);
  void RemoveMiner(uint64_t id, bool report);
  void Visit(Miner& m, SteadyTime now);
  void Reschedule(Miner& m);
  void StartPoll(Miner& m);
  void StartStep(Miner& m);
  void OnStepDone(uint64_t id, ExchangeResult r);
  // Fills in NotSentResponse() for the requests this poll does not send
  // (fallback ones on a healthy poll, the rest of the primary ones after a
  // fall-back); true when a request is left to send.
  bool SkipUnsent(Miner& m) const;
  void FinishPoll(Miner& m, PollResult result, Status error,
                  std::optional<ScrapeResult> scrape);
  void StartProbe(Miner& m);
  void ContinueProbe(Miner& m);
  void OnProbeDone(uint64_t id, ExchangeResult r);
  void FinishProbe(Miner& m);
  // After a poll of a `kind: auto` miner: whether to probe it again.
  void MaybeReprobe(Miner& m, PollResult result,
                    const std::optional<ScrapeResult>& scrape);
  void SetContext(Miner& m);
  bool Registered(std::string_view kind) const;
  void StartRestart(Miner& m);
  void ContinueRestart(Miner& m);
  void FinishRestart(Miner& m, Status st);
  void OnRestartDone(uint64_t id, ExchangeResult r);
  void ReportSkipped(Miner& m);
  void AppendCommonSamples(const Miner& m, bool up, Samples& out) const;
  void EmitRound(WallTime t);
  Result<Exchange> MakeExchange(const Miner& m, Request req,
                                SteadyTime deadline, bool fresh) const;
  Miner* Find(uint64_t id);

  PollerOptions opts_;
  const Clock& clock_;
  Transport& transport_;
  PollSink& sink_;
  PollerMetrics* metrics_;
  ExporterLookup lookup_;
  std::mt19937_64 rng_;
  SteadyTime epoch_;
  SteadyTime next_round_;
  uint64_t next_id_ = 1;
  size_t in_flight_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<Miner>> miners_;
  std::map<std::string, uint64_t> by_name_;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<Wake>> wakes_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_ENGINE_H_
