#include "agent/rules/match.h"

#include <optional>
#include <unordered_map>

#include "agent/common/label_regex.h"

namespace rigwatch::rules {
namespace {

// Distinct label values remembered per regex matcher; past this the cache is
// cleared (a hostile or huge label space cannot grow memory without bound).
constexpr size_t kMaxCachedValues = 4096;
constexpr size_t kRecentValues = 16;

}  // namespace

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

struct CompiledSelector::Impl {
  struct M {
    std::string label;
    MatchOp op;
    std::string value;
    std::optional<LabelRegex> re;  // empty: a bad pattern, never matches
    // The first few values seen, scanned before hashing: a fleet has a
    // handful of sensor names, and comparing short strings beats hashing.
    std::vector<std::pair<std::string, bool>> recent;
    std::unordered_map<std::string, bool> cache;
  };
  std::string metric;
  std::vector<M> matchers;

  bool Test(M& m, std::string_view v) {
    switch (m.op) {
      case MatchOp::kEq:
        return v == m.value;
      case MatchOp::kNe:
        return v != m.value;
      case MatchOp::kRe:
      case MatchOp::kNre: {
        bool hit = false;
        bool known = false;
        for (const auto& [value, verdict] : m.recent) {
          if (value == v) {
            hit = verdict;
            known = true;
            break;
          }
        }
        if (!known) {
          auto it = m.cache.find(std::string(v));
          if (it != m.cache.end()) {
            hit = it->second;
          } else {
            hit = m.re && m.re->FullMatch(v);
            if (m.cache.size() >= kMaxCachedValues) m.cache.clear();
            m.cache.emplace(std::string(v), hit);
          }
          if (m.recent.size() < kRecentValues) m.recent.emplace_back(v, hit);
        }
        return m.op == MatchOp::kRe ? hit : !hit;
      }
    }
    return false;
  }

  bool Matches(std::string_view name, const Labels& labels) {
    if (name != metric) return false;
    for (M& m : matchers) {
      std::string_view v;
      for (const Label& l : labels) {
        if (l.name == m.label) {
          v = l.value;
          break;
        }
      }
      if (!Test(m, v)) return false;
    }
    return true;
  }
};

CompiledSelector::CompiledSelector(const Selector& selector)
    : impl_(std::make_unique<Impl>()) {
  impl_->metric = selector.metric;
  for (const Matcher& m : selector.matchers) {
    Impl::M c{m.label, m.op, m.value, std::nullopt, {}, {}};
    if (m.op == MatchOp::kRe || m.op == MatchOp::kNre) {
      // Validated by the parser (expr.cc); a RuleSet built by hand with a
      // bad pattern is a bug: it then never matches.
      Result<LabelRegex> re = LabelRegex::Compile(m.value);
      if (re.ok()) c.re.emplace(std::move(re).value());
    }
    impl_->matchers.push_back(std::move(c));
  }
}

CompiledSelector::~CompiledSelector() = default;
CompiledSelector::CompiledSelector(CompiledSelector&&) noexcept = default;
CompiledSelector& CompiledSelector::operator=(CompiledSelector&&) noexcept =
    default;

bool CompiledSelector::Matches(const Sample& sample) {
  return impl_->Matches(sample.name, sample.labels);
}

bool CompiledSelector::Matches(std::string_view name, const Labels& labels) {
  return impl_->Matches(name, labels);
}

}  // namespace rigwatch::rules
