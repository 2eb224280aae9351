// Matching samples against a rule's selector. The regexes of =~ / !~ are
// compiled once (RE2, agent/common/label_regex.h) and their verdicts cached per
// label value, because a fleet repeats the same few values
// (sensor="chain0_chip") on every miner.
#ifndef RIGWATCH_AGENT_RULES_MATCH_H_
#define RIGWATCH_AGENT_RULES_MATCH_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/rules/rule.h"
#include "exporters/sample.h"

namespace rigwatch::rules {

// True when `name` matches `pattern`, where '*' matches any run of characters.
bool GlobMatch(std::string_view pattern, std::string_view name);

// A selector ready to test samples. Not thread-safe (the regex cache is
// mutated by Matches); the engine calls it under its lock.
class CompiledSelector {
 public:
  explicit CompiledSelector(const Selector& selector);
  ~CompiledSelector();
  CompiledSelector(CompiledSelector&&) noexcept;
  CompiledSelector& operator=(CompiledSelector&&) noexcept;

  // Name equal and every matcher satisfied; a missing label reads as "".
  bool Matches(const Sample& sample);
  // The same test on a bare name and labels (history points).
  bool Matches(std::string_view name, const Labels& labels);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rigwatch::rules

#endif  // RIGWATCH_AGENT_RULES_MATCH_H_
