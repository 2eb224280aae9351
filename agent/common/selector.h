// Label selectors: a metric name and label matchers (=, !=, =~, !~), compiled
// once. The one selector behind every user-supplied pattern: HTTP `match=`
// (the store's Selector), rule files (the rules' Selector) and target
// filters. Regexes are LabelRegex (RE2: fully anchored, linear time, bounded).
#ifndef RIGWATCH_AGENT_COMMON_SELECTOR_H_
#define RIGWATCH_AGENT_COMMON_SELECTOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/label_regex.h"
#include "agent/common/status.h"

namespace rigwatch {

enum class MatchOp { kEq, kNe, kRe, kNre };

// One label matcher: sensor="asic", fan!="", chain=~"[0-9]+".
struct LabelMatch {
  std::string label;
  MatchOp op = MatchOp::kEq;
  std::string value;
};

// Immutable after Compile: matching is const and safe from any thread.
class CompiledSelector {
 public:
  // `metric` empty matches any name. Fails with InvalidArgument naming the
  // matcher whose regex is bad.
  static Result<CompiledSelector> Compile(std::string metric,
                                          std::vector<LabelMatch> matchers);

  const std::string& metric() const { return metric_; }

  // `value_of(label)` returns the label's value as a std::string_view, ""
  // when absent (so `x=""` matches a missing label, as in PromQL).
  template <typename ValueOf>
  bool Matches(std::string_view name, ValueOf&& value_of) const {
    if (!metric_.empty() && name != metric_) return false;
    for (const Compiled& m : matchers_) {
      if (!Test(m, value_of(std::string_view(m.match.label)))) return false;
    }
    return true;
  }

 private:
  struct Compiled {
    LabelMatch match;
    std::optional<LabelRegex> re;  // set for kRe / kNre
  };
  static bool Test(const Compiled& m, std::string_view value);

  std::string metric_;
  std::vector<Compiled> matchers_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_SELECTOR_H_
