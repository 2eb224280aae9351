// Rule files: the good ones load, every bad one fails with exactly the text
// in the .err file beside it (all errors at once, FILE:LINE:COL).
#include "agent/rules/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/unit/rules/test_util.h"

namespace rigwatch::rules {
namespace {

namespace fs = std::filesystem;
using testing::MustParse;
using testing::ReadFile;
using testing::SourceDir;

std::vector<std::string> FixtureFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(SourceDir() + "/" + dir)) {
    if (e.path().extension() == ".yaml") {
      out.push_back(dir + "/" + e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RulesLoaderTest, GoodFixturesLoad) {
  std::vector<std::string> files = FixtureFiles("tests/fixtures/rules/good");
  ASSERT_GE(files.size(), 3u);
  for (const std::string& f : files) {
    Result<RuleSet> r = LoadRuleFiles({SourceDir() + "/" + f});
    EXPECT_TRUE(r.ok()) << f << ":\n" << r.status().message();
  }
}

TEST(RulesLoaderTest, ShippedDefaultRulesLoad) {
  Result<RuleSet> r = LoadRuleFiles({SourceDir() + "/rules/default.yaml"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rules.size(), 21u);  // 7 ASIC-kind rules, 1 service
}

TEST(RulesLoaderTest, BadFixturesReportExactErrors) {
  std::vector<std::string> files = FixtureFiles("tests/fixtures/rules/bad");
  ASSERT_GE(files.size(), 9u);
  for (const std::string& f : files) {
    // Relative paths, so messages read the same on every checkout.
    fs::current_path(SourceDir());
    Result<RuleSet> r = LoadRuleFiles({f});
    ASSERT_FALSE(r.ok()) << f;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    std::string want = ReadFile(f.substr(0, f.size() - 5) + ".err");
    while (!want.empty() && want.back() == '\n') want.pop_back();
    EXPECT_EQ(r.status().message(), want) << f;
  }
}

TEST(RulesLoaderTest, SpecExampleParsesToTheRightModel) {
  Result<RuleSet> r = LoadRuleFiles(
      {SourceDir() + "/tests/fixtures/rules/good/spec_example.yaml"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->rules.size(), 5u);
  const Rule& t = r->rules[0];
  EXPECT_EQ(t.name, "asic_temperature");
  EXPECT_EQ(t.selector.metric, "miner_temperature_celsius");
  ASSERT_EQ(t.selector.matchers.size(), 1u);
  EXPECT_EQ(t.selector.matchers[0].label, "sensor");
  EXPECT_EQ(t.selector.matchers[0].value, "asic");
  ASSERT_TRUE(t.yellow && t.red);
  EXPECT_TRUE(t.red->lhs.is_current);
  EXPECT_EQ(t.red->op, CmpOp::kGt);
  EXPECT_EQ(t.red->rhs.factor, 72);
  EXPECT_EQ(t.for_duration, std::chrono::minutes(1));
  EXPECT_EQ(t.clear, 3);
  EXPECT_EQ(t.on_red, (std::vector<std::string>{"notify", "restart"}));

  const Rule& h = r->rules[1];
  ASSERT_TRUE(h.red);
  EXPECT_EQ(h.red->op, CmpOp::kLt);
  EXPECT_EQ(h.red->rhs.fn, WindowFn::kAvgOverTime);
  EXPECT_EQ(h.red->rhs.window, std::chrono::hours(1));
  EXPECT_DOUBLE_EQ(h.red->rhs.factor, 0.7);
  EXPECT_EQ(h.LongestWindow(), std::chrono::hours(1));

  const Rule& s = r->rules[2];
  EXPECT_EQ(s.red->lhs.fn, WindowFn::kIncrease);
  EXPECT_EQ(s.red->op, CmpOp::kEq);
  EXPECT_EQ(s.red->rhs.factor, 0);

  const Rule& d = r->rules[4];
  EXPECT_EQ(d.yellow->rhs.factor, 1e9);
  EXPECT_EQ(d.red->rhs.factor, 200e6);
}

TEST(RulesLoaderTest, UnitsScaleToBaseUnits) {
  RuleSet s = MustParse(R"y(rules:
  - name: a
    metric: miner_hashrate_hashes_per_second
    yellow: "< 1.5TH/s"
    red: "< 500 GH/s"
  - name: b
    metric: node_memory_MemAvailable_bytes
    yellow: "< 1GiB"
    red: "< 1e6"
  - name: c
    metric: miner_uptime_seconds
    red: "< 5m"
  - name: d
    metric: miner_fan_duty_ratio
    red: "> 95%"
)y");
  ASSERT_EQ(s.rules.size(), 4u);
  EXPECT_DOUBLE_EQ(s.rules[0].yellow->rhs.factor, 1.5e12);
  EXPECT_DOUBLE_EQ(s.rules[0].red->rhs.factor, 500e9);
  EXPECT_DOUBLE_EQ(s.rules[1].yellow->rhs.factor, 1073741824.0);
  EXPECT_DOUBLE_EQ(s.rules[1].red->rhs.factor, 1e6);
  EXPECT_DOUBLE_EQ(s.rules[2].red->rhs.factor, 300);
  EXPECT_DOUBLE_EQ(s.rules[3].red->rhs.factor, 0.95);
}

TEST(RulesLoaderTest, DuplicateNamesAcrossFilesAndUnreadableFile) {
  fs::current_path(SourceDir());
  const std::string a = "tests/fixtures/rules/good/spec_example.yaml";
  Result<RuleSet> r =
      LoadRuleFiles({a, a, "tests/fixtures/rules/does_not_exist.yaml"});
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find(a +
                   ":2:11: name: duplicate rule name \"asic_temperature\" "
                   "(first defined at " +
                   a + ":2:11)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("tests/fixtures/rules/does_not_exist.yaml: rule file: "
                   "cannot open: No such file or directory"),
            std::string::npos)
      << m;
  // Five duplicates plus the missing file.
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 5) << m;
}

TEST(RulesLoaderTest, KnownKindsComeFromOptions) {
  LoadOptions o;
  o.known_kinds = {"host", "whatsminer"};
  Result<RuleSet> r = ParseRuleText(R"y(rules:
  - name: a
    metric: miner_up
    kinds: [whatsminer]
    red: "== 0"
)y",
                                    "k.yaml", o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  Result<RuleSet> bad = ParseRuleText(R"y(rules:
  - name: a
    metric: miner_up
    kinds: [bitaxe]
    red: "== 0"
)y",
                                      "k.yaml", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "k.yaml:4:13: kinds: unknown value \"bitaxe\"; allowed: host, "
            "whatsminer");
}

// A bounded, deterministic stand-in for a fuzzer: mutated rule files must
// come back as a RuleSet or an error, never as a crash or an exception.
TEST(RulesLoaderTest, MutatedFilesNeverCrash) {
  const std::string base =
      ReadFile(SourceDir() + "/tests/fixtures/rules/good/full_grammar.yaml");
  ASSERT_FALSE(base.empty());
  uint32_t seed = 12345;
  auto next = [&seed]() {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) & 0xFFFFFF;
  };
  const std::string alphabet = "{}[]:\"',*<>=!~%-# \n\t0123456789absentmh";
  int errors = 0;
  for (int i = 0; i < 600; ++i) {
    std::string text = base;
    const int edits = 1 + next() % 4;
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = next() % text.size();
      switch (next() % 3) {
        case 0:
          text[at] = alphabet[next() % alphabet.size()];
          break;
        case 1:
          text.erase(at, 1 + next() % 8);
          break;
        default:
          text.insert(at, 1, alphabet[next() % alphabet.size()]);
      }
    }
    Result<RuleSet> r = ParseRuleText(text, "m.yaml");
    if (!r.ok()) {
      ++errors;
      EXPECT_TRUE(r.status().message().starts_with("m.yaml:"))
          << r.status().message();
    }
  }
  EXPECT_GT(errors, 50);  // the mutations do produce broken files
}

}  // namespace
}  // namespace rigwatch::rules
