// Parsers of the two small languages inside a rule file's strings: the
// metric selector (`miner_temperature_celsius{sensor="asic"}`) and a level
// condition (`> 72`, `< 0.7 * avg_over_time(1h)`, `increase(15m) == 0`,
// `absent`). Pure functions, no YAML: the loader (loader.cc) turns an
// ExprError's offset into a file column. docs/rules.md is the grammar.
#ifndef RIGWATCH_AGENT_RULES_EXPR_H_
#define RIGWATCH_AGENT_RULES_EXPR_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "agent/rules/rule.h"

namespace rigwatch::rules {

// What went wrong and where: `offset` is the 0-based byte offset into the
// parsed string of the offending token.
struct ExprError {
  size_t offset = 0;
  std::string message;
};

template <typename T>
using ExprResult = std::variant<T, ExprError>;

ExprResult<Selector> ParseSelector(std::string_view text);

// Parses a condition for a rule selecting `metric` (used to check that a
// constant's unit fits the metric's base unit, e.g. no "GB" against
// *_celsius).
ExprResult<Condition> ParseCondition(std::string_view text,
                                     std::string_view metric);

// Parses a hysteresis amount: a non-negative number with an optional unit
// that fits `metric` ("3", "100MB").
ExprResult<double> ParseQuantity(std::string_view text,
                                 std::string_view metric);

// Parses a rule's `expr:` (docs/rules.md "Expressions"); `nodes`, when
// given, receives the number of nodes (their ids are 0 .. nodes-1).
ExprResult<ValueExpr> ParseValueExpr(std::string_view text,
                                     int* nodes = nullptr);

// The metric whose unit the expression's values carry: the selector's, also
// through sum/avg/min/max of it; "" for anything else (a ratio of two
// metrics, a rate).
std::string ExprMetric(const ValueExpr& e);

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_EXPR_H_
