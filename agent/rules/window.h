// A per-series rolling window of (time, value) points, kept in memory by the
// rule engine for the window functions of docs/rules.md. Not thread-safe.
#ifndef RIGWATCH_AGENT_RULES_WINDOW_H_
#define RIGWATCH_AGENT_RULES_WINDOW_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "agent/rules/rule.h"

namespace rigwatch::rules {

class Window {
 public:
  // Appends a point; a point not newer than the last one is dropped (returns
  // false), so replays and clock steps cannot corrupt the order.
  bool Add(int64_t t_ms, double value);

  // Drops points no function can need any more: keeps every point newer than
  // now - keep, plus the newest one at or before it (the anchor of
  // increase() and of the coverage test).
  void Trim(int64_t now_ms, int64_t keep_ms);

  // fn over (now - window, now]. Empty (undefined) until the series has been
  // observed for the whole window, i.e. a point exists at or before
  // now - window; also empty when the window holds no point. increase()
  // counts a drop in value as a counter reset (the new value is the increase
  // since the reset); rate() is increase() per second of the covered span.
  std::optional<double> Eval(WindowFn fn, int64_t window_ms,
                             int64_t now_ms) const;

  size_t size() const { return points_.size() - head_; }

 private:
  struct Point {
    int64_t t_ms;
    double value;
  };
  std::span<const Point> Live() const {
    return std::span<const Point>(points_).subspan(head_);
  }
  // points_[head_..] are the window; trimmed points before head_ are
  // dropped in one move once they are half of the vector. (A deque would
  // cost ~600 bytes per series even when empty, and the engine holds one
  // window per series of every rule.)
  std::vector<Point> points_;
  size_t head_ = 0;
};

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_WINDOW_H_
