#include "agent/common/periodic_worker.h"

#include <algorithm>
#include <set>
#include <utility>

#ifdef RIGWATCH_TEST_HOOKS
#include <stdlib.h>
#include <unistd.h>
#endif

namespace rigwatch {
namespace {

// While asleep a worker beats this often, or four times per stall bound if
// that is shorter.
constexpr Duration kSleepBeat = std::chrono::seconds(1);
constexpr Duration kMinSleepBeat = std::chrono::milliseconds(10);

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The running workers, for Loops().
std::mutex& RegistryMu() {
  static std::mutex mu;
  return mu;
}
std::set<const PeriodicWorker*>& Registry() {
  static std::set<const PeriodicWorker*> workers;
  return workers;
}

#ifdef RIGWATCH_TEST_HOOKS
// Test builds only: RIGWATCH_TEST_STALL="<worker name>:<file>", read once.
// While <file> exists, each tick of that worker waits before it runs,
// without beating (a wedged loop, for the /healthz and watchdog tests).
// Stop() still ends the wait.
void StallForTest(const std::string& name, const std::stop_token& st) {
  static const std::pair<std::string, std::string> spec = [] {
    const char* v = ::getenv("RIGWATCH_TEST_STALL");
    std::string s = v ? v : "";
    auto colon = s.find(':');
    if (colon == std::string::npos)
      return std::pair<std::string, std::string>();
    return std::make_pair(s.substr(0, colon), s.substr(colon + 1));
  }();
  if (spec.first.empty() || spec.first != name) return;
  while (!st.stop_requested() && ::access(spec.second.c_str(), F_OK) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}
#endif

}  // namespace

Duration PeriodicWorker::StallBoundFor(Duration interval, Duration floor) {
  return std::max<Duration>(5 * interval, floor);
}

PeriodicWorker::PeriodicWorker(std::string name, Tick tick)
    : name_(std::move(name)),
      tick_(std::move(tick)),
      stall_bound_ns_(kDefaultStallBound.count()) {}

PeriodicWorker::PeriodicWorker(std::string name, Duration interval,
                               std::function<void()> tick)
    : PeriodicWorker(std::move(name),
                     [interval, tick = std::move(tick)](std::stop_token) {
                       tick();
                       return interval;
                     }) {
  SetStallBound(StallBoundFor(interval));
}

PeriodicWorker::~PeriodicWorker() { Stop(); }

void PeriodicWorker::Start(Duration first_wait) {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) return;
  wake_ = false;
  Beat();  // a fresh worker is alive
  thread_ = std::jthread(
      [this, first_wait](std::stop_token st) { Run(st, first_wait); });
  id_ = thread_.get_id();
  std::lock_guard<std::mutex> r(RegistryMu());
  Registry().insert(this);
}

void PeriodicWorker::Stop() {
  std::jthread t;
  {
    std::lock_guard<std::mutex> l(mu_);
    t = std::move(thread_);
  }
  if (!t.joinable()) return;
  {
    // A stopping worker is no longer watched: its last tick may be long
    // (it finishes first), and shutdown has its own bound.
    std::lock_guard<std::mutex> r(RegistryMu());
    Registry().erase(this);
  }
  // request_stop wakes the wait below: it is registered with the token.
  t.request_stop();
  t.join();
  std::lock_guard<std::mutex> l(mu_);
  id_ = std::thread::id();
}

void PeriodicWorker::RequestStop() {
  std::lock_guard<std::mutex> l(mu_);
  if (thread_.joinable()) thread_.request_stop();
}

void PeriodicWorker::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void PeriodicWorker::SetStallBound(Duration bound) {
  stall_bound_ns_.store(
      std::chrono::duration_cast<std::chrono::nanoseconds>(bound).count());
}

Duration PeriodicWorker::stall_bound() const {
  return std::chrono::nanoseconds(stall_bound_ns_.load());
}

void PeriodicWorker::Beat() {
  beat_steady_ns_.store(SteadyNs());
  beat_wall_ms_.store(ToUnixMillis(SystemClock::Default()->Now()));
}

std::vector<PeriodicWorker::LoopStatus> PeriodicWorker::Loops() {
  const int64_t now = SteadyNs();
  std::vector<LoopStatus> out;
  std::lock_guard<std::mutex> r(RegistryMu());
  for (const PeriodicWorker* w : Registry()) {
    LoopStatus s;
    s.name = w->name_;
    s.last_beat = FromUnixMillis(w->beat_wall_ms_.load());
    s.since = std::chrono::nanoseconds(now - w->beat_steady_ns_.load());
    s.stall_bound = w->stall_bound();
    s.stuck = s.since > s.stall_bound;
    out.push_back(std::move(s));
  }
  return out;
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

void PeriodicWorker::Sleep(std::unique_lock<std::mutex>& l, std::stop_token st,
                           Duration wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  const Duration beat =
      std::clamp<Duration>(stall_bound() / 4, kMinSleepBeat, kSleepBeat);
  while (!st.stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return;
    const Duration slice = std::min<Duration>(deadline - now, beat);
    const bool woken = cv_.wait_for(l, st, slice, [this] { return wake_; });
    Beat();
    if (woken) return;
  }
}

void PeriodicWorker::Run(std::stop_token st, Duration first_wait) {
  if (first_wait > Duration::zero()) {
    std::unique_lock<std::mutex> l(mu_);
    Sleep(l, st, first_wait);
  }
  while (!st.stop_requested()) {
    {
      std::lock_guard<std::mutex> l(mu_);
      wake_ = false;  // this tick covers every wake before it
    }
    Beat();
#ifdef RIGWATCH_TEST_HOOKS
    StallForTest(name_, st);
#endif
    const Duration wait = tick_(st);
    Beat();
    std::unique_lock<std::mutex> l(mu_);
    ++ticks_;
    if (wait > Duration::zero()) Sleep(l, st, wait);
  }
}

}  // namespace rigwatch
