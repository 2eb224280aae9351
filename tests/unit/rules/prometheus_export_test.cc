// The Prometheus alerting-rules export: promtool accepts it, and the shipped
// rules/prometheus/rigwatch.rules.yml is exactly what rules/default.yaml
// generates (RIGWATCH_UPDATE_GOLDEN=1 rewrites it).
#include "agent/rules/prometheus_export.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/support/require.h"
#include "tests/unit/rules/test_util.h"

namespace rigwatch::rules {
namespace {

using testing::MustParse;
using testing::ReadFile;
using testing::SourceDir;

constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kShipped[] = "rules/prometheus/rigwatch.rules.yml";

struct ToolRun {
  int exit_code = -1;
  std::string output;
};

// Runs `promtool check rules` on `text` written to a temp file.
ToolRun PromtoolCheck(const std::string& text) {
  test_support::TempDir dir("rules_export_");
  const std::string path = dir.Sub("rules.yml");
  std::ofstream(path) << text;
  ToolRun r;
  FILE* p = popen(
      (std::string(kPromtool) + " check rules " + path + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(RulesPrometheusExportTest, ShippedFileMatchesDefaultRules) {
  Result<RuleSet> set = LoadRuleFiles({SourceDir() + "/rules/default.yaml"});
  ASSERT_TRUE(set.ok()) << set.status().message();
  Result<std::string> text = ExportPrometheusRules(*set, "rules/default.yaml");
  ASSERT_TRUE(text.ok()) << text.status().message();
  const std::string shipped = SourceDir() + "/" + kShipped;
  const char* update = std::getenv("RIGWATCH_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(shipped, std::ios::binary) << *text;
  }
  EXPECT_EQ(ReadFile(shipped), *text)
      << kShipped << " is stale; regenerate it with RIGWATCH_UPDATE_GOLDEN=1";
}

TEST(RulesPrometheusExportTest, PromtoolAcceptsTheExports) {
  RIGWATCH_REQUIRE_TOOL(kPromtool);
  for (const std::string& f :
       {std::string("rules/default.yaml"),
        std::string("tests/fixtures/rules/good/spec_example.yaml"),
        std::string("tests/fixtures/rules/good/full_grammar.yaml"),
        std::string("tests/fixtures/rules/good/empty.yaml")}) {
    Result<RuleSet> set = LoadRuleFiles({SourceDir() + "/" + f});
    ASSERT_TRUE(set.ok()) << f << ": " << set.status().message();
    Result<std::string> text = ExportPrometheusRules(*set, f);
    ASSERT_TRUE(text.ok());
    ToolRun r = PromtoolCheck(*text);
    EXPECT_EQ(r.exit_code, 0) << f << ":\n" << r.output << "\n" << *text;
    if (!set->rules.empty()) {
      EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
    }
  }
}

TEST(RulesPrometheusExportTest, PromtoolRejectsABrokenFile) {
  // The check above can fail: promtool does reject a bad expression.
  ToolRun r = PromtoolCheck(
      "groups:\n  - name: x\n    rules:\n      - alert: a\n"
      "        expr: \"rate(x[5m]\"\n");
  EXPECT_NE(r.exit_code, 0) << r.output;
}

TEST(RulesPrometheusExportTest, TranslatesEachForm) {
  RuleSet set = MustParse(R"y(rules:
  - name: asic_temperature
    metric: miner_temperature_celsius{sensor="asic"}
    kinds: [bitaxe]
    yellow: "> 65"
    red: "> 72"
    for: 1m
    clear: 3
  - name: hashrate_low
    metric: miner_hashrate_hashes_per_second
    targets: [rack1-*]
    red: "< 0.7 * avg_over_time(1h)"
    for: 5m
  - name: no_shares
    metric: miner_shares_accepted_total
    red: "increase(15m) == 0"
    severity: warning
    description: "{{miner}} {{label.pool}} {{value}} {{threshold}} {{level}}"
  - name: disk_low
    metric: node_filesystem_avail_bytes{mountpoint="/"}
    kinds: [host]
    red: "< 200MB"
  - name: gone
    metric: miner_up
    red: absent
)y");
  Result<std::string> r = ExportPrometheusRules(set);
  ASSERT_TRUE(r.ok());
  const std::string& t = *r;
  auto has = [&](const std::string& s) {
    EXPECT_NE(t.find(s), std::string::npos) << "missing: " << s << "\n" << t;
  };
  has("      # asic_temperature red: > 72\n"
      "      # clear: 3 (hysteresis) has no PromQL equivalent; the alert "
      "resolves as soon as the threshold is crossed back\n"
      "      - alert: asic_temperature\n"
      "        expr: \"(miner_temperature_celsius{sensor=\\\"asic\\\"} > 72) "
      "and on(miner) miner_up{kind=~\\\"bitaxe\\\"}\"\n"
      "        for: 1m\n"
      "        labels:\n"
      "          severity: critical\n"
      "          level: red\n");
  has("        expr: \"(miner_temperature_celsius{sensor=\\\"asic\\\"} > 65) "
      "and on(miner) miner_up{kind=~\\\"bitaxe\\\"}\"\n"
      "        for: 1m\n"
      "        labels:\n"
      "          severity: warning\n"
      "          level: yellow\n");
  // A windowed condition also needs the series to be as old as its window
  // (`and <selector> offset W`), as in the agent: nothing fires from the
  // first scrapes after a cold start.
  has("        expr: "
      "\"(miner_hashrate_hashes_per_second{miner=~\\\"rack1-.*\\\"}"
      " < 0.7 * avg_over_time(miner_hashrate_hashes_per_second{miner=~"
      "\\\"rack1-.*\\\"}[1h])) and miner_hashrate_hashes_per_second{"
      "miner=~\\\"rack1-.*\\\"} offset 1h\"\n        for: 5m\n");
  has("        expr: \"(increase(miner_shares_accepted_total[15m]) == 0) and "
      "miner_shares_accepted_total offset 15m\"\n"
      "        labels:\n          severity: warning\n");
  has("          description: \"{{ $labels.miner }} {{ $labels.pool }} "
      "{{ $value }} increase(15m) == 0 red\"\n");
  has("        expr: \"node_filesystem_avail_bytes{mountpoint=\\\"/\\\"} < "
      "200000000\"\n");
  has("      # absent() fires only when no target has the series; the agent "
      "judges absence per target\n      - alert: gone\n"
      "        expr: \"absent(miner_up)\"\n");
}

TEST(RulesPrometheusExportTest, TranslatesExpressions) {
  RuleSet set = MustParse(R"y(rules:
  - name: cpu
    expr: 'sum(rate(node_cpu_seconds_total{mode!="idle"}[1m])) / sum(rate(node_cpu_seconds_total[1m]))'
    kinds: [host]
    red: "> 95%"
  - name: fs
    expr: max by (mountpoint) (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)
    kinds: [host]
    red: "> 90%"
  - name: nested
    expr: a - (b - c) / (d * e) + -f
    red: "> 1"
  - name: smooth
    expr: sum without (chain) (miner_hashrate_hashes_per_second)
    targets: [rack1-*]
    red: "avg_over_time(10m) < 1TH/s"
)y");
  Result<std::string> r = ExportPrometheusRules(set);
  ASSERT_TRUE(r.ok());
  const std::string& t = *r;
  auto has = [&](const std::string& s) {
    EXPECT_NE(t.find(s), std::string::npos) << "missing: " << s << "\n" << t;
  };
  // Aggregations stay per target; each windowed input must be W old.
  has("        expr: \"((sum by (job, instance, miner) (rate("
      "node_cpu_seconds_total{mode!=\\\"idle\\\"}[1m])) / sum by (job, "
      "instance, miner) (rate(node_cpu_seconds_total[1m]))) > 0.95) and "
      "on(instance, miner) node_cpu_seconds_total{mode!=\\\"idle\\\"} offset "
      "1m and on(instance, miner) node_cpu_seconds_total offset 1m\"\n");
  has("        expr: \"max by (job, instance, miner, mountpoint) (1 - "
      "node_filesystem_avail_bytes / node_filesystem_size_bytes) > 0.9\"\n");
  // Precedence: only the parentheses PromQL needs.
  has("        expr: \"(a - (b - c) / (d * e) + 0 - f) > 1\"\n");
  // A window over an expression is a subquery; `without` keeps the target.
  has("        expr: \"(avg_over_time(sum without (chain) "
      "(miner_hashrate_hashes_per_second{miner=~\\\"rack1-.*\\\"})[10m:]) < "
      "1000000000000) and on(instance, miner) "
      "miner_hashrate_hashes_per_second{miner=~\\\"rack1-.*\\\"} offset "
      "10m\"\n");
  RIGWATCH_REQUIRE_TOOL(kPromtool);
  ToolRun run = PromtoolCheck(t);
  EXPECT_EQ(run.exit_code, 0) << run.output << "\n" << t;
}

TEST(RulesPrometheusExportTest, RejectsAnInvalidAlertName) {
  RuleSet set = MustParse(R"y(rules:
  - name: ok
    metric: miner_up
    red: "== 0"
)y");
  set.rules[0].name = "not-valid";
  Result<std::string> r = ExportPrometheusRules(set);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "rule \"not-valid\" is not a valid Prometheus alert name");
}

}  // namespace
}  // namespace rigwatch::rules
