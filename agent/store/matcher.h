// Label matching for Selector queries, shared by the Store implementations.
#ifndef RIGWATCH_AGENT_STORE_MATCHER_H_
#define RIGWATCH_AGENT_STORE_MATCHER_H_

#include <regex>
#include <vector>

#include "agent/store/store.h"

namespace rigwatch::store {

// A Selector with its regexes compiled once. Not thread-safe (std::regex
// objects are used by one query).
class CompiledSelector {
 public:
  // Fails with InvalidArgument on a bad regex.
  static Result<CompiledSelector> Compile(const Selector& sel);
  // Whether the series matches every matcher (absent label = "").
  bool Matches(const SeriesKey& key) const;
  const std::string& metric() const { return metric_; }

 private:
  struct M {
    LabelMatcher m;
    std::optional<std::regex> re;
  };
  std::string metric_;
  std::vector<M> matchers_;
};

// Sorts labels by name (series identity is order-independent).
Labels SortedLabels(Labels labels);

}  // namespace rigwatch::store

#endif  // RIGWATCH_AGENT_STORE_MATCHER_H_
