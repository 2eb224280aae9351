// The whole Poller (thread, epoll loop, libcurl, raw TCP) against fake
// miners on 127.0.0.1. Waits are bounded polls on a condition, not sleeps.
#include "agent/poller/poller.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <condition_variable>
#include <mutex>

#include "exporters/miner_metrics.h"
#include "tests/unit/poller/engine_harness.h"
#include "tests/unit/poller/fake_fleet.h"
#include "tests/unit/poller/test_exporter.h"

namespace rigwatch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Mode = FakeFleet::Mode;

class SyncSink final : public PollSink {
 public:
  void OnPoll(const PollReport& r) override {
    std::lock_guard<std::mutex> l(mu_);
    polls_.push_back(r);
    cv_.notify_all();
  }
  void OnRound(const RoundReport& r) override {
    std::lock_guard<std::mutex> l(mu_);
    rounds_.push_back(r);
    cv_.notify_all();
  }
  void OnRemoved(const MinerTarget& t) override {
    std::lock_guard<std::mutex> l(mu_);
    removed_.push_back(t.name);
    cv_.notify_all();
  }
  int Count(const std::string& name, PollResult result) {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const PollReport& r : polls_) {
      n += r.target.name == name && r.attempted && r.result == result;
    }
    return n;
  }
  // Waits (bounded) until pred() holds; returns its final value.
  template <typename F>
  bool WaitFor(F pred, Duration limit = seconds(10)) {
    const auto stop = std::chrono::steady_clock::now() + limit;
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      l.unlock();
      if (pred()) return true;
      l.lock();
      if (cv_.wait_until(l, stop) == std::cv_status::timeout) {
        l.unlock();
        return pred();
      }
    }
  }
  std::vector<PollReport> Polls() {
    std::lock_guard<std::mutex> l(mu_);
    return polls_;
  }
  std::vector<std::string> Removed() {
    std::lock_guard<std::mutex> l(mu_);
    return removed_;
  }
  size_t Rounds() {
    std::lock_guard<std::mutex> l(mu_);
    return rounds_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PollReport> polls_;
  std::vector<RoundReport> rounds_;
  std::vector<std::string> removed_;
};

double CounterValue(prometheus::Registry& reg, const std::string& family,
                    const std::map<std::string, std::string>& labels) {
  for (const auto& f : reg.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found |= l.name == k && l.value == v;
        match &= found;
      }
      if (!match) continue;
      if (f.type == prometheus::MetricType::Counter) return m.counter.value;
      if (f.type == prometheus::MetricType::Gauge) return m.gauge.value;
      if (f.type == prometheus::MetricType::Histogram) {
        return static_cast<double>(m.histogram.sample_count);
      }
    }
  }
  return -1;
}

class PollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fleet_ = FakeFleet::Create({
        {Mode::kHttp, "uptime=5 shares=3", 200, true},  // 0 ok
        {Mode::kBlackHole},                             // 1 never answers
        {Mode::kCgminer, "uptime=9 shares=4"},          // 2 ok over TCP
        {Mode::kHttp, "RESTART", 200, true},            // 3 restart target
    });
    ASSERT_NE(fleet_, nullptr);
    fleet_->StartThread();
    opts_.interval = milliseconds(300);
    opts_.timeout = milliseconds(200);
    opts_.connect_timeout = milliseconds(100);
    opts_.first_byte_timeout = milliseconds(150);
    opts_.backoff_base = milliseconds(50);
    opts_.backoff_cap = milliseconds(400);
    opts_.jitter = 0.1;
  }
  ExporterLookup Lookup() {
    return [this](std::string_view k) -> const Exporter* {
      if (k == "test") return &http_;
      if (k == "testcg") return &tcp_;
      return nullptr;
    };
  }
  MinerTarget T(const std::string& name, size_t i, const char* kind = "test") {
    return MinerTarget{name, kind, "127.0.0.1", fleet_->port(i)};
  }

  std::unique_ptr<FakeFleet> fleet_;
  PollerOptions opts_;
  TestExporter http_{Protocol::kHttp};
  TestExporter tcp_{Protocol::kCgminerTcp};
  SyncSink sink_;
  prometheus::Registry registry_;
};

TEST_F(PollerTest, PollsReportsRestartsAndRemoves) {
  auto started = Poller::Start(opts_, sink_, &registry_,
                               *SystemClock::Default(), Lookup());
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<Poller> poller = std::move(started).value();
  ASSERT_TRUE(poller
                  ->SetTargets({T("ok", 0), T("dead", 1), T("cg", 2, "testcg"),
                                T("rst", 3)})
                  .ok());

  ASSERT_TRUE(sink_.WaitFor([&] {
    return sink_.Count("ok", PollResult::kOk) >= 3 &&
           sink_.Count("cg", PollResult::kOk) >= 3 &&
           sink_.Count("dead", PollResult::kTimeout) >= 1 &&
           sink_.Rounds() >= 2;
  }));
  for (const PollReport& r : sink_.Polls()) {
    if (r.target.name == "ok" && r.attempted) {
      // The black hole never delays its neighbours.
      EXPECT_LT(r.duration, milliseconds(150)) << r.error.ToString();
      EXPECT_EQ(FindValue(r.samples, metric::kSharesAccepted), 3.0);
    }
    if (r.target.name == "dead" && r.attempted) {
      EXPECT_EQ(r.result, PollResult::kTimeout);
      EXPECT_NE(r.error.message().find("test dead (127.0.0.1:"),
                std::string::npos)
          << r.error.message();
    }
  }
  EXPECT_GE(CounterValue(registry_, "rigwatch_poll_total",
                         {{"kind", "test"}, {"result", "ok"}}),
            3);
  EXPECT_GE(CounterValue(registry_, "rigwatch_poll_total",
                         {{"kind", "test"}, {"result", "timeout"}}),
            1);
  EXPECT_EQ(CounterValue(registry_, "rigwatch_targets", {{"kind", "test"}}), 3);
  EXPECT_GE(CounterValue(registry_, "rigwatch_poll_duration_seconds",
                         {{"kind", "test"}}),
            3);

  // Restart through the running poller: a POST, on a connection of its own.
  EXPECT_TRUE(poller->RestartMiner("rst", seconds(2)).ok());
  bool saw_post = false;
  for (const std::string& req : fleet_->requests(3)) {
    saw_post |= req.rfind("POST /restart HTTP/1.1\r\n", 0) == 0;
  }
  EXPECT_TRUE(saw_post);
  EXPECT_EQ(poller->RestartMiner("nope", seconds(1)).code(),
            StatusCode::kNotFound);

  // Removing the black hole drops it: reported, and no more connections.
  ASSERT_TRUE(poller->SetTargets({T("ok", 0), T("cg", 2, "testcg")}).ok());
  ASSERT_TRUE(sink_.WaitFor([&] { return !sink_.Removed().empty(); }));
  EXPECT_EQ(sink_.Removed().size(), 2u);
  const int dead_conns = fleet_->connections(1);
  const int ok_before = sink_.Count("ok", PollResult::kOk);
  ASSERT_TRUE(sink_.WaitFor(
      [&] { return sink_.Count("ok", PollResult::kOk) >= ok_before + 2; }));
  EXPECT_EQ(fleet_->connections(1), dead_conns);
  // Destroying the poller with exchanges in flight is clean (ASan checks).
}

TEST_F(PollerTest, RejectsBadOptions) {
  opts_.timeout = opts_.interval;
  auto p =
      Poller::Start(opts_, sink_, nullptr, *SystemClock::Default(), Lookup());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace rigwatch::testing
