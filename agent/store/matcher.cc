#include "agent/store/matcher.h"

#include <algorithm>

namespace rigwatch::store {

Result<CompiledSelector> CompiledSelector::Compile(const Selector& sel) {
  CompiledSelector c;
  c.metric_ = sel.metric;
  if (sel.target) {
    c.matchers_.push_back(
        {LabelMatcher{"miner", LabelMatcher::Op::kEq, *sel.target}, {}});
  }
  for (const LabelMatcher& m : sel.matchers) {
    M cm{m, {}};
    if (m.op == LabelMatcher::Op::kRegex ||
        m.op == LabelMatcher::Op::kNotRegex) {
      Result<LabelRegex> re = LabelRegex::Compile(m.value);
      if (!re.ok()) {
        // The pattern itself may be huge: quote only its start.
        std::string shown = m.value.substr(0, 64);
        if (shown.size() < m.value.size()) shown += "...";
        return InvalidArgumentError(
            "label matcher " + m.name +
            (m.op == LabelMatcher::Op::kRegex ? "=~" : "!~") + "\"" + shown +
            "\": bad regex: " + re.status().message());
      }
      cm.re.emplace(std::move(re).value());
    }
    c.matchers_.push_back(std::move(cm));
  }
  return c;
}

bool CompiledSelector::Matches(const SeriesKey& key) const {
  if (!metric_.empty() && key.metric != metric_) return false;
  for (const M& cm : matchers_) {
    std::string_view v;
    if (cm.m.name == "miner") {
      v = key.target;
    } else if (cm.m.name == "__name__") {
      v = key.metric;
    } else {
      for (const Label& l : key.labels) {
        if (l.name == cm.m.name) v = l.value;
      }
    }
    bool ok = true;
    switch (cm.m.op) {
      case LabelMatcher::Op::kEq:
        ok = v == cm.m.value;
        break;
      case LabelMatcher::Op::kNe:
        ok = v != cm.m.value;
        break;
      case LabelMatcher::Op::kRegex:
        ok = cm.re->FullMatch(v);
        break;
      case LabelMatcher::Op::kNotRegex:
        ok = !cm.re->FullMatch(v);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

Labels SortedLabels(Labels labels) {
  std::stable_sort(
      labels.begin(), labels.end(),
      [](const Label& a, const Label& b) { return a.name < b.name; });
  return labels;
}

}  // namespace rigwatch::store
