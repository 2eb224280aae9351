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
#ifndef RIGWATCH_AGENT_COMMON_PERIODIC_WORKER_H_
#define RIGWATCH_AGENT_COMMON_PERIODIC_WORKER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "agent/common/clock.h"

namespace rigwatch {

class PeriodicWorker {
 public:
  // Runs once per tick on the worker thread and returns how long to sleep
  // before the next one (zero or less: at once). The token is stopped when
  // Stop() is called, for ticks that wait on something themselves.
  using Tick = std::function<Duration(std::stop_token)>;

  PeriodicWorker(std::string name, Tick tick);
  // A tick that always sleeps `interval`.
  PeriodicWorker(std::string name, Duration interval,
                 std::function<void()> tick);
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
  // The next tick runs as soon as the current one (if any) returns: a wake
  // during a tick is not lost.
  void Wake();

  bool running() const;
  // True on the worker thread itself (for code a tick calls back into).
  bool OnWorkerThread() const;
  // Ticks completed since construction.
  uint64_t ticks() const;
  const std::string& name() const { return name_; }

 private:
  void Run(std::stop_token st, Duration first_wait);

  const std::string name_;
  const Tick tick_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool wake_ = false;
  uint64_t ticks_ = 0;
  // The running thread's id, kept until it is joined (so a tick that runs
  // while Stop() waits still knows it is on the worker thread).
  std::thread::id id_;
  std::jthread thread_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_PERIODIC_WORKER_H_
