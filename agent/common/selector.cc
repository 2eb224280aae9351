#include "agent/common/selector.h"

namespace rigwatch {

Result<CompiledSelector> CompiledSelector::Compile(
    std::string metric, std::vector<LabelMatch> matchers) {
  CompiledSelector c;
  c.metric_ = std::move(metric);
  c.matchers_.reserve(matchers.size());
  for (LabelMatch& m : matchers) {
    Compiled cm{std::move(m), std::nullopt};
    if (cm.match.op == MatchOp::kRe || cm.match.op == MatchOp::kNre) {
      Result<LabelRegex> re = LabelRegex::Compile(cm.match.value);
      if (!re.ok()) {
        // The pattern itself may be huge: quote only its start.
        std::string shown = cm.match.value.substr(0, 64);
        if (shown.size() < cm.match.value.size()) shown += "...";
        return InvalidArgumentError(
            "label matcher " + cm.match.label +
            (cm.match.op == MatchOp::kRe ? "=~" : "!~") + "\"" + shown +
            "\": bad regex: " + re.status().message());
      }
      cm.re = std::move(re).value();
    }
    c.matchers_.push_back(std::move(cm));
  }
  return c;
}

bool CompiledSelector::Test(const Compiled& m, std::string_view v) {
  switch (m.match.op) {
    case MatchOp::kEq:
      return v == m.match.value;
    case MatchOp::kNe:
      return v != m.match.value;
    case MatchOp::kRe:
      return m.re->FullMatch(v);
    case MatchOp::kNre:
      return !m.re->FullMatch(v);
  }
  return false;
}

}  // namespace rigwatch
