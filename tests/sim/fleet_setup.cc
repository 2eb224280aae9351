// Setup and teardown of the fleet: planning, binding the listeners and the
// control socket, the targets file. Runs on the owning thread before Start;
// Listen/Unlisten also on the loop thread afterwards.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "tests/sim/fleet_sim.h"

namespace rigwatch::sim {
namespace {

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

  // Bind every listener first, so a requested port 0 resolves to a port
  // that stays the miner's own across refuse and reboot.
  for (uint32_t i = 0; i < plan.size(); ++i) {
    RW_RETURN_IF_ERROR(sim->Listen(i));
    if (plan[i].reboot_at_start) {
      sim->Reboot(i, sim->options_.reboot_downtime);
    } else if (plan[i].faults.refuse) {
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

std::string FleetSim::TargetsYaml() const {
  std::string out =
      "# fleet_sim targets (" + std::to_string(views_.size()) + " miners)\n";
  for (const MinerView& v : views_) {
    out += "- {name: " + v.name + ", kind: " + std::string(KindOf(v.variant)) +
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

}  // namespace rigwatch::sim
