// The event loop and connection I/O of FleetSim: accept, read, write with
// backpressure, trickle and model timers. Loop thread only.
#include "tests/sim/fleet_sim.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "agent/common/log.h"
#include "tests/sim/braiins_replies.h"

namespace rigwatch::sim {
namespace {

using RealClock = std::chrono::steady_clock;

}  // namespace

Status FleetSim::Start() {
  if (started_) return FailedPreconditionError("FleetSim already started");
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void FleetSim::Stop() {
  stop_.store(true);
  Poke();
  if (thread_.joinable()) thread_.join();
}

void FleetSim::Poke() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  // A full eventfd counter already guarantees a wake-up.
  if (write(wake_fd_, &one, sizeof one) < 0) return;
}

int FleetSim::NextTimeoutMs() {
  int timeout = 100;  // bounded, so a FakeClock advance is seen promptly
  if (!trickles_.empty()) {
    const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(
        trickles_.begin()->first - RealClock::now());
    timeout = std::min<int>(timeout, std::max<int64_t>(0, d.count() + 1));
  }
  if (!model_events_.empty()) {
    const auto d = std::chrono::duration_cast<std::chrono::milliseconds>(
        model_events_.begin()->first - clock_->SteadyNow());
    timeout = std::min<int>(timeout, std::max<int64_t>(0, d.count() + 1));
  }
  return timeout;
}

void FleetSim::Loop() {
  epoll_event events[256];
  while (!stop_.load()) {
    const int n = epoll_wait(epoll_fd_, events, 256, NextTimeoutMs());
    if (n < 0 && errno != EINTR) {
      LogError("fleet_sim_epoll").Kv("err", ErrnoToStatus(errno, "epoll_wait"));
      return;
    }
    for (int k = 0; k < n; ++k) {
      const uint64_t tok = events[k].data.u64;
      const uint64_t tag = tok & kTagMask;
      const uint64_t id = tok & ~kTagMask;
      if (tag == kListenerTag) {
        OnAccept(static_cast<uint32_t>(id));
      } else if (tag == kControlTag) {
        OnControlAccept();
      } else if (tag == kWakeTag) {
        uint64_t v;
        if (read(wake_fd_, &v, sizeof v) < 0) continue;  // spurious wake
      } else if (tag == kConnTag) {
        if (events[k].events & (EPOLLOUT)) OnWritable(id);
        if (events[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnReadable(id);
      }
    }
    RunTimers();
  }
}

void FleetSim::OnAccept(uint32_t i) {
  Miner& m = miners_[i];
  for (int k = 0; k < 64 && m.listen_fd >= 0; ++k) {
    const int fd =
        accept4(m.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a client that already left
    const uint64_t id = next_conn_id_++;
    Conn& c = conns_[id];
    c.fd = fd;
    c.miner = static_cast<int>(i);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kConnTag | id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void FleetSim::OnControlAccept() {
  for (int k = 0; k < 64; ++k) {
    const int fd =
        accept4(control_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    const uint64_t id = next_conn_id_++;
    Conn& c = conns_[id];
    c.fd = fd;
    c.miner = -1;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kConnTag | id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void FleetSim::OnReadable(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  const bool cgminer = c.miner >= 0 && !c.http &&
                       FamilyOf(views_[static_cast<size_t>(c.miner)].variant) ==
                           Family::kCgminer;
  if (cgminer && !c.got_request) {
    // cgminer does a single recv() of at most 4095 bytes (docs/protocols.md
    // §2.1).
    char buf[4096];
    const ssize_t n = recv(c.fd, buf, 4095, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      Close(id, false);
      return;
    }
    const std::string_view first(buf, static_cast<size_t>(n));
    const Variant v = views_[static_cast<size_t>(c.miner)].variant;
    if ((v == Variant::kAntminerS19 || v == Variant::kVnishS19XP ||
         IsBraiins(v)) &&
        (first.rfind("GET ", 0) == 0 || first.rfind("POST ", 0) == 0 ||
         first.rfind("PUT ", 0) == 0)) {
      c.http = true;  // the web CGI on the same port
      c.in.append(first);
      ProcessHttp(id);
      return;
    }
    c.got_request = true;
    HandleCgminer(id, first);
    return;
  }
  char buf[65536];
  const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    Close(id, false);
    return;
  }
  if (cgminer || c.silent) return;  // read and dropped, as the firmware does
  c.in.append(buf, static_cast<size_t>(n));
  if (c.in.size() > (4u << 20)) {  // a client flooding a slow reply
    Close(id, true);
    return;
  }
  if (!c.writing) ProcessHttp(id);
}

void FleetSim::OnWritable(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second.trickle_ms > 0) return;
  Flush(id);
}

void FleetSim::SetEpollOut(Conn& c, uint64_t id, bool on) {
  if (c.epollout == on) return;
  c.epollout = on;
  epoll_event ev{};
  ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
  ev.data.u64 = kConnTag | id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

void FleetSim::Close(uint64_t id, bool rst) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (rst) {
    // SO_LINGER 0: close() sends RST instead of FIN.
    linger l{1, 0};
    setsockopt(it->second.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close(it->second.fd);  // also removes it from the epoll set
  conns_.erase(it);
}

void FleetSim::StartReply(uint64_t id) {
  Conn& c = conns_.at(id);
  c.writing = true;
  if (c.trickle_ms > 0) {
    trickles_.emplace(RealClock::now(), id);
    return;
  }
  Flush(id);
}

bool FleetSim::Flush(uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return false;
  Conn& c = it->second;
  const size_t limit = c.trickle_ms > 0 ? 1 : SIZE_MAX;
  size_t budget = limit;
  while (budget > 0) {
    const char* p;
    size_t len;
    if (c.out_off < c.out.size()) {
      p = c.out.data() + c.out_off;
      len = c.out.size() - c.out_off;
    } else if (c.tail && c.tail_off < c.tail->size()) {
      p = c.tail->data() + c.tail_off;
      len = c.tail->size() - c.tail_off;
    } else {
      break;
    }
    len = std::min(len, budget);
    const ssize_t n = send(c.fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        if (c.trickle_ms == 0) {
          SetEpollOut(c, id, true);
        } else {
          trickles_.emplace(
              RealClock::now() + std::chrono::milliseconds(c.trickle_ms), id);
        }
        return true;
      }
      Close(id, false);  // the client went away
      return false;
    }
    if (c.out_off < c.out.size()) {
      c.out_off += static_cast<size_t>(n);
    } else {
      c.tail_off += static_cast<size_t>(n);
    }
    if (limit != SIZE_MAX) budget -= static_cast<size_t>(n);
  }
  const bool done =
      c.out_off >= c.out.size() && (!c.tail || c.tail_off >= c.tail->size());
  if (!done) {
    if (c.trickle_ms > 0) {
      trickles_.emplace(
          RealClock::now() + std::chrono::milliseconds(c.trickle_ms), id);
    }
    return true;
  }
  ReplyDone(id);
  return conns_.count(id) > 0;
}

void FleetSim::ReplyDone(uint64_t id) {
  Conn& c = conns_.at(id);
  if (c.rst_after || c.close_after) {
    Close(id, c.rst_after);
    return;
  }
  SetEpollOut(c, id, false);
  c.out.clear();
  c.out_off = 0;
  c.tail.reset();
  c.tail_off = 0;
  c.writing = false;
  c.trickle_ms = 0;
  if (!c.in.empty()) ProcessHttp(id);  // the next keep-alive request
}

void FleetSim::RunTimers() {
  const auto real_now = RealClock::now();
  while (!trickles_.empty() && trickles_.begin()->first <= real_now) {
    const uint64_t id = trickles_.begin()->second;
    trickles_.erase(trickles_.begin());
    Flush(id);
  }
  const SteadyTime now = clock_->SteadyNow();
  while (!model_events_.empty() && model_events_.begin()->first <= now) {
    const ModelEvent e = model_events_.begin()->second;
    model_events_.erase(model_events_.begin());
    Miner& m = miners_[e.miner];
    if (e.gen != m.gen) continue;  // superseded by a later reboot
    if (e.kind == ModelEventKind::kRebootStart) {
      Reboot(e.miner, options_.reboot_downtime);
    } else if (!m.faults.refuse) {
      Status st = Listen(e.miner);
      if (!st.ok()) {
        LogWarn("fleet_sim_relisten").Kv("miner", m.id.name).Kv("err", st);
      }
    }
  }
}

}  // namespace rigwatch::sim
