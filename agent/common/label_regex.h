// Label regexes (=~ and !~) as Prometheus defines them: RE2 syntax, fully
// anchored (`a.*` must match the whole value), `.` matches a newline too.
// RE2 runs in time linear in the subject and never recurses on it, so a
// user-supplied pattern (HTTP match=, rule files) cannot crash the process
// or pin a thread; compile size is bounded by the limits below.
#ifndef RIGWATCH_AGENT_COMMON_LABEL_REGEX_H_
#define RIGWATCH_AGENT_COMMON_LABEL_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "agent/common/status.h"

namespace re2 {
class RE2;
}

namespace rigwatch {

// Longest pattern accepted, in bytes.
inline constexpr size_t kMaxLabelRegexBytes = 4096;
// Deepest group nesting accepted: '(' more than this deep is refused before
// RE2 sees it.
inline constexpr int kMaxLabelRegexNesting = 64;
// Memory RE2 may use for one compiled pattern (program and DFA caches).
inline constexpr int64_t kLabelRegexMaxMem = 4 << 20;

// A compiled label regex. Immutable after Compile, so safe to share between
// threads; copies share the compiled program.
class LabelRegex {
 public:
  // InvalidArgument with a message naming the problem ("missing )", "nested
  // deeper than 64", "longer than 4096 bytes", "too large").
  static Result<LabelRegex> Compile(std::string_view pattern);

  // True when the whole of `value` matches.
  bool FullMatch(std::string_view value) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  std::shared_ptr<const re2::RE2> re_;
};

}  // namespace rigwatch

#endif  // RIGWATCH_AGENT_COMMON_LABEL_REGEX_H_
