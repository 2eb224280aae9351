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

namespace rigwatch::sim {
namespace {

// epoll tokens: the kind in the top byte, an index or id below.
constexpr uint64_t kListenerTag = 1ULL << 56;
constexpr uint64_t kConnTag = 2ULL << 56;
constexpr uint64_t kControlTag = 3ULL << 56;
constexpr uint64_t kWakeTag = 4ULL << 56;
constexpr uint64_t kTagMask = 0xffULL << 56;

using RealClock = std::chrono::steady_clock;

Result<int> BindListener(const std::string& ip, uint16_t port,
                         uint16_t* bound) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, "socket");
  const int one = 1;
  // Reboots close and re-open listeners; TIME_WAIT must not block that.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) {
    close(fd);
    return InvalidArgumentError("bad address " + ip);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoToStatus(err, "bind " + ip + ":" + std::to_string(port));
  }
  if (listen(fd, SOMAXCONN) != 0) {
    const int err = errno;
    close(fd);
    return ErrnoToStatus(err, "listen " + ip);
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound = ntohs(a.sin_port);
  return fd;
}

}  // namespace

Status RaiseFdLimit(uint64_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return ErrnoToStatus(errno, "getrlimit");
  }
  if (rl.rlim_cur >= want) return Status::Ok();
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    return ResourceExhaustedError(
        "RLIMIT_NOFILE hard limit " + std::to_string(rl.rlim_max) +
        " is below the " + std::to_string(want) + " descriptors needed");
  }
  rl.rlim_cur = want;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return ErrnoToStatus(errno, "setrlimit");
  }
  return Status::Ok();
}

FleetSim::FleetSim(FleetOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

Result<std::unique_ptr<FleetSim>> FleetSim::Create(FleetOptions options,
                                                   Clock* clock) {
  const SteadyTime now = clock->SteadyNow();
  RW_ASSIGN_OR_RETURN(std::vector<MinerPlan> plan, PlanFleet(options, now));
  // Listeners + headroom for client connections.
  RW_RETURN_IF_ERROR(RaiseFdLimit(plan.size() + 4096));
  std::unique_ptr<FleetSim> sim(new FleetSim(std::move(options), clock));
  sim->miners_.reserve(plan.size());
  sim->views_.reserve(plan.size());
  for (const MinerPlan& p : plan) {
    sim->views_.push_back({p.name, p.variant, p.ip, p.port});
    sim->miners_.push_back(Miner{
        MinerIdentity{p.name, p.index, p.ip},
        MinerModel(sim->options_.seed, p.index, p.variant, now), p.faults});
    sim->by_name_[p.name] = p.index;
  }
  sim->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (sim->epoll_fd_ < 0) return ErrnoToStatus(errno, "epoll_create1");
  sim->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (sim->wake_fd_ < 0) return ErrnoToStatus(errno, "eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  epoll_ctl(sim->epoll_fd_, EPOLL_CTL_ADD, sim->wake_fd_, &ev);

  std::string host;
  uint16_t port = 0;
  RW_RETURN_IF_ERROR(ParseHostPort(sim->options_.control, &host, &port)
                         .WithContext("--control"));
  uint16_t bound = 0;
  RW_ASSIGN_OR_RETURN(sim->control_fd_, BindListener(host, port, &bound));
  sim->control_address_ = host + ":" + std::to_string(bound);
  ev.data.u64 = kControlTag;
  epoll_ctl(sim->epoll_fd_, EPOLL_CTL_ADD, sim->control_fd_, &ev);

  for (uint32_t i = 0; i < plan.size(); ++i) {
    if (plan[i].reboot_at_start) {
      sim->Reboot(i, sim->options_.reboot_downtime);
    } else if (!plan[i].faults.refuse) {
      RW_RETURN_IF_ERROR(sim->Listen(i));
    } else {
      // A refusing miner still owns its port: bind once to resolve it.
      RW_RETURN_IF_ERROR(sim->Listen(i));
      sim->Unlisten(i);
    }
  }
  return sim;
}

FleetSim::~FleetSim() {
  Stop();
  for (auto& [id, c] : conns_) close(c.fd);
  conns_.clear();
  for (uint32_t i = 0; i < miners_.size(); ++i) Unlisten(i);
  if (control_fd_ >= 0) close(control_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

Status FleetSim::Listen(uint32_t i) {
  Miner& m = miners_[i];
  if (m.listen_fd >= 0) return Status::Ok();
  uint16_t bound = 0;
  RW_ASSIGN_OR_RETURN(m.listen_fd,
                      BindListener(views_[i].ip, views_[i].port, &bound));
  views_[i].port = bound;  // keeps a resolved port 0 stable across reboots
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag | i;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, m.listen_fd, &ev);
  return Status::Ok();
}

void FleetSim::Unlisten(uint32_t i) {
  Miner& m = miners_[i];
  if (m.listen_fd < 0) return;
  // Closing the listener makes new connects fail with RST (refused) and
  // resets connections still waiting in the accept queue.
  close(m.listen_fd);
  m.listen_fd = -1;
}

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

std::string FleetSim::TargetsYaml() const {
  std::string out =
      "# fleet_sim targets (" + std::to_string(views_.size()) + " miners)\n";
  for (const MinerView& v : views_) {
    const bool axeos = FamilyOf(v.variant) == Family::kAxeos;
    out += "- {name: " + v.name + ", kind: " + (axeos ? "bitaxe" : "cgminer") +
           ", address: \"" + v.address() + "\"}\n";
  }
  return out;
}

Status FleetSim::WriteTargets(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return ErrnoToStatus(errno, "open " + tmp);
  const std::string yaml = TargetsYaml();
  const bool ok = std::fwrite(yaml.data(), 1, yaml.size(), f) == yaml.size();
  if (std::fclose(f) != 0 || !ok) {
    return ErrnoToStatus(errno, "write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoToStatus(errno, "rename " + tmp);
  }
  return Status::Ok();
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
  const bool cgminer =
      c.miner >= 0 && FamilyOf(views_[static_cast<size_t>(c.miner)].variant) ==
                          Family::kCgminer;
  if (cgminer && !c.got_request) {
    // cgminer does a single recv() of at most 4095 bytes (§2.1).
    char buf[4096];
    const ssize_t n = recv(c.fd, buf, 4095, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
      Close(id, false);
      return;
    }
    c.got_request = true;
    HandleCgminer(id, std::string_view(buf, static_cast<size_t>(n)));
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
