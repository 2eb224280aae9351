// Helpers shared by the rules tests.
#ifndef RIGWATCH_TESTS_UNIT_RULES_TEST_UTIL_H_
#define RIGWATCH_TESTS_UNIT_RULES_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/rules/engine.h"
#include "agent/rules/loader.h"
#include "tests/support/files.h"

namespace rigwatch::rules::testing {

// The repository root (tests run there; RIGWATCH_SOURCE_DIR when set).
using test_support::SourceDir;

using test_support::ReadFile;

// Keeps every transition the engine reports, in order.
class RecordingSink : public TransitionSink {
 public:
  void OnTransition(const Transition& t) override { seen.push_back(t); }
  std::vector<Transition> seen;
};

// Parses rule text that must be valid; fails the test otherwise.
inline RuleSet MustParse(std::string_view text) {
  Result<RuleSet> r = ParseRuleText(text, "test.yaml");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : RuleSet{};
}

}  // namespace rigwatch::rules::testing

#endif  // RIGWATCH_TESTS_UNIT_RULES_TEST_UTIL_H_
