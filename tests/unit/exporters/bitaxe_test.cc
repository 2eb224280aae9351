#include "exporters/bitaxe.h"

#include <gtest/gtest.h>

#include <string>

#include "exporters/miner_metrics.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch::bitaxe {
namespace {

using rigwatch::testing::FindSample;
using rigwatch::testing::FixtureDir;
using rigwatch::testing::ReadFile;
using rigwatch::testing::ValueOf;

ScrapeResult MustParse(std::string_view body) {
  Result<ScrapeResult> r = ParseInfo(body);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : ScrapeResult{};
}

Response Http(int status, std::string body) {
  Response r;
  r.http_status = status;
  r.body = std::move(body);
  return r;
}

TEST(BitaxeTest, PollsOnlySystemInfo) {
  std::vector<Request> reqs = GetExporter().PollRequests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].path, "/api/system/info");
  EXPECT_FALSE(reqs[0].optional);
  EXPECT_EQ(GetExporter().GetProtocol(), Protocol::kHttp);
  EXPECT_EQ(GetExporter().Kind(), "bitaxe");
}

TEST(BitaxeTest, ConvertsToBaseUnits) {
  ScrapeResult r = MustParse(
      R"({"hashRate":1154.81,"expectedHashrate":1161.216,"voltage":5093.75,)"
      R"("current":2340,"frequency":525.5,"fanspeed":47.830001831054688,)"
      R"("fanrpm":4480,"errorPercentage":0.5,"coreVoltage":1150,)"
      R"("uptimeSeconds":3020,"power":17.5})");
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kHashrate), 1154.81e9);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kExpectedHashrate), 1161.216e9);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kInputVoltage), 5.09375);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kInputCurrent), 2.34);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kFrequency), 525.5e6);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kFanDuty), 0.47830001831054688);
  EXPECT_EQ(ValueOf(r, metric::kFanSpeed, "fan", "1"), 4480);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kErrorRatio), 0.005);
  EXPECT_DOUBLE_EQ(ValueOf(r, metric::kCoreVoltage, "kind", "configured"),
                   1.15);
  EXPECT_EQ(ValueOf(r, metric::kPower), 17.5);
  ASSERT_TRUE(r.uptime_seconds.has_value());
  EXPECT_EQ(*r.uptime_seconds, 3020);
}

TEST(BitaxeTest, SentinelsAreNotReadings) {
  ScrapeResult r = MustParse(R"({"temp":-1,"temp2":-1,"vrTemp":0})");
  EXPECT_EQ(FindSample(r, metric::kTemperature), nullptr);
  r = MustParse(R"({"temp":55.5,"temp2":0,"vrTemp":48})");
  EXPECT_EQ(ValueOf(r, metric::kTemperature, "sensor", "asic"), 55.5);
  EXPECT_EQ(FindSample(r, metric::kTemperature, "sensor", "asic2"), nullptr);
  EXPECT_EQ(ValueOf(r, metric::kTemperature, "sensor", "vr"), 48);
}

TEST(BitaxeTest, AbsentAndNullFieldsEmitNothing) {
  ScrapeResult r = MustParse(R"({"hashRate":null,"power":"n/a"})");
  EXPECT_TRUE(r.samples.empty());
  EXPECT_FALSE(r.uptime_seconds.has_value());
}

TEST(BitaxeTest, LegacyFanSpeedIsRpmAndHidesConfiguredDuty) {
  // v2.1: fanSpeed = RPM, fanspeed = configured % (not a live reading).
  ScrapeResult r = MustParse(R"({"fanSpeed":4731,"fanspeed":100})");
  EXPECT_EQ(ValueOf(r, metric::kFanSpeed, "fan", "1"), 4731);
  EXPECT_EQ(FindSample(r, metric::kFanDuty), nullptr);
}

TEST(BitaxeTest, SecondFanOnlyWhenSpinning) {
  ScrapeResult r = MustParse(R"({"fanrpm":4000,"fan2rpm":0})");
  EXPECT_EQ(FindSample(r, metric::kFanSpeed, "fan", "2"), nullptr);
  r = MustParse(R"({"fanrpm":0,"fan2rpm":3000})");
  EXPECT_EQ(ValueOf(r, metric::kFanSpeed, "fan", "1"), 0);
  EXPECT_EQ(ValueOf(r, metric::kFanSpeed, "fan", "2"), 3000);
}

TEST(BitaxeTest, BestDiffStringsAndNumbers) {
  for (auto [body, want] :
       {std::pair{R"({"bestDiff":"4.29G"})", 4.29e9},
        std::pair{R"({"bestDiff":"1.16 G"})", 1.16e9},
        std::pair{R"({"bestDiff":"512 "})", 512.0},
        std::pair{R"({"bestDiff":"1e+03M"})", 1e9},
        std::pair{R"({"bestDiff":1162383729})", 1162383729.0}}) {
    ScrapeResult r = MustParse(body);
    const Sample* s = FindSample(r, metric::kBestDifficulty);
    ASSERT_NE(s, nullptr) << body;
    EXPECT_DOUBLE_EQ(s->value, want) << body;
  }
}

