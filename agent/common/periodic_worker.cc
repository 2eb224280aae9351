#include "agent/common/periodic_worker.h"

#include <utility>

namespace rigwatch {

PeriodicWorker::PeriodicWorker(std::string name, Tick tick)
    : name_(std::move(name)), tick_(std::move(tick)) {}

PeriodicWorker::PeriodicWorker(std::string name, Duration interval,
                               std::function<void()> tick)
    : PeriodicWorker(std::move(name),
                     [interval, tick = std::move(tick)](std::stop_token) {
                       tick();
                       return interval;
                     }) {}

PeriodicWorker::~PeriodicWorker() { Stop(); }

void PeriodicWorker::Start(Duration first_wait) {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  wake_ = false;
  thread_ = std::jthread(
      [this, first_wait](std::stop_token st) { Run(st, first_wait); });
  id_ = thread_.get_id();
}

void PeriodicWorker::Stop() {
  std::jthread t;
  {
    std::lock_guard<std::mutex> l(mu_);
    t = std::move(thread_);
  }
  if (!t.joinable()) return;
  // request_stop wakes the wait below: it is registered with the token.
  t.request_stop();
  t.join();
  std::lock_guard<std::mutex> l(mu_);
  id_ = std::thread::id();
}

void PeriodicWorker::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

bool PeriodicWorker::running() const {
  std::lock_guard<std::mutex> l(mu_);
  return thread_.joinable();
}

bool PeriodicWorker::OnWorkerThread() const {
  std::lock_guard<std::mutex> l(mu_);
  return id_ == std::this_thread::get_id();
}

uint64_t PeriodicWorker::ticks() const {
  std::lock_guard<std::mutex> l(mu_);
  return ticks_;
}

void PeriodicWorker::Run(std::stop_token st, Duration first_wait) {
  if (first_wait > Duration::zero()) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, st, first_wait, [this] { return wake_; });
  }
  while (!st.stop_requested()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      wake_ = false;  // this tick covers every wake before it
    }
    const Duration wait = tick_(st);
    std::unique_lock<std::mutex> l(mu_);
    ++ticks_;
    if (wait > Duration::zero()) {
      cv_.wait_for(l, st, wait, [this] { return wake_; });
    }
  }
}

}  // namespace rigwatch
