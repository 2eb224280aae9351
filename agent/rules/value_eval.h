// Evaluation of a rule's expression (`expr:`, docs/rules.md "Expressions")
// over one target's samples of one round. Not thread-safe: the engine calls
// it under its lock, with the target's ExprWindows.
#ifndef RIGWATCH_AGENT_RULES_VALUE_EVAL_H_
#define RIGWATCH_AGENT_RULES_VALUE_EVAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/common/selector.h"
#include "agent/rules/rule.h"
#include "agent/rules/window.h"
#include "exporters/sample.h"

namespace rigwatch::rules {

// One series of an expression's value.
struct ExprPoint {
  Labels labels;  // sorted by name
  double value = 0;
};

// The rolling windows of one target's window-function inputs (one per
// node and input series), kept between rounds.
class ExprWindows {
 public:
  // Adds the point, trims to `keep_ms` and returns fn over `window_ms`
  // (undefined until the window is covered, as for a rule's own series).
  std::optional<double> Observe(int node, const Labels& labels, int64_t now_ms,
                                double value, WindowFn fn, int64_t window_ms);
  // Drops windows with no point for `idle_ms`.
  void Forget(int64_t now_ms, int64_t idle_ms);
  size_t Points() const;

 private:
  struct Entry {
    Window window;
    int64_t last_ms = 0;
  };
  std::unordered_map<std::string, Entry> entries_;
};

// The expression's series this round: a number is one series without
// labels; a series whose value is undefined (a window not covered yet, a
// division by zero, no match) is left out. `selectors[id]` is the compiled
// selector of node `id` (selector and window nodes).
std::vector<ExprPoint> EvalValueExpr(
    const ValueExpr& e,
    const std::vector<std::optional<CompiledSelector>>& selectors,
    const Samples& samples, ExprWindows& windows, int64_t now_ms);

// Compiles the selectors of `e`'s nodes, indexed by node id.
Result<std::vector<std::optional<CompiledSelector>>> CompileExprSelectors(
    const ValueExpr& e, int nodes);

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_VALUE_EVAL_H_
