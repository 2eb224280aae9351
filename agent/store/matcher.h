// Label matching for Selector queries, shared by the Store implementations.
#ifndef RIGWATCH_AGENT_STORE_MATCHER_H_
#define RIGWATCH_AGENT_STORE_MATCHER_H_

#include <optional>
#include <vector>

#include "agent/common/label_regex.h"
#include "agent/store/store.h"

namespace rigwatch::store {

// A Selector with its regexes compiled once (RE2, see label_regex.h).
class CompiledSelector {
 public:
  // Fails with InvalidArgument naming the matcher on a bad regex.
  static Result<CompiledSelector> Compile(const Selector& sel);
  // Whether the series matches every matcher (absent label = "").
  bool Matches(const SeriesKey& key) const;
  const std::string& metric() const { return metric_; }

 private:
  struct M {
    LabelMatcher m;
    std::optional<LabelRegex> re;
  };
  std::string metric_;
  std::vector<M> matchers_;
};

// Sorts labels by name (series identity is order-independent).
Labels SortedLabels(Labels labels);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_MATCHER_H_
