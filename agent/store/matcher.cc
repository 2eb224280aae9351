#include "agent/store/matcher.h"

#include <algorithm>

namespace rigwatch::store {

Result<CompiledSelector> CompileSelector(const Selector& sel) {
  std::vector<LabelMatch> ms;
  ms.reserve(sel.matchers.size() + 1);
  if (sel.target) ms.push_back({"miner", MatchOp::kEq, *sel.target});
  for (const LabelMatcher& m : sel.matchers) {
    MatchOp op = MatchOp::kEq;
    switch (m.op) {
      case LabelMatcher::Op::kEq:
        op = MatchOp::kEq;
        break;
      case LabelMatcher::Op::kNe:
        op = MatchOp::kNe;
        break;
      case LabelMatcher::Op::kRegex:
        op = MatchOp::kRe;
        break;
      case LabelMatcher::Op::kNotRegex:
        op = MatchOp::kNre;
        break;
    }
    ms.push_back({m.name, op, m.value});
  }
  return CompiledSelector::Compile(sel.metric, std::move(ms));
}

bool Matches(const CompiledSelector& selector, const SeriesKey& key) {
  return selector.Matches(key.metric, [&key](std::string_view label) {
    if (label == "miner") return std::string_view(key.target);
    if (label == "__name__") return std::string_view(key.metric);
    for (const Label& l : key.labels) {
      if (l.name == label) return std::string_view(l.value);
    }
    return std::string_view();
  });
}

Labels SortedLabels(Labels labels) {
  std::stable_sort(
      labels.begin(), labels.end(),
      [](const Label& a, const Label& b) { return a.name < b.name; });
  return labels;
}

}  // namespace rigwatch::store
