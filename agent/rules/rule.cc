#include "agent/rules/rule.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rigwatch::rules {

std::string_view WindowFnName(WindowFn fn) {
  switch (fn) {
    case WindowFn::kNone:
      return "";
    case WindowFn::kAvgOverTime:
      return "avg_over_time";
    case WindowFn::kMinOverTime:
      return "min_over_time";
    case WindowFn::kMaxOverTime:
      return "max_over_time";
    case WindowFn::kIncrease:
      return "increase";
    case WindowFn::kRate:
      return "rate";
  }
  return "";
}

std::string_view AggOpName(AggOp op) {
  switch (op) {
    case AggOp::kSum:
      return "sum";
    case AggOp::kAvg:
      return "avg";
    case AggOp::kMin:
      return "min";
    case AggOp::kMax:
      return "max";
    case AggOp::kCount:
      return "count";
  }
  return "";
}

namespace {
void CollectMetrics(const ValueExpr& e, std::vector<std::string>& out) {
  if (e.kind == ValueExpr::Kind::kSelector ||
      e.kind == ValueExpr::Kind::kWindow) {
    if (std::find(out.begin(), out.end(), e.selector.metric) == out.end()) {
      out.push_back(e.selector.metric);
    }
  }
  for (const ValueExpr& a : e.args) CollectMetrics(a, out);
}
}  // namespace

std::chrono::milliseconds ExprLongestWindow(const ValueExpr& e) {
  std::chrono::milliseconds w = e.window;
  for (const ValueExpr& a : e.args) w = std::max(w, ExprLongestWindow(a));
  return w;
}

std::vector<std::string> Rule::Metrics() const {
  if (!expr) return {selector.metric};
  std::vector<std::string> out;
  CollectMetrics(*expr, out);
  return out;
}

std::string_view CmpOpText(CmpOp op) {
  switch (op) {
    case CmpOp::kGt:
      return ">";
    case CmpOp::kGe:
      return ">=";
    case CmpOp::kLt:
      return "<";
    case CmpOp::kLe:
      return "<=";
    case CmpOp::kEq:
      return "==";
    case CmpOp::kNe:
      return "!=";
  }
  return "?";
}

bool Rule::NeedsWindow() const { return LongestWindow().count() > 0; }

std::chrono::milliseconds Rule::LongestWindow() const {
  std::chrono::milliseconds w{0};
  for (const auto* c : {&yellow, &red}) {
    if (!c->has_value() || (*c)->absent) continue;
    w = std::max({w, (*c)->lhs.window, (*c)->rhs.window});
  }
  return w;
}

bool Rule::IsAbsenceRule() const {
  return (red && red->absent) || (yellow && yellow->absent);
}

std::string_view Rule::SeverityOf(Level level) const {
  switch (level) {
    case Level::kRed:
      return severity;
    case Level::kYellow:
      return "warning";
    default:
      return "none";
  }
}

const std::vector<std::string>& Rule::ActionsOf(Level level) const {
  static const std::vector<std::string> kNone;
  switch (level) {
    case Level::kRed:
      return on_red;
    case Level::kYellow:
      return on_yellow;
    case Level::kGreen:
      return on_green;
    default:
      return kNone;
  }
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string_view ValueMetric(const Rule& rule, const Condition* c) {
  if (c == nullptr || c->absent || c->lhs.fn == WindowFn::kRate ||
      c->lhs.fn == WindowFn::kIncrease) {
    return "";
  }
  return rule.selector.metric;
}

}  // namespace rigwatch::rules
