// Polls a fleet of N fake miners on 127.0.0.1 for one full cycle and prints
// the cycle's wall time, the agent's CPU seconds per 1,000 polls and its
// RSS. The fleet (tests/unit/poller/fake_fleet.h, one epoll loop) runs in a
// child process, so the figures are the poller's alone and both sides get
// the whole descriptor limit. 10% of the miners accept and never answer.
//
//   poller_bench [--miners N] [--interval-ms MS] [--protocol http|cgminer|both]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "agent/common/log.h"
#include "agent/poller/poller.h"
#include "tests/unit/poller/fake_fleet.h"

namespace rigwatch {
namespace {

using Mode = testing::FakeFleet::Mode;
constexpr std::string_view kReplyHead = "uptime=100 shares=5 ";

// Stand-ins for the real exporters: one small request, a ~2 KB reply (the
// size of an AxeOS /api/system/info).
class BenchExporter final : public Exporter {
 public:
  explicit BenchExporter(Protocol p) : p_(p) {}
  std::string_view Kind() const override {
    return p_ == Protocol::kHttp ? "http" : "cgminer";
  }
  Protocol GetProtocol() const override { return p_; }
  uint16_t DefaultPort() const override { return 80; }
  std::vector<Request> PollRequests() const override {
    if (p_ == Protocol::kHttp) {
      return {Request{"info", "GET", "/api/system/info", "", false}};
    }
    return {Request{"summary", "", "", "{\"command\":\"summary\"}", false}};
  }
  Result<ScrapeResult> Parse(std::span<const Response> rs) const override {
    if (rs[0].body.rfind(kReplyHead, 0) != 0) {
      return InvalidArgumentError("unexpected reply");
    }
    ScrapeResult out;
    out.samples.push_back(Sample{"miner_uptime_seconds", {}, 100});
    out.uptime_seconds = 100;
    return out;
  }
  Request RestartRequest() const override { return {}; }
  Status ParseRestartReply(const Response&) const override {
    return Status::Ok();
  }

 private:
  Protocol p_;
};

class CountingSink final : public PollSink {
 public:
  explicit CountingSink(size_t n) : seen_(n, false) {}
  void OnPoll(const PollReport& r) override {
    if (!r.attempted) return;
    ++polls_;
    if (r.result == PollResult::kOk) ++ok_;
    if (r.result == PollResult::kTimeout) ++timeouts_;
    const size_t i = std::stoul(r.target.name.substr(1));
    if (!seen_[i]) {
      seen_[i] = true;
      std::lock_guard<std::mutex> l(mu_);
      // Miners i % 10 == 9 are the black holes.
      if (i % 10 != 9 && ++responsive_ == seen_.size() - seen_.size() / 10) {
        responsive_done_ = std::chrono::steady_clock::now();
      }
      if (++distinct_ == seen_.size()) cv_.notify_all();
    }
  }
  void OnRound(const RoundReport&) override {}
  void OnRemoved(const MinerTarget&) override {}

  bool WaitAll(std::chrono::steady_clock::time_point until) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_until(l, until, [&] { return distinct_ == seen_.size(); });
  }
  uint64_t polls() const { return polls_.load(); }
  uint64_t ok() const { return ok_.load(); }
  uint64_t timeouts() const { return timeouts_.load(); }
  size_t distinct() {
    std::lock_guard<std::mutex> l(mu_);
    return distinct_;
  }

  // When the last miner that answers had reported.
  std::chrono::steady_clock::time_point responsive_done() {
    std::lock_guard<std::mutex> l(mu_);
    return responsive_done_;
  }

 private:
  std::vector<bool> seen_;  // poller thread only
  size_t responsive_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t distinct_ = 0;
  std::chrono::steady_clock::time_point responsive_done_{};
  std::atomic<uint64_t> polls_{0}, ok_{0}, timeouts_{0};
};

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) * 1024;
  }
  return -1;
}

