#include "agent/common/label_regex.h"

#include <re2/re2.h>

namespace rigwatch {
namespace {

// Deepest '(' nesting in `p`, skipping escapes and bracket expressions (a '('
// inside [...] or after '\' is a literal).
int NestingDepth(std::string_view p) {
  int depth = 0, max_depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < p.size() && p[i + 1] == '^') ++i;
      if (i + 1 < p.size() && p[i + 1] == ']') ++i;
    } else if (c == '(') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ')') {
      if (depth > 0) --depth;
    }
  }
  return max_depth;
}

}  // namespace

Result<LabelRegex> LabelRegex::Compile(std::string_view pattern) {
  if (pattern.size() > kMaxLabelRegexBytes) {
    return InvalidArgumentError("regex is " + std::to_string(pattern.size()) +
                                " bytes, longer than the limit of " +
                                std::to_string(kMaxLabelRegexBytes));
  }
  if (NestingDepth(pattern) > kMaxLabelRegexNesting) {
    return InvalidArgumentError("regex nests groups deeper than " +
                                std::to_string(kMaxLabelRegexNesting));
  }
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_dot_nl(true);
  opts.set_max_mem(kLabelRegexMaxMem);
  auto re = std::make_shared<const RE2>(
      re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!re->ok()) {
    // RE2's text is "missing ): (asic"; the pattern is quoted by the caller.
    std::string why = re->error();
    const std::string suffix = ": " + re->error_arg();
    if (!re->error_arg().empty() && why.size() > suffix.size() &&
        why.compare(why.size() - suffix.size(), suffix.size(), suffix) == 0) {
      why.resize(why.size() - suffix.size());
    }
    if (re->error_code() == RE2::ErrorPatternTooLarge) {
      why = "pattern too large (compiled size over " +
            std::to_string(kLabelRegexMaxMem >> 20) + " MiB)";
    }
    return InvalidArgumentError(why);
  }
  LabelRegex out;
  out.pattern_ = std::string(pattern);
  out.re_ = std::move(re);
  return out;
}

bool LabelRegex::FullMatch(std::string_view value) const {
  return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

}  // namespace rigwatch
