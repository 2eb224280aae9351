// The parsed form of a rule file (docs/rules.md is the reference of the
// grammar). A RuleSet is an immutable value: the loader builds it, the engine
// and the Prometheus exporter read it. Copyable; no thread-safety concerns.
#ifndef RIGWATCH_AGENT_RULES_RULE_H_
#define RIGWATCH_AGENT_RULES_RULE_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/alert.h"
#include "agent/common/selector.h"
#include "exporters/sample.h"

namespace rigwatch::rules {

// The judgement's level and its name are shared with the actions component.
using ::rigwatch::Level;
using ::rigwatch::LevelName;

// Label matchers are the common ones (agent/common/selector.h): regexes are
// RE2, anchored at both ends, as in PromQL.
using MatchOp = ::rigwatch::MatchOp;
using Matcher = ::rigwatch::LabelMatch;

// metric_name{matcher, ...}
struct Selector {
  std::string metric;
  std::vector<Matcher> matchers;
  std::string text;  // as written in the file, for messages
};

// The window functions a condition may apply to the rule's own series.
enum class WindowFn {
  kNone,
  kAvgOverTime,
  kMinOverTime,
  kMaxOverTime,
  kIncrease,
  kRate
};

std::string_view WindowFnName(WindowFn fn);

// One side of a comparison: factor * fn(window), or a constant when fn is
// kNone and `is_current` is false, or the series' current value when
// `is_current` is true (the omitted left-hand side of "> 72").
struct Operand {
  bool is_current = false;
  WindowFn fn = WindowFn::kNone;
  std::chrono::milliseconds window{0};
  double factor = 1.0;  // constants keep their value here, in base units
};

enum class CmpOp { kGt, kGe, kLt, kLe, kEq, kNe };

std::string_view CmpOpText(CmpOp op);

// A level's condition: `lhs op rhs`, or `absent` (no sample of the selector
// in the target's latest round).
struct Condition {
  bool absent = false;
  Operand lhs;
  CmpOp op = CmpOp::kGt;
  Operand rhs;
  std::string text;  // as written, e.g. "< 0.7 * avg_over_time(1h)"
};

// An expression over one target's series, a rule's `expr:` (docs/rules.md
// "Expressions"): numbers, selectors, window functions over a selector's
// range (`rate(node_cpu_seconds_total[1m])`), + - * /, and aggregations
// over the target's series (`max by (mountpoint) (...)`).
enum class AggOp { kSum, kAvg, kMin, kMax, kCount };

std::string_view AggOpName(AggOp op);

struct ValueExpr {
  enum class Kind { kNumber, kSelector, kWindow, kBinary, kAggregate };
  Kind kind = Kind::kNumber;
  int id = 0;                           // pre-order index in its expression
  double number = 0;                    // kNumber
  Selector selector;                    // kSelector, kWindow
  WindowFn fn = WindowFn::kNone;        // kWindow
  std::chrono::milliseconds window{0};  // kWindow
  char op = 0;                          // kBinary: + - * /
  AggOp agg = AggOp::kSum;              // kAggregate
  bool without = false;                 // kAggregate: `without (...)`
  std::vector<std::string> grouping;    // kAggregate: the label names
  std::vector<ValueExpr> args;          // kBinary: 2, kAggregate: 1
};

// The longest window of the expression's window functions (0 when none).
std::chrono::milliseconds ExprLongestWindow(const ValueExpr& e);

// The allowed `on_*` action names (the actions component runs them).
inline constexpr std::string_view kKnownActions[] = {"notify", "restart"};

struct Rule {
  std::string name;  // [a-zA-Z_][a-zA-Z0-9_]*, unique in a RuleSet
  // What the rule judges: the series of `selector` (`metric:`), or when
  // `expr` is set (`expr:`), the values of that expression and `selector`
  // is empty.
  Selector selector;
  std::optional<ValueExpr> expr;
  std::string expr_text;  // as written, for messages and state checks
  int expr_nodes = 0;     // ids of `expr` are 0 .. expr_nodes-1
  std::optional<Condition> yellow;
  std::optional<Condition> red;
  std::chrono::milliseconds for_duration{0};
  // Hysteresis in the metric's base unit; 0 = none. Only with <,<=,>,>=.
  double clear = 0;
  // How long a series keeps its level without new samples before it becomes
  // kUnknown.
  std::chrono::milliseconds stale{std::chrono::minutes(5)};
  std::vector<std::string> on_red, on_yellow, on_green;
  std::vector<std::string> kinds;     // empty = every kind
  std::vector<std::string> targets;   // names or globs with '*'; empty = all
  std::string severity = "critical";  // of the red level; yellow is "warning"
  std::string description;            // template, see docs/rules.md
  std::string file;                   // where it was defined, for messages
  int line = 0;

  // Every metric name the rule reads (its selector's or its expression's).
  std::vector<std::string> Metrics() const;
  // True when any condition uses a window function.
  bool NeedsWindow() const;
  // The longest window any condition uses (0 when none).
  std::chrono::milliseconds LongestWindow() const;
  // True when the rule's condition is `absent`.
  bool IsAbsenceRule() const;
  // Severity of a level: red → severity, yellow → "warning", else "none".
  std::string_view SeverityOf(Level level) const;
  const std::vector<std::string>& ActionsOf(Level level) const;
};

struct RuleSet {
  std::vector<Rule> rules;
};

// The metric whose base unit the left side of `c` is in (the rule's own
// metric), or "" when that value has no unit of its own: rate(),
// increase(), `absent`, or no condition.
std::string_view ValueMetric(const Rule& rule, const Condition* c);

// Shortest round-trip text of a double ("72", "0.7", "1e+12").
std::string FormatNumber(double v);

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_RULE_H_
