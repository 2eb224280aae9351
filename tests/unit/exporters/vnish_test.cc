// The vnish kind: golden files for every fixture in tests/fixtures/vnish
// (a summary with its info when there is one, the unlock and reboot replies
// through the restart chain), the version drift, and the token chain.
// RIGWATCH_UPDATE_GOLDEN=1 rewrites the golden files; review the diff.
#include "exporters/vnish.h"

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
using testing::ReadFile;
using testing::Render;
using testing::ValueOf;

using testing::HttpReply;

Response Http(int status, std::string body) {
  return HttpReply(status, std::move(body));
}

std::string Fixture(const std::string& name) {
  return ReadFile(FixtureDir("vnish") / name);
}

// <variant>.summary.json (with <variant>.info.json when there is one), and
// <name>-<status>.unlock.json / .reboot.json: a step of the restart chain.
std::string Outcome(const fs::path& p) {
  const testing::FixtureName n = testing::SplitFixtureName(p);
  if (n.what == "summary") {
    const fs::path info = p.parent_path() / (n.base + ".info.json");
    return Render(vnish::ParseSummary(
        ReadFile(p), fs::exists(info) ? ReadFile(info) : std::string()));
  }
  return testing::ChainStep(vnish::GetExporter(), {},
                            Http(n.status(), ReadFile(p)),
                            /*last=*/n.what == "reboot");
}

TEST(VnishTest, Golden) {
  testing::CheckGoldenDir(
      "vnish", 10,
      // An info file goes with its summary.
      [](const fs::path& p) {
        return p.filename().string().find(".info.") != std::string::npos;
      },
      &Outcome);
}

TEST(VnishTest, EverySampleHasADescriptor) {
  Result<ScrapeResult> r = vnish::ParseSummary(
      Fixture("s19xp-1.2.6.summary.json"), Fixture("s19xp-1.2.6.info.json"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->samples.size(), 20u);
  for (const Sample& s : r->samples) {
    const MetricDesc* d = FindDesc(MinerMetricDescs(), s.name);
    ASSERT_NE(d, nullptr) << s.name;
    for (const Label& l : s.labels) {
      EXPECT_NE(d->labels.find(l.name), std::string_view::npos)
          << s.name << " label " << l.name;
    }
  }
}

// 1.2.0 numbers chains from 1 and sends watts in power_usage; 1.3.4 numbers
// them from 0 and sends J/TH there: chain labels follow the ids, power is
// power_consumption in both.
TEST(VnishTest, VersionDrift) {
  Result<ScrapeResult> old =
      vnish::ParseSummary(Fixture("s19j-1.2.0.summary.json"), "");
  Result<ScrapeResult> now = vnish::ParseSummary(
      Fixture("s19-1.3.4.summary.json"), Fixture("s19-1.3.4.info.json"));
  ASSERT_TRUE(old.ok() && now.ok());
  const auto temp = [](const ScrapeResult& r, std::string_view sensor) {
    return ValueOf(r, metric::kTemperature, "sensor", sensor);
  };
  EXPECT_EQ(temp(*old, "chain1_chip"), 68);
  EXPECT_TRUE(std::isnan(temp(*old, "chain0_chip")));
  EXPECT_TRUE(std::isnan(temp(*old, "chain3_chip")));  // 0 is no reading
  EXPECT_EQ(temp(*now, "chain0_chip"), 77);
  EXPECT_EQ(ValueOf(*old, metric::kPower), 3050);
  EXPECT_EQ(ValueOf(*now, metric::kPower), 3248);  // not 34.15 J/TH
  EXPECT_EQ(ValueOf(*old, metric::kDeviceUp, "device", "chain3"), 0);
  EXPECT_DOUBLE_EQ(ValueOf(*now, metric::kHashrate), 95102.3e9);
  // Without info the model and version come from miner_type.
  EXPECT_EQ(old->info.model, "Antminer S19j Pro");
  EXPECT_EQ(old->info.firmware, "1.2.0");
  EXPECT_EQ(now->info.hostname, "s19-row5-01");
  // scrypt: hr_measure MH/s.
  Result<ScrapeResult> l7 = vnish::ParseSummary(
      Fixture("l7-1.2.6.summary.json"), Fixture("l7-1.2.6.info.json"));
  ASSERT_TRUE(l7.ok());
  EXPECT_DOUBLE_EQ(ValueOf(*l7, metric::kHashrate), 9512.5e6);
}

TEST(VnishTest, PollIsSummaryAndOptionalInfoWithoutToken) {
  const Exporter& e = *FindExporter("vnish");
  EXPECT_EQ(e.GetProtocol(), Protocol::kHttp);
  EXPECT_EQ(e.DefaultPort(), 80);
  std::vector<Request> reqs = e.PollRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/api/v1/summary");
  EXPECT_FALSE(reqs[0].optional);
  EXPECT_EQ(reqs[1].path, "/api/v1/info");
  EXPECT_TRUE(reqs[1].optional);
  for (const Request& r : reqs) {
    EXPECT_FALSE(r.authenticate);
    EXPECT_TRUE(r.authorization.empty());
  }
  const std::vector<Response> ok = {
      Http(200, Fixture("s19xp-1.2.6.summary.json")), Http(404, "not found")};
  Result<ScrapeResult> r = e.Parse(ok);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.firmware, "1.2.6");  // from miner_type
  const std::vector<Response> refused = {Http(401, "{\"err\":\"no\"}"),
                                         Http(200, "{}")};
  EXPECT_EQ(e.Parse(refused).status().code(), StatusCode::kPermissionDenied);
  const std::vector<Response> broken_info = {
      Http(200, Fixture("s19xp-1.2.6.summary.json")), Http(200, "{\"fw")};
  EXPECT_EQ(e.Parse(broken_info).status().code(), StatusCode::kDataLoss);
}

