// The braiins kind: golden files for every fixture in tests/fixtures/braiins
// (4028 replies per command, the REST restart steps), the drift between
// BOSminer+ 0.2.0 on an S9 and BOSer on an S19j Pro, and the restart chain
// with its "unsupported" answer for firmware without the REST API.
#include "exporters/braiins.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "exporters/miner_metrics.h"
#include "exporters/registry.h"
#include "tests/unit/exporters/golden_dir.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch {
namespace {

namespace fs = std::filesystem;
using testing::FixtureDir;
using testing::HttpReply;
using testing::ReadFile;
using testing::Render;
using testing::ValueOf;

std::string Fixture(const std::string& name) {
  return ReadFile(FixtureDir("braiins") / name);
}

const Response kVersionOk = HttpReply(200, "{\"major\":1,\"minor\":7}");
const Response kLoginOk =
    HttpReply(200, "{\"token\":\"T1\",\"timeout_s\":3600}");

// <variant>.<command>.bin: one 4028 reply; <name>-<status>.<step>.json: the
// reply to the restart chain's version, login or reboot step.
std::string Outcome(const fs::path& p) {
  const testing::FixtureName n = testing::SplitFixtureName(p);
  if (p.extension() == ".bin") {
    ScrapeResult out;
    Status st = braiins::ParseReply(n.what, ReadFile(p), out);
    return st.ok() ? Render(out) : Render(st);
  }
  const Exporter& e = braiins::GetExporter();
  const Response r = HttpReply(n.status(), ReadFile(p));
  if (n.what == "version") return testing::ChainStep(e, {}, r, false);
  if (n.what == "login") return testing::ChainStep(e, {kVersionOk}, r, false);
  return testing::ChainStep(e, {kVersionOk, kLoginOk}, r, /*last=*/true);
}

TEST(BraiinsTest, Golden) {
  testing::CheckGoldenDir(
      "braiins", 15, [](const fs::path&) { return false; }, &Outcome);
}

ScrapeResult Parse(const std::string& variant,
                   std::initializer_list<const char*> commands) {
  ScrapeResult out;
  for (const char* c : commands) {
    Status st =
        braiins::ParseReply(c, Fixture(variant + "." + c + ".bin"), out);
    EXPECT_TRUE(st.ok()) << c << ": " << st.ToString();
  }
  return out;
}

// BOSminer+ 0.2.0 on an S9 numbers chains 6..8 and leaves fan slots empty
// (0 rpm); BOSer on an S19j Pro numbers them 1..3 and prints keys sorted
// with full-precision doubles.
TEST(BraiinsTest, VersionDrift) {
  const ScrapeResult s9 =
      Parse("bosminer-0.2.0-s9", {"summary", "temps", "fans", "tunerstatus"});
  const ScrapeResult s19 =
      Parse("boser-s19jpro",
            {"summary", "pools", "devdetails", "temps", "fans", "tunerstatus"});
  const auto temp = [](const ScrapeResult& r, std::string_view sensor) {
    return ValueOf(r, metric::kTemperature, "sensor", sensor);
  };
  EXPECT_EQ(temp(s9, "chain7_chip"), 108.9375);
  EXPECT_EQ(temp(s9, "chip"), 108.9375);
  EXPECT_EQ(temp(s9, "board"), 85.875);
  EXPECT_EQ(temp(s19, "chain1_board"), 54);
  EXPECT_EQ(temp(s19, "chip"), 71.75);
  EXPECT_EQ(ValueOf(s9, metric::kFanSpeed, "fan", "2"), 4620);
  EXPECT_TRUE(std::isnan(ValueOf(s9, metric::kFanSpeed, "fan", "3")));
  EXPECT_EQ(ValueOf(s9, metric::kFanDuty), 1);
  EXPECT_EQ(ValueOf(s19, metric::kFanDuty), 0.62);
  EXPECT_EQ(ValueOf(s9, metric::kPower), 1395);
  EXPECT_EQ(ValueOf(s19, metric::kPower), 3180);
  EXPECT_EQ(ValueOf(s9, metric::kDeviceUp, "device", "chain6"), 1);
  EXPECT_EQ(ValueOf(s9, metric::kDeviceUp, "device", "chain8"), 0);
  EXPECT_DOUBLE_EQ(ValueOf(s19, metric::kHashrate), 101234567.4688909e6);
  EXPECT_EQ(s19.info.model, "Antminer S19j Pro");
  EXPECT_EQ(s19.info.firmware, "BOSer boser-buildroot 0.1.0-26ba61b9");
  EXPECT_EQ(s9.info.firmware, "BOSminer+ 0.2.0-ea64aec8e");
  for (const ScrapeResult* r : {&s9, &s19}) {
    for (const Sample& s : r->samples) {
      const MetricDesc* d = FindDesc(MinerMetricDescs(), s.name);
      ASSERT_NE(d, nullptr) << s.name;
      for (const Label& l : s.labels) {
        EXPECT_NE(d->labels.find(l.name), std::string_view::npos) << s.name;
      }
    }
  }
}

TEST(BraiinsTest, PollsThe4028ApiWithoutCredentials) {
  const Exporter& e = *FindExporter("braiins");
  EXPECT_EQ(e.GetProtocol(), Protocol::kCgminerTcp);
  EXPECT_EQ(e.DefaultPort(), 4028);
  std::vector<Request> reqs = e.PollRequests();
  ASSERT_EQ(reqs.size(), 6u);
  EXPECT_EQ(reqs[0].payload, "{\"command\":\"summary\"}");
  EXPECT_FALSE(reqs[0].optional);
  for (size_t i = 1; i < reqs.size(); ++i) EXPECT_TRUE(reqs[i].optional);
  for (const Request& r : reqs) EXPECT_FALSE(r.authenticate);
}

TEST(BraiinsTest, RestartChainOverRestWithARawToken) {
  const Exporter& e = braiins::GetExporter();
  Request first = e.RestartRequest();
  EXPECT_EQ(first.side, Request::Side::kWeb);
  EXPECT_EQ(first.path, "/api/v1/version/");
  EXPECT_FALSE(first.authenticate);
  EXPECT_EQ(e.DefaultCredentials().username, "root");
  EXPECT_EQ(e.LoginPayload({"root", "p\"w"}).value(),
            "{\"password\":\"p\\\"w\",\"username\":\"root\"}");
  std::vector<Response> rs = {kVersionOk};
  auto next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->path, "/api/v1/auth/login");
  EXPECT_TRUE((*next)->authenticate);
  EXPECT_EQ((*next)->side, Request::Side::kWeb);
  rs.push_back(kLoginOk);
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->method, "PUT");
  EXPECT_EQ((*next)->path, "/api/v1/actions/reboot");
  EXPECT_EQ((*next)->authorization, "T1");
  // 401: log in once more, then a second 401 is denied.
  rs.push_back(HttpReply(401, ""));
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->path, "/api/v1/auth/login");
  rs.push_back(HttpReply(200, "{\"token\":\"T2\"}"));
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->authorization, "T2");
  rs.push_back(HttpReply(401, ""));
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(e.ParseRestartReply(rs.back()).code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(e.ParseRestartReply(HttpReply(204, "")).ok());
}

TEST(BraiinsTest, OlderFirmwareIsUnsupportedWithAReason) {
  const Exporter& e = braiins::GetExporter();
  for (const Response& r : {HttpReply(404, "Not Found"),
                            HttpReply(200, "{\"major\":1,\"minor\":2}"),
                            HttpReply(200, "<!DOCTYPE html><html></html>")}) {
    std::vector<Response> rs = {r};
    auto next = e.NextRestartRequest(rs);
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(next.status().message().find("25.07"), std::string::npos);
    EXPECT_NE(next.status().message().find("GraphQL, gRPC or LuCI"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace rigwatch
