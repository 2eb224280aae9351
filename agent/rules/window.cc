#include "agent/rules/window.h"

#include <algorithm>
#include <cstddef>

namespace rigwatch::rules {

bool Window::Add(int64_t t_ms, double value) {
  if (!points_.empty() && t_ms <= points_.back().t_ms) return false;
  points_.push_back(Point{t_ms, value});
  return true;
}

void Window::Trim(int64_t now_ms, int64_t keep_ms) {
  const int64_t edge = now_ms - keep_ms;
  while (points_.size() - head_ >= 2 && points_[head_ + 1].t_ms <= edge) {
    ++head_;
  }
  if (head_ > 0 && head_ * 2 >= points_.size()) {
    points_.erase(points_.begin(),
                  points_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

std::optional<double> Window::Eval(WindowFn fn, int64_t window_ms,
                                   int64_t now_ms) const {
  const std::span<const Point> pts = Live();
  const int64_t edge = now_ms - window_ms;
  if (pts.empty() || pts.front().t_ms > edge) return std::nullopt;
  // The anchor: the newest point at or before the edge.
  size_t anchor = 0;
  while (anchor + 1 < pts.size() && pts[anchor + 1].t_ms <= edge) {
    ++anchor;
  }
  size_t first = anchor + 1;  // first point inside the window
  switch (fn) {
    case WindowFn::kNone:
      return std::nullopt;
    case WindowFn::kAvgOverTime:
    case WindowFn::kMinOverTime:
    case WindowFn::kMaxOverTime: {
      if (first >= pts.size()) return std::nullopt;
      double sum = 0, lo = pts[first].value, hi = lo;
      size_t n = 0;
      for (size_t i = first; i < pts.size() && pts[i].t_ms <= now_ms; ++i) {
        sum += pts[i].value;
        lo = std::min(lo, pts[i].value);
        hi = std::max(hi, pts[i].value);
        ++n;
      }
      if (n == 0) return std::nullopt;
      if (fn == WindowFn::kMinOverTime) return lo;
      if (fn == WindowFn::kMaxOverTime) return hi;
      return sum / static_cast<double>(n);
    }
    case WindowFn::kIncrease:
    case WindowFn::kRate: {
      double inc = 0;
      size_t last = anchor;
      for (size_t i = first; i < pts.size() && pts[i].t_ms <= now_ms; ++i) {
        double d = pts[i].value - pts[i - 1].value;
        inc += d >= 0 ? d : pts[i].value;  // a drop is a counter reset
        last = i;
      }
      if (fn == WindowFn::kIncrease) return inc;
      int64_t span = pts[last].t_ms - pts[anchor].t_ms;
      if (span <= 0) return std::nullopt;
      return inc / (static_cast<double>(span) / 1000.0);
    }
  }
  return std::nullopt;
}

}  // namespace rigwatch::rules
