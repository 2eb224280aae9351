// Helpers shared by the actions unit tests.
#ifndef RIGWATCH_TESTS_UNIT_ACTIONS_TEST_UTIL_H_
#define RIGWATCH_TESTS_UNIT_ACTIONS_TEST_UTIL_H_

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "agent/actions/outbox.h"
#include "agent/actions/types.h"

namespace rigwatch::actions::testing {

// Records every payload; fails while `fail_next` > 0 or `down` is set.
class RecordingChannel final : public OutboxChannel {
 public:
  Status Deliver(const std::string& payload, std::stop_token) override {
    std::lock_guard<std::mutex> l(mu);
    ++attempts;
    if (down || fail_next > 0) {
      if (fail_next > 0) --fail_next;
      return UnavailableError("receiver down");
    }
    delivered.push_back(payload);
    return Status::Ok();
  }
  std::mutex mu;
  int attempts = 0;
  int fail_next = 0;
  bool down = false;
  std::vector<std::string> delivered;
};

// Records restart calls; returns `result` for each.
class RecordingRestarter final : public MinerRestarter {
 public:
  Status Restart(const std::string& miner, Duration, std::stop_token) override {
    calls.push_back(miner);
    if (on_restart) on_restart(miner);
    return result;
  }
  std::vector<std::string> calls;
  Status result;
  std::function<void(const std::string&)> on_restart;
};

inline Transition MakeTransition(const std::string& rule,
                                 const std::string& target, Level from,
                                 Level to,
                                 std::vector<std::string> actions = {}) {
  Transition t;
  t.rule = rule;
  t.target = target;
  t.from = from;
  t.to = to;
  t.value = 81.5;
  t.threshold = "> 75";
  t.severity = to == Level::kRed ? "critical" : "warning";
  t.actions = std::move(actions);
  return t;
}

// The Subject header of a formatted message ("" when absent).
inline std::string SubjectOf(const std::string& msg) {
  auto p = msg.find("\r\nSubject: ");
  if (p == std::string::npos) return "";
  p += 11;
  return msg.substr(p, msg.find("\r\n", p) - p);
}

}  // namespace rigwatch::actions::testing

#endif  // RIGWATCH_TESTS_UNIT_ACTIONS_TEST_UTIL_H_
