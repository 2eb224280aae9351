#include "agent/actions/alertmanager.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rigwatch::actions {
namespace {

TEST(AlertmanagerJsonTest, ApiV2Shape) {
  AmAlert a;
  a.labels = {{"alertname", "temp_high"},
              {"miner", "rig-1"},
              {"severity", "critical"},
              {"bad-name", "x"}};
  a.annotations = {{"summary", "hot"}, {"description", "81 > 75"}};
  a.starts_at = FromUnixMillis(1767225600000);
  a.ends_at = FromUnixMillis(1767225900000);
  a.generator_url = "http://agent:9842/api/v1/targets/rig-1";
  auto r = AlertsToJson({a});
  ASSERT_TRUE(r.ok());
  auto j = nlohmann::json::parse(*r);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["labels"]["alertname"], "temp_high");
  EXPECT_EQ(j[0]["labels"]["bad_name"], "x");
  EXPECT_EQ(j[0]["annotations"]["summary"], "hot");
  EXPECT_EQ(j[0]["startsAt"], "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(j[0]["endsAt"], "2026-01-01T00:05:00.000Z");
  EXPECT_EQ(j[0]["generatorURL"], "http://agent:9842/api/v1/targets/rig-1");
}

TEST(AlertmanagerJsonTest, InvalidUtf8IsReplacedNotThrown) {
  AmAlert a;
  a.labels = {{"alertname", "x"}, {"miner", std::string("rig\xff\xfe", 5)}};
  auto r = AlertsToJson({a});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(nlohmann::json::accept(*r));
}

TEST(AlertmanagerChannelTest, UnreachableIsUnavailable) {
  AlertmanagerOptions o;
  o.url = "http://127.0.0.1:1";
  o.timeout = std::chrono::seconds(5);
  AlertmanagerChannel ch(o);
  EXPECT_EQ(ch.Deliver("[]").code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rigwatch::actions
