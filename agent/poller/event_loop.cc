#include "agent/poller/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

namespace rigwatch {
namespace {
constexpr uint64_t kWakeToken = 0;  // watch ids start at 1
}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return ErrnoToStatus(errno, "epoll_create1");
  int wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd < 0) {
    Status st = ErrnoToStatus(errno, "eventfd");
    close(epfd);
    return st;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) {
    Status st = ErrnoToStatus(errno, "epoll_ctl wake");
    close(wakefd);
    close(epfd);
    return st;
  }
  return std::unique_ptr<EventLoop>(new EventLoop(epfd, wakefd));
}

EventLoop::EventLoop(int epfd, int wakefd) : epfd_(epfd), wakefd_(wakefd) {}

EventLoop::~EventLoop() {
  close(wakefd_);
  close(epfd_);
}

Result<EventLoop::WatchId> EventLoop::Add(int fd, uint32_t events,
                                          FdHandler handler) {
  const WatchId id = next_watch_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return ErrnoToStatus(errno, "epoll_ctl add");
  }
  watches_.emplace(id, Watch{fd, std::move(handler)});
  return id;
}

Status EventLoop::Modify(WatchId id, uint32_t events) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return NotFoundError("epoll watch gone");
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, it->second.fd, &ev) != 0) {
    return ErrnoToStatus(errno, "epoll_ctl mod");
  }
  return Status::Ok();
}

void EventLoop::Remove(WatchId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  // Failure means the fd is already closed (it left the epoll set with it).
  epoll_ctl(epfd_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  watches_.erase(it);
}

EventLoop::TimerId EventLoop::AddTimer(SteadyTime when,
                                       std::function<void()> fn) {
  const TimerId id = next_timer_++;
  timer_order_.emplace(when, id);
  timers_.emplace(id, std::make_pair(when, std::move(fn)));
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto range = timer_order_.equal_range(it->second.first);
  for (auto o = range.first; o != range.second; ++o) {
    if (o->second == id) {
      timer_order_.erase(o);
      break;
    }
  }
  timers_.erase(it);
}

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(mu_);
    posted_.push_back(std::move(fn));
  }
  Wake();
}

void EventLoop::Wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop wakes anyway.
  [[maybe_unused]] ssize_t n = write(wakefd_, &one, sizeof(one));
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> l(mu_);
    work.swap(posted_);
  }
  for (auto& fn : work) fn();
}

void EventLoop::RunTimers() {
  const SteadyTime now = std::chrono::steady_clock::now();
  // Timers added by a running timer for `now` run at the next turn, so a
  // zero-delay re-arm cannot starve fd events.
  std::vector<TimerId> due;
  for (auto it = timer_order_.begin();
       it != timer_order_.end() && it->first <= now; ++it) {
    due.push_back(it->second);
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier timer
    std::function<void()> fn = std::move(it->second.second);
    CancelTimer(id);
    fn();
  }
}

void EventLoop::RunOnce(SteadyTime deadline) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!posted_.empty()) deadline = SteadyTime::min();
  }
  if (!timer_order_.empty()) {
    deadline = std::min(deadline, timer_order_.begin()->first);
  }
  const SteadyTime now = std::chrono::steady_clock::now();
  int timeout_ms = 0;
  if (deadline > now) {
    // Round up so the loop does not spin in the last sub-millisecond.
    const auto ms =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    timeout_ms = static_cast<int>(std::min<int64_t>(ms.count(), 60'000));
  }
  epoll_event events[256];
  const int n = epoll_wait(epfd_, events, 256, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const uint64_t id = events[i].data.u64;
    if (id == kWakeToken) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = read(wakefd_, &v, sizeof(v));
      continue;
    }
    auto it = watches_.find(id);
    // A handler earlier in this batch may have removed this watch.
    if (it == watches_.end()) continue;
    FdHandler h = it->second.handler;  // copy: the handler may Remove itself
    h(events[i].events);
  }
  RunTimers();
  RunPosted();
}

}  // namespace rigwatch
