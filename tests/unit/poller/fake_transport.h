// A scripted Transport for PollEngine tests. Each expected exchange is
// declared up front (miner, request name, reply, latency); an exchange that
// was not expected fails the test at once, and one left unused fails it
// when the fake is destroyed. Replies are delivered only by Deliver(), when
// the FakeClock has reached start + latency, never from inside Start().
#ifndef RIGWATCH_TESTS_UNIT_POLLER_FAKE_TRANSPORT_H_
#define RIGWATCH_TESTS_UNIT_POLLER_FAKE_TRANSPORT_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/poller/transport.h"
#include "tests/fakes/fake_clock.h"

namespace rigwatch::testing {

class FakeTransport final : public Transport {
 public:
  struct Expectation {
    std::string conn_key;
    std::string request_name;
    ExchangeResult result;
    Duration latency{std::chrono::milliseconds(10)};
  };

  explicit FakeTransport(FakeClock& clock) : clock_(clock) {}
  ~FakeTransport() override {
    for (const auto& [key, q] : script_) {
      for (const Expectation& e : q) {
        ADD_FAILURE() << "expected exchange never happened: " << key << " "
                      << e.request_name;
      }
    }
  }

  // Expects `key`'s next exchange to be `request`; it replies `body` with
  // HTTP `http_status` after `latency`.
  void ExpectOk(const std::string& key, const std::string& request,
                std::string body, int http_status = 200,
                Duration latency = std::chrono::milliseconds(10)) {
    Expectation e{key, request, {}, latency};
    e.result.response.http_status = http_status;
    e.result.response.body = std::move(body);
    script_[key].push_back(std::move(e));
  }
  // Expects an exchange that fails in transport with `cls`.
  void ExpectFail(const std::string& key, const std::string& request,
                  PollResult cls, Status st,
                  Duration latency = std::chrono::milliseconds(10),
                  bool request_sent = false) {
    Expectation e{key, request, {}, latency};
    e.result.result = cls;
    e.result.response.transport = std::move(st);
    e.result.response.request_sent = request_sent;
    script_[key].push_back(std::move(e));
  }

  ExchangeId Start(Exchange ex, ExchangeDone done) override {
    started_.push_back(ex);
    started_at_.push_back(clock_.SteadyNow());
    auto& q = script_[ex.conn_key];
    if (q.empty()) {
      ADD_FAILURE() << "unexpected exchange: " << ex.conn_key << " "
                    << ex.request.name;
      // Never delivered; the engine keeps waiting, which later assertions
      // will show.
      return next_id_++;
    }
    Expectation e = std::move(q.front());
    q.pop_front();
    EXPECT_EQ(e.request_name, ex.request.name) << "miner " << ex.conn_key;
    const ExchangeId id = next_id_++;
    Pending p{id, clock_.SteadyNow() + e.latency, std::move(e.result),
              std::move(done)};
    // The transport enforces the deadline: a reply later than it is a
    // timeout, as the real one would report.
    if (p.due > ex.deadline) {
      p.due = ex.deadline;
      p.result = ExchangeResult{};
      p.result.result = PollResult::kTimeout;
      p.result.response.transport = DeadlineExceededError("timed out");
    }
    pending_.push_back(std::move(p));
    return id;
  }
  void Abort(ExchangeId id) override {
    aborted_.push_back(id);
    std::erase_if(pending_, [id](const Pending& p) { return p.id == id; });
  }
  void Forget(const std::string& key) override { forgotten_.push_back(key); }

  // Runs the callbacks of exchanges due by now. Returns how many ran.
  int Deliver() {
    int n = 0;
    for (;;) {
      auto it = std::find_if(pending_.begin(), pending_.end(), [&](auto& p) {
        return p.due <= clock_.SteadyNow();
      });
      if (it == pending_.end()) return n;
      Pending p = std::move(*it);
      pending_.erase(it);
      p.done(std::move(p.result));
      ++n;
    }
  }
  std::optional<SteadyTime> NextDue() const {
    std::optional<SteadyTime> t;
    for (const Pending& p : pending_) {
      if (!t || p.due < *t) t = p.due;
    }
    return t;
  }

  const std::vector<Exchange>& started() const { return started_; }
  const std::vector<SteadyTime>& started_at() const { return started_at_; }
  const std::vector<ExchangeId>& aborted() const { return aborted_; }
  const std::vector<std::string>& forgotten() const { return forgotten_; }
  size_t in_flight() const { return pending_.size(); }

 private:
  struct Pending {
    ExchangeId id;
    SteadyTime due;
    ExchangeResult result;
    ExchangeDone done;
  };
  FakeClock& clock_;
  std::map<std::string, std::deque<Expectation>> script_;
  std::vector<Pending> pending_;
  std::vector<Exchange> started_;
  std::vector<SteadyTime> started_at_;
  std::vector<ExchangeId> aborted_;
  std::vector<std::string> forgotten_;
  ExchangeId next_id_ = 1;
};

}  // namespace rigwatch::testing

#endif  // RIGWATCH_TESTS_UNIT_POLLER_FAKE_TRANSPORT_H_
