#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "agent/app/agent.h"

namespace rigwatch {
namespace {

// docs/metrics.md is generated; RIGWATCH_UPDATE_GOLDEN=1 rewrites it.
TEST(MetricsDocTest, DocsMatchTheDescriptorTables) {
  std::string want = MetricsMarkdown();
  if (std::getenv("RIGWATCH_UPDATE_GOLDEN") != nullptr) {
    std::ofstream("docs/metrics.md") << want;
  }
  std::ifstream in("docs/metrics.md");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), want)
      << "docs/metrics.md is out of date: run `build/rigwatch docs metrics > "
         "docs/metrics.md`";
}

TEST(MetricsDocTest, NamesAreUniqueAndFollowConventions) {
  std::set<std::string_view> seen;
  for (const MetricTable& t : AllMetricTables()) {
    for (const MetricDesc& d : t.descs) {
      EXPECT_TRUE(seen.insert(d.name).second) << "duplicate " << d.name;
      EXPECT_FALSE(d.help.empty()) << d.name;
      bool total =
          d.name.size() > 6 && d.name.substr(d.name.size() - 6) == "_total";
      if (d.type == MetricType::kCounter) {
        EXPECT_TRUE(total) << d.name << ": counters end in _total";
      }
    }
  }
}

}  // namespace
}  // namespace rigwatch
