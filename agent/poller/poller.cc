#include "agent/poller/poller.h"

#include <future>

#include "agent/common/log.h"
#include "agent/poller/event_loop.h"
#include "agent/poller/exchange.h"
#include "agent/poller/loop_transport.h"
#include "exporters/registry.h"

namespace rigwatch {
namespace {

ExporterLookup OrDefault(ExporterLookup lookup) {
  if (lookup) return lookup;
  return [](std::string_view kind) { return FindExporter(kind); };
}

// The loop sleeps on the real steady clock; the engine's times come from
// `clock`. Convert through "how long from now".
SteadyTime ToLoopTime(const Clock& clock, SteadyTime t) {
  return std::chrono::steady_clock::now() + (t - clock.SteadyNow());
}

}  // namespace

Poller::Poller(const PollerOptions& opts, PollSink& sink, const Clock& clock)
    : opts_(opts), sink_(sink), clock_(clock) {}

Result<std::unique_ptr<Poller>> Poller::Start(const PollerOptions& opts,
                                              PollSink& sink,
                                              prometheus::Registry* registry,
                                              const Clock& clock,
                                              ExporterLookup lookup) {
  RW_RETURN_IF_ERROR(ValidatePollerOptions(opts));
  std::unique_ptr<Poller> p(new Poller(opts, sink, clock));
  if (registry != nullptr) {
    RW_ASSIGN_OR_RETURN(p->metrics_, PollerMetrics::Create(*registry));
  }
  RW_ASSIGN_OR_RETURN(p->loop_, EventLoop::Create());
  p->transport_ =
      std::make_unique<LoopTransport>(*p->loop_, opts.max_hosts_per_curl_multi);
  p->engine_ = std::make_unique<PollEngine>(
      opts, clock, *p->transport_, sink, p->metrics_.get(),
      OrDefault(std::move(lookup)),
      static_cast<uint64_t>(clock.SteadyNow().time_since_epoch().count()));
  // A turn waits at most until the next round is due.
  p->thread_.SetStallBound(PeriodicWorker::StallBoundFor(opts.interval));
  p->thread_.Start();
  return p;
}

Poller::~Poller() {
  thread_.Stop();
  // The thread is gone: the engine (aborting its exchanges and failing
  // pending restarts), then the transport, then the loop.
  engine_.reset();
  transport_.reset();
  loop_.reset();
}

bool Poller::OnLoopThread() const { return thread_.OnWorkerThread(); }

void Poller::Turn(std::stop_token st) {
  // Runs at once if the stop came before this turn: the wake is not lost.
  std::stop_callback wake(st, [this] { loop_->Wake(); });
  const SteadyTime next = engine_->Tick();
  loop_->RunOnce(ToLoopTime(clock_, next));
}

Status Poller::SetTargets(std::vector<MinerTarget> targets) {
  if (OnLoopThread()) {
    // From a sink callback: the engine is mid-call, so apply it on the next
    // loop turn and log what it skipped.
    loop_->Post([this, t = std::move(targets)]() mutable {
      Status st = engine_->SetTargets(std::move(t));
      if (!st.ok()) LogWarn("poller_targets_skipped").Kv("err", st);
    });
    return Status::Ok();
  }
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> f = done->get_future();
  loop_->Post([this, done, t = std::move(targets)]() mutable {
    done->set_value(engine_->SetTargets(std::move(t)));
  });
  return f.get();
}

Status Poller::RestartMiner(const std::string& name, Duration timeout,
                            std::stop_token stop) {
  if (OnLoopThread()) {
    return FailedPreconditionError(
        "restart: called on the poller thread (it would block polling)");
  }
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> f = done->get_future();
  loop_->Post([this, done, name, timeout] {
    engine_->Restart(name, timeout,
                     [done](Status st) { done->set_value(std::move(st)); });
  });
  // The engine answers by `timeout` on its own; the margin covers a busy
  // loop. The promise is shared, so a late answer is harmless. Waited in
  // slices so that a stopping agent is not held up by a miner that never
  // answers.
  const auto deadline =
      std::chrono::steady_clock::now() + timeout + std::chrono::seconds(2);
  for (;;) {
    if (f.wait_for(std::chrono::milliseconds(100)) ==
        std::future_status::ready) {
      return f.get();
    }
    if (stop.stop_requested()) {
      return UnavailableError("restart " + name +
                              ": interrupted, the agent is stopping");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return DeadlineExceededError("restart " + name + ": no answer in time");
    }
  }
}

}  // namespace rigwatch
