// Prerequisites of a test (a tool, root, a mount): one policy for every
// C++ test. Under CI (env CI=true) a missing prerequisite fails the test;
// elsewhere the test is skipped with one line naming what is missing, and
// CTest counts it as skipped (the "[  SKIPPED ]" line gtest prints).
//
//   RIGWATCH_REQUIRE_TOOL("/usr/bin/prometheus-alertmanager");
//   RIGWATCH_REQUIRE(tmpfs.mounted, "a tmpfs mount (needs root)");
//
// Both return from the calling function, so use them in a TEST body or in
// SetUp().
#ifndef RIGWATCH_TESTS_SUPPORT_REQUIRE_H_
#define RIGWATCH_TESTS_SUPPORT_REQUIRE_H_

#include <gtest/gtest.h>

#include <string>

namespace rigwatch::test_support {

// True when the environment variable CI is "true" (or "1").
bool InCi();

// True when `path` names an executable file. A bare name is looked up in
// $PATH.
bool ToolExists(const std::string& path);

}  // namespace rigwatch::test_support

#define RIGWATCH_REQUIRE(present, what)                                \
  do {                                                                 \
    if (!(present)) {                                                  \
      if (::rigwatch::test_support::InCi()) {                          \
        FAIL() << "CI=true and a prerequisite is missing: " << (what); \
      } else {                                                         \
        GTEST_SKIP() << "skipped, missing: " << (what);                \
      }                                                                \
    }                                                                  \
  } while (0)

#define RIGWATCH_REQUIRE_TOOL(path) \
  RIGWATCH_REQUIRE(::rigwatch::test_support::ToolExists(path), path)

#endif  // RIGWATCH_TESTS_SUPPORT_REQUIRE_H_
