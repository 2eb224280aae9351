#include "exporters/cgminer.h"

#include <gtest/gtest.h>

#include <string>

#include "exporters/miner_metrics.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch::cgminer {
namespace {

using rigwatch::testing::FindSample;
using rigwatch::testing::FixtureDir;
using rigwatch::testing::ReadFile;
using rigwatch::testing::ValueOf;

Response Reply(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}
Response Fixture(const std::string& name) {
  return Reply(ReadFile(FixtureDir("cgminer") / name));
}
Response Failed() {
  Response r;
  r.transport = UnavailableError("connection refused");
  return r;
}

TEST(CgminerTest, FourSeparateRequestsSummaryRequired) {
  std::vector<Request> reqs = GetExporter().PollRequests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].payload, R"({"command":"summary"})");
  EXPECT_FALSE(reqs[0].optional);
  EXPECT_EQ(reqs[1].payload, R"({"command":"devs"})");
  EXPECT_EQ(reqs[2].payload, R"({"command":"pools"})");
  EXPECT_EQ(reqs[3].payload, R"({"command":"stats"})");
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(reqs[i].optional);
  for (const Request& r : reqs)
    EXPECT_EQ(r.payload.find('\n'), std::string::npos);
  EXPECT_EQ(GetExporter().DefaultPort(), 4028);
}

TEST(CgminerTest, FullAntminerS9Poll) {
  std::vector<Response> rs = {Fixture("bmminer-s9.summary.bin"), Failed(),
                              Failed(), Fixture("bmminer-s9.stats.bin")};
  Result<ScrapeResult> r = GetExporter().Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // "GHS 5s" is a string of GH/s on bmminer.
  EXPECT_DOUBLE_EQ(ValueOf(*r, metric::kHashrate), 13845.12e9);
  EXPECT_EQ(r->info.model, "Antminer S9");
  EXPECT_EQ(r->info.firmware, "bmminer 1.0.0");
  EXPECT_EQ(r->uptime_seconds, 250311);
  // Only slots 6, 7, 8 have chips.
  int chains = 0;
  for (const Sample& s : r->samples) chains += s.name == metric::kChainChips;
  EXPECT_EQ(chains, 3);
  EXPECT_EQ(FindSample(*r, metric::kChainChips, "chain", "1"), nullptr);
  EXPECT_DOUBLE_EQ(ValueOf(*r, metric::kChainHashrate, "chain", "7"),
                   4650.12e9);
  EXPECT_EQ(ValueOf(*r, metric::kTemperature, "sensor", "chain7_chip"), 79);
  // temp8 is 0: no board reading for chain 8.
  EXPECT_EQ(FindSample(*r, metric::kTemperature, "sensor", "chain8_board"),
            nullptr);
  EXPECT_EQ(FindSample(*r, metric::kFanSpeed, "fan", "1"), nullptr);
  EXPECT_EQ(ValueOf(*r, metric::kFanSpeed, "fan", "6"), 6120);
  EXPECT_EQ(ValueOf(*r, metric::kFrequency), 650e6);
}

TEST(CgminerTest, CgminerMhsAndPoolsAndDevs) {
  std::vector<Response> rs = {
      Fixture("cgminer-4.11.summary.bin"), Fixture("cgminer-4.11.devs.bin"),
      Fixture("cgminer-4.11.pools.bin"), Fixture("cgminer-4.11.stats.bin")};
  Result<ScrapeResult> r = GetExporter().Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_DOUBLE_EQ(ValueOf(*r, metric::kHashrate), 401233.91e6);
  EXPECT_EQ(ValueOf(*r, metric::kSharesAccepted), 2210);
  EXPECT_EQ(ValueOf(*r, metric::kHardwareErrors), 41);
  EXPECT_EQ(ValueOf(*r, metric::kPoolUp, "pool", "0"), 1);
  EXPECT_EQ(ValueOf(*r, metric::kPoolUp, "pool", "1"), 0);
  EXPECT_EQ(ValueOf(*r, metric::kPoolDifficulty), 4096);
  EXPECT_EQ(ValueOf(*r, metric::kDeviceUp, "device", "asc1"), 0);
  // Temperature 0.00 on the sick device is "no sensor", not 0 °C.
  EXPECT_EQ(FindSample(*r, metric::kTemperature, "sensor", "asc1"), nullptr);
}

