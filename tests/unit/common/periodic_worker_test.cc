// PeriodicWorker's contract, synchronised on the worker's own events (a
// tick entered, a tick count reached), never on sleeps: the interval is an
// hour, so anything that happens within the test happened because of Start,
// Wake or Stop.
#include "agent/common/periodic_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tests/support/wait.h"

namespace rigwatch {
namespace {

constexpr Duration kHour = std::chrono::hours(1);

// Counts ticks and lets the test wait for a count.
class TickLog {
 public:
  void Tick() {
    std::lock_guard<std::mutex> l(mu_);
    ++n_;
    cv_.notify_all();
  }
  // Waits (bounded, so a broken worker fails instead of hanging) until at
  // least `n` ticks ran.
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] { return n_ >= n; });
  }
  int count() {
    std::lock_guard<std::mutex> l(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

TEST(PeriodicWorkerTest, FirstTickAtStartThenOnlyOnWake) {
  TickLog log;
  PeriodicWorker w("test", kHour, [&] { log.Tick(); });
  EXPECT_FALSE(w.running());
  w.Start();
  EXPECT_TRUE(w.running());
  ASSERT_TRUE(log.WaitFor(1));
  w.Wake();
  ASSERT_TRUE(log.WaitFor(2));
  w.Wake();
  ASSERT_TRUE(log.WaitFor(3));
  w.Stop();
  EXPECT_FALSE(w.running());
  // Stopped: the count is final, and Stop did not wait for the hour.
  EXPECT_EQ(log.count(), 3);
  EXPECT_EQ(w.ticks(), 3u);
}

TEST(PeriodicWorkerTest, StopEndsTheSleepAndIsIdempotent) {
  TickLog log;
  PeriodicWorker w("test", kHour, [&] { log.Tick(); });
  w.Start();
  ASSERT_TRUE(log.WaitFor(1));
  const auto t0 = std::chrono::steady_clock::now();
  w.Stop();
  w.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::minutes(1));
  EXPECT_EQ(log.count(), 1);
}

TEST(PeriodicWorkerTest, AWakeDuringATickIsNotLost) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  std::atomic<int> ticks{0};
  TickLog log;
  PeriodicWorker w("test", [&](std::stop_token) {
    if (ticks.fetch_add(1) == 0) {
      std::unique_lock<std::mutex> l(mu);
      entered = true;
      cv.notify_all();
      cv.wait(l, [&] { return release; });
    }
    log.Tick();
    return kHour;
  });
  w.Start();
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return entered; });
  }
  w.Wake();  // while the first tick runs
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(log.WaitFor(2));  // the wake gave a second tick
  w.Stop();
  EXPECT_EQ(log.count(), 2);
}

TEST(PeriodicWorkerTest, ATickWaitingOnItsTokenIsReleasedByStop) {
  std::mutex mu;
  std::condition_variable_any cv;
  TickLog entered;
  bool saw_stop = false;
  PeriodicWorker w("test", [&](std::stop_token st) {
    entered.Tick();
    std::unique_lock<std::mutex> l(mu);
    // Waits for nothing but the stop request.
    cv.wait(l, st, [] { return false; });
    saw_stop = st.stop_requested();
    return kHour;
  });
  w.Start();
  ASSERT_TRUE(entered.WaitFor(1));
  w.Stop();
  EXPECT_TRUE(saw_stop);
  EXPECT_EQ(w.ticks(), 1u);
}

TEST(PeriodicWorkerTest, RestartsAfterStop) {
  TickLog log;
  PeriodicWorker w("test", kHour, [&] { log.Tick(); });
  w.Start();
  ASSERT_TRUE(log.WaitFor(1));
  w.Stop();
  w.Start();
  ASSERT_TRUE(log.WaitFor(2));
  w.Stop();
  EXPECT_EQ(log.count(), 2);
}

TEST(PeriodicWorkerTest, AFirstWaitDelaysTheFirstTickUntilWake) {
  TickLog log;
  std::atomic<bool> on_worker{false};
  PeriodicWorker* self = nullptr;
  PeriodicWorker w("test", kHour, [&] {
    on_worker = self->OnWorkerThread();
    log.Tick();
  });
  self = &w;
  w.Start(kHour);
  EXPECT_FALSE(w.OnWorkerThread());
  EXPECT_EQ(w.ticks(), 0u);  // the hour has not passed
  w.Wake();
  ASSERT_TRUE(log.WaitFor(1));
  EXPECT_TRUE(on_worker);
  w.Stop();
  EXPECT_EQ(log.count(), 1);
}

