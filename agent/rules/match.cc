#include "agent/rules/match.h"

namespace rigwatch::rules {

bool GlobMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<CompiledSelector> CompileSelector(const Selector& selector) {
  return CompiledSelector::Compile(selector.metric, selector.matchers);
}

bool Matches(const CompiledSelector& selector, std::string_view name,
             const Labels& labels) {
  return selector.Matches(name, [&labels](std::string_view label) {
    for (const Label& l : labels) {
      if (l.name == label) return std::string_view(l.value);
    }
    return std::string_view();
  });
}

}  // namespace rigwatch::rules