TEST(CgminerTest, RollingWindowFollowsLogInterval) {
  ScrapeResult out;
  ASSERT_TRUE(ParseSection(Section::kSummary,
                           R"({"STATUS":[{"STATUS":"S"}],"SUMMARY":[)"
                           R"({"MHS 10s":12.5,"MHS av":11}]})",
                           out)
                  .ok());
  EXPECT_EQ(ValueOf(out, metric::kHashrate), 12.5e6);
}

TEST(CgminerTest, PaddedCounters) {
  ScrapeResult out;
  ASSERT_TRUE(ParseSection(Section::kSummary,
                           ReadFile(FixtureDir("cgminer") /
                                    "antminer-d3-blissz.summary.bin"),
                           out)
                  .ok());
  EXPECT_EQ(ValueOf(out, metric::kSharesAccepted), 5);
  EXPECT_EQ(out.uptime_seconds, 4512);
}

TEST(CgminerTest, WhatsminerBrokenJsonIsRepaired) {
  ScrapeResult out;
  Status st = ParseSection(
      Section::kSummary,
      ReadFile(FixtureDir("cgminer") / "whatsminer-m30s.summary.bin"), out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(ValueOf(out, metric::kPower), 3344);
  EXPECT_EQ(ValueOf(out, metric::kFanSpeed, "fan", "in"), 4410);
  EXPECT_EQ(out.info.firmware, "20230306.22.REL");
}

TEST(CgminerTest, ZeroBytesAndCode45AreDenied) {
  std::vector<Response> rs = {Reply(""), Failed(), Failed(), Failed()};
  Result<ScrapeResult> r = GetExporter().Parse(rs);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  rs[0] =
      Reply(R"({"STATUS":[{"STATUS":"E","Code":45,"Msg":"Access denied"}]})");
  r = GetExporter().Parse(rs);
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("summary"), std::string::npos);
}

TEST(CgminerTest, OptionalRefusalsAreSkippedBrokenRepliesAreNot) {
  std::vector<Response> rs = {Fixture("bmminer-s9.summary.bin"), Failed(),
                              Reply(""), Fixture("code45.stats.bin")};
  Result<ScrapeResult> r = GetExporter().Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(FindSample(*r, metric::kHashrate), nullptr);
  rs[3] = Fixture("bmminer-s9-truncated.stats.bin");
  r = GetExporter().Parse(rs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("stats: truncated"), std::string::npos);
  // The required summary failing in transport fails the poll.
  rs = {Failed(), Failed(), Failed(), Failed()};
  EXPECT_EQ(GetExporter().Parse(rs).status().code(), StatusCode::kUnavailable);
}

TEST(CgminerTest, MalformedSummaryNamesTheByte) {
  ScrapeResult out;
  Status st = ParseSection(Section::kSummary,
                           R"({"STATUS":[{"STATUS":"S"}],"SUMMARY":#})", out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("summary: malformed JSON at byte 37"),
            std::string::npos)
      << st.message();
  st = ParseSection(Section::kSummary, R"({"STATUS":[{"STATUS":"S"}]})", out);
  EXPECT_EQ(st.message(), "summary: no SUMMARY member in the reply");
}

TEST(CgminerTest, RestartReplies) {
  const Exporter& e = GetExporter();
  EXPECT_EQ(e.RestartRequest().payload, R"({"command":"restart"})");
  EXPECT_TRUE(e.ParseRestartReply(Fixture("cgminer.restart.bin")).ok());
  EXPECT_TRUE(e.ParseRestartReply(Fixture("cgminer-text.restart.bin")).ok());
  Status denied = e.ParseRestartReply(Fixture("code45.restart.bin"));
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.message(),
            "restart not allowed by the miner's API access group (Code 45)");
  EXPECT_EQ(e.ParseRestartReply(Fixture("boser-invalid.restart.bin")).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(e.ParseRestartReply(Failed()).code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.ParseRestartReply(Reply("")).code(),
            StatusCode::kPermissionDenied);
  EXPECT_FALSE(e.ParseRestartReply(Fixture("cgminer-4.11.summary.bin")).ok());
}

}  // namespace
}  // namespace rigwatch::cgminer
