// The simulated Vnish and Braiins OS replies against the real exporters:
// what the simulator renders is what the vnish and braiins kinds parse, and
// the login steps answer as docs/simulator.md says.
#include <gtest/gtest.h>

#include "exporters/braiins.h"
#include "exporters/miner_metrics.h"
#include "exporters/vnish.h"
#include "tests/sim/braiins_replies.h"
#include "tests/sim/vnish_replies.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch::sim {
namespace {

using rigwatch::testing::ValueOf;

Snapshot Hot() {
  Snapshot s;
  s.hashrate_ghs = 140000;
  s.hashrate_avg_ghs = 139000;
  s.temp_c = 80;
  s.power_w = 3100;
  s.fan_rpm = 5000;
  s.fan_pct = 70;
  s.accepted = 100;
  return s;
}

TEST(VnishSimTest, SummaryParsesAsTheKindReadsIt) {
  Result<ScrapeResult> r =
      vnish::ParseSummary(RenderVnishSummary(Hot()), RenderVnishInfo("m1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chip"), 80);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chain1_chip"), 80);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chain0_board"), 67);
  EXPECT_DOUBLE_EQ(ValueOf(*r, metric::kHashrate), 140000e9);
  EXPECT_EQ(ValueOf(*r, metric::kPower), 3100);
  EXPECT_EQ(r->info.hostname, "m1");
  EXPECT_EQ(r->info.firmware, "1.2.6");
}

TEST(VnishSimTest, UnlockChecksThePassword) {
  EXPECT_EQ(RenderVnishUnlock(R"({"pw":"root"})", "root", "T").body,
            R"({"token":"T"})");
  EXPECT_EQ(RenderVnishUnlock(R"({"pw":"x"})", "root", "T").status, 403);
  EXPECT_EQ(RenderVnishUnlock("pw=root", "root", "T").status, 400);
}

TEST(BraiinsSimTest, RepliesParseAsTheKindReadsThem) {
  for (Variant v : {Variant::kBraiinsS19, Variant::kBraiinsS9}) {
    ScrapeResult out;
    for (const char* c :
         {"summary", "pools", "devdetails", "temps", "tunerstatus", "fans"}) {
      Status st =
          braiins::ParseReply(c, RenderBraiinsReply(v, c, Hot()).body, out);
      ASSERT_TRUE(st.ok()) << c << ": " << st.ToString();
    }
    const std::string hot = v == Variant::kBraiinsS9 ? "chain7" : "chain2";
    EXPECT_EQ(ValueOf(out, metric::kTemperature, "sensor", hot + "_chip"), 80);
    EXPECT_EQ(ValueOf(out, metric::kTemperature, "sensor", hot + "_board"), 65);
    EXPECT_EQ(ValueOf(out, metric::kPower), 3100);
    EXPECT_EQ(ValueOf(out, metric::kFanDuty), 0.7);
  }
  EXPECT_NE(RenderBraiinsReply(Variant::kBraiinsS19, "restart", Hot())
                .body.find("\"Code\":14"),
            std::string::npos);
}

TEST(BraiinsSimTest, RestApiOnlyOn2507) {
  const auto web = [](Variant v, std::string_view method, std::string_view path,
                      std::string_view auth, std::string_view body) {
    return RenderBraiinsWeb(v, method, path, auth, body, "pw", "TK");
  };
  EXPECT_EQ(web(Variant::kBraiinsS9, "GET", "/api/v1/version/", "", "").status,
            404);
  EXPECT_EQ(web(Variant::kBraiinsS19, "GET", "/api/v1/version/", "", "").status,
            200);
  BraiinsWebReply login =
      web(Variant::kBraiinsS19, "POST", "/api/v1/auth/login", "",
          R"({"password":"pw","username":"root"})");
  EXPECT_EQ(login.status, 200);
  EXPECT_NE(login.body.find("\"TK\""), std::string::npos);
  EXPECT_EQ(web(Variant::kBraiinsS19, "POST", "/api/v1/auth/login", "",
                R"({"password":"no","username":"root"})")
                .status,
            401);
  BraiinsWebReply reboot =
      web(Variant::kBraiinsS19, "PUT", "/api/v1/actions/reboot", "TK", "");
  EXPECT_EQ(reboot.status, 204);
  EXPECT_TRUE(reboot.reboot);
  EXPECT_EQ(web(Variant::kBraiinsS19, "PUT", "/api/v1/actions/reboot",
                "Bearer TK", "")
                .status,
            401);
}

}  // namespace
}  // namespace rigwatch::sim
