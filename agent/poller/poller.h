// The miner poller: one thread running one epoll loop that polls every
// configured miner (AxeOS over HTTP via libcurl multi, CGMiner over raw
// TCP), with per-miner slots, backoff and circuit breaker (PollEngine), and
// reports each poll and each round to a PollSink.
//
//   auto p = Poller::Start(opts, sink, &registry);
//   p.value()->SetTargets({{"rig-1", "bitaxe", "192.168.1.20", 0}});
//   Status st = p.value()->RestartMiner("rig-1", std::chrono::seconds(10));
#ifndef RIGWATCH_AGENT_POLLER_POLLER_H_
#define RIGWATCH_AGENT_POLLER_POLLER_H_

#include <atomic>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/periodic_worker.h"
#include "agent/common/status.h"
#include "agent/poller/engine.h"
#include "agent/poller/types.h"

namespace prometheus {
class Registry;
}

namespace rigwatch {

class EventLoop;
class LoopTransport;

class Poller {
 public:
  // Validates `opts`, registers the self-metrics in `registry` (may be
  // null: no self-metrics) and starts the poller thread with no targets.
  // `sink`, `registry` and `clock` must outlive the Poller. `lookup` maps a
  // kind to its exporter (FindExporter in production).
  static Result<std::unique_ptr<Poller>> Start(
      const PollerOptions& opts, PollSink& sink, prometheus::Registry* registry,
      const Clock& clock = *SystemClock::Default(),
      ExporterLookup lookup = nullptr);
  // Stops the thread; exchanges in flight are aborted, pending restarts
  // fail with Unavailable.
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Replaces the targets (see PollEngine::SetTargets). Thread-safe; blocks
  // until the poller thread applied it. From a PollSink callback it is
  // applied on the next loop turn instead, returns Ok and logs problems.
  Status SetTargets(std::vector<MinerTarget> targets);

  // Asks a configured miner to restart, after its poll in flight if any.
  // Thread-safe; blocks the caller (never the poller thread) for at most
  // about `timeout`. Must not be called from a PollSink callback. Returns
  // Ok, NotFound, PermissionDenied (the miner refuses), DeadlineExceeded or
  // the transport error. A requested `stop` ends the wait within 100 ms
  // with Unavailable (the exchange itself goes on until the poller stops).
  Status RestartMiner(const std::string& name, Duration timeout,
                      std::stop_token stop = {});

 private:
  Poller(const PollerOptions& opts, PollSink& sink, const Clock& clock);
  // One turn of the poller thread: the engine's due work, then the event
  // loop until the next due time (Stop wakes it).
  void Turn(std::stop_token st);
  bool OnLoopThread() const;

  PollerOptions opts_;
  PollSink& sink_;
  const Clock& clock_;
  std::unique_ptr<PollerMetrics> metrics_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<LoopTransport> transport_;
  std::unique_ptr<PollEngine> engine_;
  PeriodicWorker thread_{"poller", [this](std::stop_token st) {
                           Turn(st);
                           return Duration::zero();  // the loop waited
                         }};
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_POLLER_H_
