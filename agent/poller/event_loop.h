// A minimal epoll loop: fd watches, one-shot timers on the steady clock and
// a thread-safe Post() to run work on the loop thread.
#ifndef RIGWATCH_AGENT_POLLER_EVENT_LOOP_H_
#define RIGWATCH_AGENT_POLLER_EVENT_LOOP_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"

namespace rigwatch {

// Every method except Post() and Wake() must be called on the loop thread.
class EventLoop {
 public:
  using FdHandler = std::function<void(uint32_t epoll_events)>;
  using WatchId = uint64_t;
  using TimerId = uint64_t;

  // Creates the epoll and wake-up descriptors.
  static Result<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN/EPOLLOUT). The handler may call
  // Modify/Remove, on this watch or another. The caller keeps owning fd and
  // must Remove the watch before closing it.
  Result<WatchId> Add(int fd, uint32_t events, FdHandler handler);
  Status Modify(WatchId id, uint32_t events);
  void Remove(WatchId id);

  // Runs `fn` once at or after `when` (steady clock).
  TimerId AddTimer(SteadyTime when, std::function<void()> fn);
  void CancelTimer(TimerId id);

  // Thread-safe: runs `fn` on the loop thread at its next turn.
  void Post(std::function<void()> fn);
  // Thread-safe: makes a blocked RunOnce return.
  void Wake();

  // Waits for events until `deadline` at the latest (or any timer due
  // earlier), then runs due fd handlers, timers and posted work.
  void RunOnce(SteadyTime deadline);

 private:
  EventLoop(int epfd, int wakefd);
  void RunPosted();
  void RunTimers();

  int epfd_;
  int wakefd_;
  struct Watch {
    int fd;
    FdHandler handler;
  };
  WatchId next_watch_ = 1;
  std::unordered_map<WatchId, Watch> watches_;
  TimerId next_timer_ = 1;
  std::multimap<SteadyTime, TimerId> timer_order_;
  std::unordered_map<TimerId, std::pair<SteadyTime, std::function<void()>>>
      timers_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_POLLER_EVENT_LOOP_H_
