// PollErrors: the last failed poll of each miner (its error text and when),
// and whether the miner is failing now. The poller reports every poll; only
// a change of a miner's error class (ok -> timeout, timeout -> parse_error,
// parse_error -> ok) is news worth a log line, so Record says when one
// happened.
//
// Thread-safety: all methods may be called concurrently.
#ifndef RIGWATCH_AGENT_LIVE_STATE_POLL_ERRORS_H_
#define RIGWATCH_AGENT_LIVE_STATE_POLL_ERRORS_H_

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/common/clock.h"

namespace rigwatch {

struct PollError {
  std::string result;    // the failed poll's class: "timeout", "parse_error"...
  std::string text;      // its error, with the miner's context
  WallTime time;         // when that poll started
  bool failing = false;  // the miner's latest poll failed too
};

class PollErrors {
 public:
  enum class Change {
    kNone,       // same class as the poll before
    kFailing,    // the first failure after a success (or the first poll)
    kChanged,    // still failing, another class
    kRecovered,  // a success after failures
  };

  // One attempted poll of `target`: `result` is "ok" or the failure class;
  // `text` and `time` are kept for a failure.
  Change Record(std::string_view target, std::string_view result,
                std::string_view text, WallTime time);

  // The last failure of `target`, if it ever failed since it was added.
  std::optional<PollError> Last(std::string_view target) const;

  // The miner left the configuration.
  void Remove(std::string_view target);

 private:
  struct Entry {
    std::string current;  // class of the latest poll ("ok" too)
    std::optional<PollError> last;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> by_target_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_LIVE_STATE_POLL_ERRORS_H_