TEST(BitaxeTest, FaultsKnownAbsentOnlyWhereTheFirmwareHasThem) {
  ScrapeResult r = MustParse(R"({"version":"v2.5.0"})");
  EXPECT_EQ(FindSample(r, metric::kFault), nullptr);
  r = MustParse(R"({"version":"v2.6.0"})");
  EXPECT_EQ(ValueOf(r, metric::kFault, "fault", "power"), 0);
  EXPECT_EQ(FindSample(r, metric::kFault, "fault", "hardware"), nullptr);
  r = MustParse(R"({"version":"v2.14.1","hardware_fault":"x"})");
  EXPECT_EQ(ValueOf(r, metric::kFault, "fault", "hardware"), 1);
}

TEST(BitaxeTest, NerdQAxeAllZeroAsicTempsAreIgnored) {
  ScrapeResult r =
      MustParse(R"({"deviceModel":"NerdQAxe++","temp":60,"asicTemps":[0,0]})");
  EXPECT_EQ(FindSample(r, metric::kTemperature, "sensor", "asic0"), nullptr);
  r = MustParse(R"({"deviceModel":"NerdQAxe++","asicTemps":[61.5,62]})");
  EXPECT_EQ(ValueOf(r, metric::kTemperature, "sensor", "asic1"), 62);
}

TEST(BitaxeTest, NerdQAxeV1030HashRateIsTheTenMinuteAverage) {
  ScrapeResult r =
      MustParse(R"({"hostip":"10.0.0.7","version":"v1.0.30","hashRate":4790})");
  EXPECT_EQ(FindSample(r, metric::kHashrate), nullptr);
  EXPECT_EQ(ValueOf(r, metric::kHashrateAvg, "window", "10m"), 4790e9);
  r = MustParse(R"({"hostip":"10.0.0.7","version":"v1.0.33","hashRate":4790})");
  EXPECT_EQ(ValueOf(r, metric::kHashrate), 4790e9);
}

TEST(BitaxeTest, NerdQAxeHeapAndCurrent) {
  ScrapeResult r = MustParse(
      R"({"hostip":"1","freeHeap":7000000,"freeHeapInt":80000,"currentA":5.5})");
  EXPECT_EQ(ValueOf(r, metric::kFreeHeap, "memory", "psram"), 7000000);
  EXPECT_EQ(ValueOf(r, metric::kFreeHeap, "memory", "internal"), 80000);
  EXPECT_EQ(ValueOf(r, metric::kInputCurrent), 5.5);
}

TEST(BitaxeTest, Identity) {
  ScrapeResult r =
      MustParse(ReadFile(FixtureDir("bitaxe") / "axeos-v2.15.json"));
  EXPECT_EQ(r.info, (MinerInfo{"BM1372/BM1373", "v2.15.0", "gamma-2"}));
}

TEST(BitaxeTest, HttpStatuses) {
  const Exporter& e = GetExporter();
  std::vector<Response> rs = {Http(401, "Unauthorized")};
  Result<ScrapeResult> r = e.Parse(rs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("private"), std::string::npos);
  rs = {Http(500, "oops")};
  r = e.Parse(rs);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("HTTP 500"), std::string::npos);
  rs = {Http(200, R"({"power":3})")};
  EXPECT_TRUE(e.Parse(rs).ok());
  Response failed;
  failed.transport = UnavailableError("connection refused");
  rs = {failed};
  EXPECT_EQ(e.Parse(rs).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.Parse({}).status().code(), StatusCode::kInvalidArgument);
}

TEST(BitaxeTest, RestartRepliesOfEveryVersion) {
  const Exporter& e = GetExporter();
  Request req = e.RestartRequest();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/api/system/restart");
  EXPECT_TRUE(
      e.ParseRestartReply(Http(200, "System will restart shortly.")).ok());
  EXPECT_TRUE(e.ParseRestartReply(
                   Http(200, R"({"message":"System will restart shortly."})"))
                  .ok());
  // v2.0: the device resets the connection without replying.
  Response reset;
  reset.transport = UnavailableError("connection reset by peer");
  reset.request_sent = true;
  EXPECT_TRUE(e.ParseRestartReply(reset).ok());
  reset.request_sent = false;  // never got there
  EXPECT_EQ(e.ParseRestartReply(reset).code(), StatusCode::kUnavailable);
  Response timeout;
  timeout.transport = DeadlineExceededError("no reply");
  timeout.request_sent = true;
  EXPECT_FALSE(e.ParseRestartReply(timeout).ok());
  EXPECT_EQ(e.ParseRestartReply(Http(401, "Unauthorized")).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(e.ParseRestartReply(Http(404, "")).code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rigwatch::bitaxe