TEST(VnishTest, UnlockBodyCarriesThePasswordEscaped) {
  const Exporter& e = vnish::GetExporter();
  EXPECT_EQ(e.DefaultCredentials().password, "admin");
  EXPECT_EQ(e.LoginPayload({"", "a\"b"}).value(), "{\"pw\":\"a\\\"b\"}");
  Request first = e.RestartRequest();
  EXPECT_EQ(first.method, "POST");
  EXPECT_EQ(first.path, "/api/v1/unlock");
  EXPECT_TRUE(first.authenticate);
  EXPECT_TRUE(first.payload.empty()) << "the body is built at send time";
}

TEST(VnishTest, TokenChainUnlocksOnceMoreOn401) {
  const Exporter& e = vnish::GetExporter();
  const Response token = Http(200, "{\"token\":\"T1\"}");
  std::vector<Response> rs = {token};
  auto next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->path, "/api/v1/system/reboot");
  EXPECT_EQ((*next)->authorization, "Bearer T1");
  // Accepted: the chain ends, the verdict is Ok.
  rs.push_back(Http(200, "{\"after\":3}"));
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_TRUE(e.ParseRestartReply(rs.back()).ok());
  // A 401: unlock again, reboot with the new token, a second 401 is denied.
  rs.back() = Http(401, "");
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->path, "/api/v1/unlock");
  rs.push_back(Http(200, "{\"token\":\"T2\"}"));
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ((*next)->authorization, "Bearer T2");
  rs.push_back(Http(401, ""));
  next = e.NextRestartRequest(rs);
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(e.ParseRestartReply(rs.back()).code(),
            StatusCode::kPermissionDenied);
  // The device going down after the request is accepted.
  Response dropped;
  dropped.transport = UnavailableError("connection reset by peer");
  dropped.request_sent = true;
  EXPECT_TRUE(e.ParseRestartReply(dropped).ok());
}

TEST(VnishTest, WrongPasswordIsDeniedWithTheMinersReply) {
  const Exporter& e = vnish::GetExporter();
  std::vector<Response> rs = {Http(403, "{\"unlock_timeout\":null}")};
  auto next = e.NextRestartRequest(rs);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(next.status().message().find("{\"unlock_timeout\":null}"),
            std::string::npos);
  rs = {Http(429, "{\"unlock_timeout\":60}")};
  EXPECT_EQ(e.NextRestartRequest(rs).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rigwatch
