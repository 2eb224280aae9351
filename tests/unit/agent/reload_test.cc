// SIGHUP reload decisions (config_map) and the agent applying them, in
// process: a real store in a temp dir, no host collector, miners nobody
// answers for.
#include <gtest/gtest.h>

#include "agent/app/agent.h"
#include "agent/app/config_map.h"
#include "tests/support/child_process.h"
#include "tests/support/files.h"

namespace rigwatch {
namespace {

Config Parse(const std::string& yaml) {
  LoadOptions lo;
  lo.check_writable = false;
  LoadResult r = LoadConfigFromString(yaml, "c.yaml", lo);
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  return r.ok() ? *r.config : Config{};
}

TEST(ReloadPlanTest, NamesEveryRestartOnlyKeyThatChanged) {
  Config running = Parse("http: {listen: \"127.0.0.1:9842\"}\n");
  Config next = Parse(
      "http: {listen: \"127.0.0.1:9843\", threads: 2}\n"
      "storage: {path: /tmp/elsewhere, retention: 2d}\n"
      "scrape: {interval: 20s}\n");
  EXPECT_EQ(RestartOnlyChanges(running, next),
            (std::vector<std::string>{"http.listen", "http.threads",
                                      "storage.path", "storage.retention"}));
  KeepRestartOnly(running, &next);
  EXPECT_TRUE(RestartOnlyChanges(running, next).empty());
  EXPECT_EQ(next.http.listen, "127.0.0.1:9842");
  EXPECT_EQ(next.storage.path, running.storage.path);
  // What applies live is left as configured.
  EXPECT_EQ(next.scrape.interval, std::chrono::seconds(20));
}

TEST(ReloadPlanTest, RefusesAnEmptyFileAndDroppingEveryMiner) {
  Config empty = Parse("");
  EXPECT_NE(ReloadRefusal(empty, 0).find("the file is empty"),
            std::string::npos);
  Config no_miners = Parse("log: {level: info}\n");
  EXPECT_NE(ReloadRefusal(no_miners, 3).find("all 3 miners"),
            std::string::npos);
  EXPECT_EQ(ReloadRefusal(no_miners, 0), "");
  EXPECT_EQ(ReloadRefusal(Parse("miners: []\n"), 3), "");
  EXPECT_EQ(ReloadRefusal(Parse("miner_files: [/tmp/none-*.yaml]\n"), 3), "");
}

class AgentReloadTest : public ::testing::Test {
 protected:
  std::string Yaml(const std::string& extra) {
    return "http: {listen: \"127.0.0.1:" + std::to_string(port_) +
           "\"}\n"
           "storage: {path: \"" +
           dir_.Sub("data") +
           "\"}\n"
           "host: {enabled: false}\n"
           "backup: {every: 0s, dir: \"" +
           dir_.Sub("backups") + "\"}\n" + extra;
  }
  test_support::TempDir dir_;
  int port_ = test_support::FreePort();
};

constexpr const char* kMiners =
    "miners:\n"
    "  - {name: rig-1, kind: bitaxe, address: \"127.0.0.1:1\"}\n"
    "scrape: {interval: 1s, timeout: 500ms}\n";

TEST_F(AgentReloadTest, AppliesLiveKeysAndFlagsRestartOnlyOnes) {
  Agent agent(Parse(Yaml(kMiners)));
  ASSERT_TRUE(agent.Start().ok());
  EXPECT_FALSE(agent.restart_required());

  // Scrape, notify, restart limits, backups, host: rebuilt live.
  ASSERT_TRUE(agent
                  .Reload(Parse(Yaml(std::string(kMiners) +
                                     "notify:\n  smtp:\n"
                                     "    url: \"smtp://127.0.0.1:1\"\n"
                                     "    from: a@example.com\n"
                                     "    to: [b@example.com]\n"
                                     "actions: {restart_cooldown: 1m}\n")))
                  .ok());
  std::string changed_scrape = Yaml(kMiners);
  changed_scrape.replace(changed_scrape.find("interval: 1s"), 12,
                         "interval: 2s");
  ASSERT_TRUE(agent.Reload(Parse(changed_scrape)).ok());
  EXPECT_FALSE(agent.restart_required());

  // The store path needs a restart: flagged, the running value kept.
  std::string moved = Yaml(kMiners);
  moved.replace(moved.find("/data\""), 6, "/data2\"");
  ASSERT_TRUE(agent.Reload(Parse(moved)).ok());
  EXPECT_TRUE(agent.restart_required());
  // Back as it runs: nothing needs a restart any more.
  ASSERT_TRUE(agent.Reload(Parse(Yaml(kMiners))).ok());
  EXPECT_FALSE(agent.restart_required());
  agent.Stop();
}

TEST_F(AgentReloadTest, RefusesEmptyFileAndDroppingEveryMinerUnlessExplicit) {
  Agent agent(Parse(Yaml(kMiners)));
  ASSERT_TRUE(agent.Start().ok());
  Status empty = agent.Reload(Parse(""));
  EXPECT_EQ(empty.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(empty.message().find("the file is empty"), std::string::npos);
  Status dropped = agent.Reload(Parse(Yaml("")));
  EXPECT_EQ(dropped.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(dropped.message().find("all 1 miners"), std::string::npos)
      << dropped.message();
  // Refused reloads changed nothing: the miner is still watched, so the
  // same refusal comes again; `miners: []` says it on purpose.
  EXPECT_EQ(agent.Reload(Parse(Yaml(""))).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(agent.Reload(Parse(Yaml("miners: []\n"))).ok());
  EXPECT_TRUE(agent.Reload(Parse(Yaml(""))).ok());  // nothing left to drop
  agent.Stop();
}

}  // namespace
}  // namespace rigwatch
