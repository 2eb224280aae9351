// Matching samples against a rule's selector: the common CompiledSelector
// (agent/common/selector.h) over a sample's labels.
#ifndef RIGWATCH_AGENT_RULES_MATCH_H_
#define RIGWATCH_AGENT_RULES_MATCH_H_

#include <string>
#include <string_view>
#include <vector>

#include "agent/common/selector.h"
#include "agent/rules/rule.h"
#include "exporters/sample.h"

namespace rigwatch::rules {

// True when `name` matches `pattern`, where '*' matches any run of characters.
bool GlobMatch(std::string_view pattern, std::string_view name);

// A rule's selector compiled; fails on a regex the parser refuses (a RuleSet
// built by hand can hold one).
Result<CompiledSelector> CompileSelector(const Selector& selector);

// Name equal and every matcher satisfied; a missing label reads as "".
bool Matches(const CompiledSelector& selector, std::string_view name,
             const Labels& labels);
inline bool Matches(const CompiledSelector& selector, const Sample& sample) {
  return Matches(selector, sample.name, sample.labels);
}

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_MATCH_H_
