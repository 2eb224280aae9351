// The one background loop: a thread that runs a tick, sleeps until the tick's
// next due time, and is woken early by Wake() or by Stop(). Every periodic
// thread of the agent (outbox sender, actions worker, store writer and
// maintenance, poller, rule thread) is one of these, so stopping and waking
// work the same everywhere and no loop hand-rolls a stop flag.
//
//   PeriodicWorker w("outbox", [this](std::stop_token st) {
//     RunDue();
//     return NextDue();  // how long to sleep before the next tick
//   });
//   w.Start(); ... w.Wake(); ... w.Stop();
//
// Wake may be called from any thread, the tick included. Start and Stop
// belong to the owner (one thread at a time), never to the tick itself
// (Stop would join its own thread).
//
// Heartbeat: a running worker beats when a tick starts and ends, and about
// once a second while it sleeps; a tick that works in long steps calls
// Beat() between them. A worker that has not beaten within its stall bound
// is stuck: its thread is inside one tick for too long (a lock never
// released, a hung disk, a call without a timeout). Loops() lists every
// running worker of the process with its last beat; /healthz and the
// systemd watchdog are built on it.
#ifndef RIGWATCH_AGENT_COMMON_PERIODIC_WORKER_H_
#define RIGWATCH_AGENT_COMMON_PERIODIC_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/clock.h"

namespace rigwatch {

class PeriodicWorker {
 public:
  // Runs once per tick on the worker thread and returns how long to sleep
  // before the next one (zero or less: at once). The token is stopped when
  // Stop() is called, for ticks that wait on something themselves.
  using Tick = std::function<Duration(std::stop_token)>;

  PeriodicWorker(std::string name, Tick tick);
  // A tick that always sleeps `interval`; its stall bound is derived from
  // it (StallBoundFor).
  PeriodicWorker(std::string name, Duration interval,
                 std::function<void()> tick);

  // The bound of a worker nobody set one for.
  static constexpr Duration kDefaultStallBound = std::chrono::seconds(60);
  // A bound for a loop whose tick runs every `interval` and should take a
  // fraction of it: five intervals, at least `floor`.
  static Duration StallBoundFor(Duration interval,
                                Duration floor = std::chrono::seconds(15));
  ~PeriodicWorker();  // Stop()s

  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Starts the thread; the first tick runs after `first_wait` (at once by
  // default; Wake() and Stop() end that wait too). A no-op while running.
  // After Stop() it may be started again.
  void Start(Duration first_wait = Duration::zero());
  // Wakes the sleep and joins the thread; a tick in progress is finished
  // first (it sees its token stopped). Idempotent.
  void Stop();
  // Asks the thread to stop (the tick's token is stopped, the sleep ends)
  // without waiting for it; Stop() joins. For owners that stop several
  // workers at once.
  void RequestStop();
  // The next tick runs as soon as the current one (if any) returns: a wake
  // during a tick is not lost.
  void Wake();

  // How long a tick may run without a beat before the worker counts as
  // stuck. Any thread, any time.
  void SetStallBound(Duration bound);
  Duration stall_bound() const;
  // From a tick that is making progress: the worker is alive.
  void Beat();

  struct LoopStatus {
    std::string name;
    WallTime last_beat;  // system clock
    Duration since;      // since the last beat (steady clock)
    Duration stall_bound;
    bool stuck = false;  // since > stall_bound
  };
  // Every running worker of the process, in no particular order (names
  // may repeat: two stores, two lanes to one receiver).
  static std::vector<LoopStatus> Loops();

  bool running() const;
  // True on the worker thread itself (for code a tick calls back into).
  bool OnWorkerThread() const;
  // Ticks completed since construction.
  uint64_t ticks() const;
  const std::string& name() const { return name_; }

 private:
  void Run(std::stop_token st, Duration first_wait);
  // Sleeps up to `wait` or until woken or stopped, beating meanwhile
  // (mu_ held through `l`). True when woken.
  void Sleep(std::unique_lock<std::mutex>& l, std::stop_token st,
             Duration wait);

  const std::string name_;
  const Tick tick_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool wake_ = false;
  uint64_t ticks_ = 0;
  std::atomic<int64_t> stall_bound_ns_;
  std::atomic<int64_t> beat_steady_ns_{0};
  std::atomic<int64_t> beat_wall_ms_{0};
  // The running thread's id, kept until it is joined (so a tick that runs
  // while Stop() waits still knows it is on the worker thread).
  std::thread::id id_;
  std::jthread thread_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_PERIODIC_WORKER_H_
