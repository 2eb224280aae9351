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
      // std::regex reports a bad pattern by exception; converted here.
      try {
        cm.re.emplace(m.value, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return InvalidArgumentError("label matcher " + m.name + "=~\"" +
                                    m.value + "\": bad regex: " + e.what());
      }
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
        ok = std::regex_match(v.begin(), v.end(), *cm.re);
        break;
      case LabelMatcher::Op::kNotRegex:
        ok = !std::regex_match(v.begin(), v.end(), *cm.re);
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
