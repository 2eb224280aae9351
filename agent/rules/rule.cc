#include "agent/rules/rule.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rigwatch::rules {

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kUnknown:
      return "unknown";
    case Level::kGreen:
      return "green";
    case Level::kYellow:
      return "yellow";
    case Level::kRed:
      return "red";
  }
  return "unknown";
}

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

std::string RenderDescription(const Rule& rule, std::string_view miner,
                              Level level, std::optional<double> value,
                              std::string_view threshold,
                              const Labels& labels) {
  const std::string& t = rule.description;
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find("{{", i);
    if (open == std::string::npos) break;
    size_t close = t.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(t, i, open - i);
    std::string_view key(t.data() + open + 2, close - open - 2);
    while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key == "rule") {
      out += rule.name;
    } else if (key == "miner") {
      out += miner;
    } else if (key == "level") {
      out += LevelName(level);
    } else if (key == "value") {
      out += value ? FormatNumber(*value) : "none";
    } else if (key == "threshold") {
      out += threshold;
    } else if (key.starts_with("label.")) {
      key.remove_prefix(6);
      for (const Label& l : labels) {
        if (l.name == key) out += l.value;
      }
    }
    i = close + 2;
  }
  out.append(t, i, std::string::npos);
  return out;
}

}  // namespace rigwatch::rules