// Forks the fleet. Returns the child's pid and fills `ports`; the child
// serves until `control` (its read end) reaches EOF.
pid_t ForkFleet(size_t n, Mode mode, std::vector<uint16_t>& ports,
                int& control_write) {
  int data[2], control[2];
  if (pipe(data) != 0 || pipe(control) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(300);  // a bound even if the parent hangs
    close(data[0]);
    close(control[1]);
    std::vector<testing::FakeFleet::Spec> specs(n);
    const std::string body = std::string(kReplyHead) + std::string(2000, 'x');
    for (size_t i = 0; i < n; ++i) {
      specs[i].mode = i % 10 == 9 ? Mode::kBlackHole : mode;
      specs[i].body = body;
      specs[i].keep_alive = false;
    }
    auto fleet = testing::FakeFleet::Create(std::move(specs));
    uint32_t count = fleet ? static_cast<uint32_t>(n) : 0;
    [[maybe_unused]] ssize_t w = write(data[1], &count, sizeof(count));
    for (size_t i = 0; fleet && i < n; ++i) {
      const uint16_t p = fleet->port(i);
      w = write(data[1], &p, sizeof(p));
    }
    close(data[1]);
    if (!fleet) _exit(1);
    fleet->StartThread();
    char c;
    while (read(control[0], &c, 1) > 0) {
    }
    fleet->Stop();
    _exit(0);
  }
  close(data[1]);
  close(control[0]);
  control_write = control[1];
  uint32_t count = 0;
  auto read_all = [&](void* buf, size_t len) {
    size_t got = 0;
    while (got < len) {
      const ssize_t r = read(data[0], static_cast<char*>(buf) + got, len - got);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  if (!read_all(&count, sizeof(count)) || count != n) {
    close(data[0]);
    return -1;
  }
  ports.resize(n);
  const bool ok = read_all(ports.data(), n * sizeof(uint16_t));
  close(data[0]);
  return ok ? pid : -1;
}

int RunOne(const char* label, Protocol proto, size_t n,
           std::chrono::milliseconds interval) {
  std::vector<uint16_t> ports;
  int control = -1;
  const pid_t child =
      ForkFleet(n, proto == Protocol::kHttp ? Mode::kHttp : Mode::kCgminer,
                ports, control);
  if (child < 0) {
    std::fprintf(stderr, "%s: could not start the fake fleet\n", label);
    return 1;
  }
  BenchExporter exporter(proto);
  CountingSink sink(n);
  PollerOptions opts;
  opts.interval = interval;
  opts.timeout = std::chrono::seconds(5);
  opts.connect_timeout = std::chrono::seconds(5);
  opts.first_byte_timeout = std::chrono::seconds(5);
  opts.jitter = 0.05;
  int rc = 0;
  {
    auto p = Poller::Start(opts, sink, nullptr, *SystemClock::Default(),
                           [&](std::string_view) { return &exporter; });
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
      return 1;
    }
    std::vector<MinerTarget> targets;
    targets.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      targets.push_back(
          MinerTarget{"m" + std::to_string(i), "x", "127.0.0.1", ports[i]});
    }
    const double cpu0 = CpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    Status st = p.value()->SetTargets(std::move(targets));
    if (!st.ok()) std::fprintf(stderr, "%s\n", st.ToString().c_str());
    const bool all =
        sink.WaitAll(t0 + interval + opts.timeout + std::chrono::seconds(20));
    const auto t1 = std::chrono::steady_clock::now();
    const double cpu = CpuSeconds() - cpu0;
    const double wall = std::chrono::duration<double>(t1 - t0).count();
    const uint64_t polls = sink.polls();
    std::printf("poller_%s_miners %zu count\n", label, n);
    std::printf("poller_%s_interval %.1f s\n", label,
                std::chrono::duration<double>(interval).count());
    std::printf("poller_%s_cycle_wall %.2f s\n", label, wall);
    std::printf(
        "poller_%s_cycle_wall_answering_miners %.2f s\n", label,
        std::chrono::duration<double>(sink.responsive_done() - t0).count());
    std::printf("poller_%s_cycle_complete %d bool\n", label, all ? 1 : 0);
    std::printf("poller_%s_polls %llu count\n", label,
                static_cast<unsigned long long>(polls));
    std::printf("poller_%s_ok %llu count\n", label,
                static_cast<unsigned long long>(sink.ok()));
    std::printf("poller_%s_timeouts %llu count\n", label,
                static_cast<unsigned long long>(sink.timeouts()));
    std::printf("poller_%s_cpu_per_1000_polls %.4f s\n", label,
                polls ? cpu * 1000.0 / static_cast<double>(polls) : 0.0);
    std::printf("poller_%s_rss %ld bytes\n", label, RssBytes());
    std::fflush(stdout);
    if (!all) {
      std::fprintf(stderr, "%s: only %zu of %zu miners reported\n", label,
                   sink.distinct(), n);
      rc = 1;
    }
  }
  close(control);
  int status = 0;
  waitpid(child, &status, 0);
  return rc;
}

}  // namespace
}  // namespace rigwatch

int main(int argc, char** argv) {
  size_t n = 10000;
  long interval_ms = 6000;
  std::string protocol = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--miners") == 0) {
      n = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--interval-ms") == 0) {
      interval_ms = std::strtol(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--protocol") == 0) {
      protocol = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: poller_bench [--miners N] [--interval-ms MS] "
                   "[--protocol http|cgminer|both]\n");
      return 2;
    }
  }
  // Sockets: one per miner in flight here, listeners in the fleet child.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  rigwatch::SetLogLevel(rigwatch::LogLevel::kError);
  const auto interval = std::chrono::milliseconds(interval_ms);
  int rc = 0;
  if (protocol == "http" || protocol == "both") {
    rc |= rigwatch::RunOne("http", rigwatch::Protocol::kHttp, n, interval);
  }
  if (protocol == "cgminer" || protocol == "both") {
    rc |= rigwatch::RunOne("cgminer", rigwatch::Protocol::kCgminerTcp, n,
                           interval);
  }
  return rc;
}