TEST(PeriodicWorkerTest, StopDuringTheFirstWaitRunsNoTick) {
  TickLog log;
  PeriodicWorker w("test", kHour, [&] { log.Tick(); });
  w.Start(kHour);
  w.Stop();
  EXPECT_EQ(log.count(), 0);
}

// The one worker named `name` among the running ones, if any.
std::optional<PeriodicWorker::LoopStatus> LoopNamed(const std::string& name) {
  std::optional<PeriodicWorker::LoopStatus> found;
  for (PeriodicWorker::LoopStatus& s : PeriodicWorker::Loops()) {
    if (s.name == name) found = std::move(s);
  }
  return found;
}

TEST(PeriodicWorkerTest, ASleepingWorkerKeepsBeating) {
  TickLog log;
  PeriodicWorker w("sleeper", kHour, [&] { log.Tick(); });
  w.SetStallBound(std::chrono::milliseconds(200));
  w.Start();
  ASSERT_TRUE(log.WaitFor(1));
  // Five bounds asleep: never stuck, and the beat stays fresh.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until) {
    std::optional<PeriodicWorker::LoopStatus> s = LoopNamed("sleeper");
    ASSERT_TRUE(s.has_value());
    EXPECT_FALSE(s->stuck) << "since " << s->since.count() << " ns";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  w.Stop();
  EXPECT_FALSE(LoopNamed("sleeper").has_value()) << "a stopped worker is gone";
}

TEST(PeriodicWorkerTest, ATickRunningPastItsBoundIsStuckUntilItReturns) {
  std::mutex mu;
  std::condition_variable_any cv;
  bool release = false;
  TickLog entered;
  PeriodicWorker w("wedged", [&](std::stop_token st) {
    entered.Tick();
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, st, [&] { return release; });
    release = false;
    return kHour;
  });
  w.SetStallBound(std::chrono::milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  w.Start();
  ASSERT_TRUE(entered.WaitFor(1));
  ASSERT_TRUE(test_support::WaitFor(
      [] {
        auto s = LoopNamed("wedged");
        return s && s->stuck;
      },
      std::chrono::seconds(10)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0,
            std::chrono::milliseconds(300))
      << "stuck only once the bound passed";
  {
    std::lock_guard<std::mutex> l(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(test_support::WaitFor(
      [] {
        auto s = LoopNamed("wedged");
        return s && !s->stuck;
      },
      std::chrono::seconds(10)));
  w.Stop();
}

TEST(PeriodicWorkerTest, BeatFromALongTickKeepsItAlive) {
  std::atomic<bool> done{false};
  PeriodicWorker* self = nullptr;
  PeriodicWorker w("stepper", [&](std::stop_token st) {
    // Ten steps of 50 ms against a 200 ms bound, beating between them.
    for (int i = 0; i < 10 && !st.stop_requested(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      self->Beat();
      auto s = LoopNamed("stepper");
      if (s && s->stuck) ADD_FAILURE() << "stuck at step " << i;
    }
    done = true;
    return kHour;
  });
  self = &w;
  w.SetStallBound(std::chrono::milliseconds(200));
  w.Start();
  ASSERT_TRUE(test_support::WaitFor([&] { return done.load(); },
                                    std::chrono::seconds(10)));
  w.Stop();
}

TEST(PeriodicWorkerTest, TheIntervalGivesTheDefaultBound) {
  PeriodicWorker w("x", std::chrono::seconds(10), [] {});
  EXPECT_EQ(w.stall_bound(), std::chrono::seconds(50));
  PeriodicWorker v("y", std::chrono::seconds(1), [] {});
  EXPECT_EQ(v.stall_bound(), std::chrono::seconds(15));
  PeriodicWorker u("z", [](std::stop_token) { return kHour; });
  EXPECT_EQ(u.stall_bound(), PeriodicWorker::kDefaultStallBound);
}

}  // namespace
}  // namespace rigwatch
