// The restart paths of the ASIC families (antminer CGI with Digest, avalon
// ascset, the LuxOS session chain) and the poll shapes of each kind.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "exporters/antminer.h"
#include "exporters/avalon.h"
#include "exporters/luxos.h"
#include "exporters/registry.h"
#include "tests/unit/exporters/golden_util.h"

namespace rigwatch {
namespace {

using rigwatch::testing::FixtureDir;
using rigwatch::testing::ReadFile;

Response Body(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

Response Http(int status, std::string body) {
  Response r = Body(std::move(body));
  r.http_status = status;
  return r;
}

Response Dropped() {
  Response r;
  r.transport = UnavailableError("connection reset by peer");
  r.request_sent = true;
  return r;
}

std::string Fixture(const std::string& kind, const std::string& name) {
  return ReadFile(FixtureDir(kind) / name);
}

TEST(AntminerTest, RebootGoesToTheCgiWithDigest) {
  const Exporter& e = antminer::GetExporter();
  Request req = e.RestartRequest();
  EXPECT_EQ(req.side, Request::Side::kWeb);
  EXPECT_TRUE(req.authenticate);
  EXPECT_EQ(req.path, "/cgi-bin/reboot.cgi");
  EXPECT_EQ(e.DefaultHttpPort(), 80);
  EXPECT_EQ(e.DefaultCredentials().username, "root");
  EXPECT_TRUE(e.ParseRestartReply(Http(200, "")).ok());
  EXPECT_TRUE(e.ParseRestartReply(Dropped()).ok());
  Status denied = e.ParseRestartReply(Http(401, "401 Unauthorized"));
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("401 Unauthorized"), std::string::npos);
  EXPECT_EQ(e.ParseRestartReply(Http(404, "")).code(),
            StatusCode::kFailedPrecondition);
  Response timeout;
  timeout.transport = DeadlineExceededError("no reply");
  timeout.request_sent = true;
  EXPECT_EQ(e.ParseRestartReply(timeout).code(), StatusCode::kUnavailable);
}

TEST(AntminerTest, CgiIsAFallbackAskedOnlyAfterTheApiFailed) {
  const Exporter& e = antminer::GetExporter();
  std::vector<Request> reqs = e.PollRequests();
  ASSERT_EQ(reqs.size(), 5u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(reqs[i].fallback) << i;
    EXPECT_EQ(reqs[i].side, Request::Side::kApi) << i;
  }
  EXPECT_EQ(reqs[3].path, "/cgi-bin/stats.cgi");
  EXPECT_FALSE(reqs[3].optional);
  EXPECT_EQ(reqs[4].path, "/cgi-bin/summary.cgi");
  EXPECT_TRUE(reqs[4].optional);
  for (size_t i = 3; i < 5; ++i) {
    EXPECT_TRUE(reqs[i].fallback) << i;
    EXPECT_TRUE(reqs[i].authenticate) << i;
    EXPECT_EQ(reqs[i].side, Request::Side::kWeb) << i;
  }

  Response refused;
  refused.transport = UnavailableError("connect: Connection refused");
  std::vector<Response> rs = {
      refused, NotSentResponse(), NotSentResponse(),
      Http(200, Fixture("antminer", "s19jpro-2022.stats.cgi.bin")),
      Http(200, Fixture("antminer", "s19jpro-2022.summary.cgi.bin"))};
  Result<ScrapeResult> r = e.Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.model, "Antminer S19j Pro");
  EXPECT_EQ(r->info.firmware, "Fri Jul 15 10:47:47 CST 2022");
  EXPECT_EQ(testing::ValueOf(*r, "miner_temperature_celsius", "sensor",
                             "chain2_chip"),
            73);
  EXPECT_EQ(testing::ValueOf(*r, "miner_hardware_errors_total"), 8);
  EXPECT_EQ(r->uptime_seconds, 86421);

  // summary.cgi missing on this firmware: stats.cgi is enough.
  rs[4] = Http(404, "404 - Not Found");
  EXPECT_TRUE(e.Parse(rs).ok());
  // A wrong login is denied with the miner's words and the API's failure.
  rs[3] = Http(401, "401 - Unauthorized");
  Status denied = e.Parse(rs).status();
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("Connection refused"), std::string::npos);
  EXPECT_NE(denied.message().find("401 - Unauthorized"), std::string::npos);
  // A broken page fails the poll with its place.
  rs[3] = Http(200, Fixture("antminer", "truncated.stats.cgi.bin"));
  EXPECT_EQ(e.Parse(rs).status().code(), StatusCode::kDataLoss);
  // Not sent (an older poller or a healthy poll): the API's own error.
  rs[3] = NotSentResponse();
  EXPECT_EQ(e.Parse(rs).status().code(), StatusCode::kUnavailable);
}

TEST(AntminerTest, FullPollMergesIdentityAndSkipsRefusedOptionals) {
  const Exporter& e = antminer::GetExporter();
  std::vector<Response> rs = {
      Body(Fixture("antminer", "s19jpro-2022.summary.bin")),
      Body(Fixture("antminer", "code45.summary.bin")),  // pools refused
      Body(Fixture("antminer", "s19jpro-2022.stats.bin")), NotSentResponse(),
      NotSentResponse()};
  Result<ScrapeResult> r = e.Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->info.model, "Antminer S19j Pro");
  EXPECT_EQ(r->info.firmware, "Fri Jul 15 10:47:47 CST 2022");
  EXPECT_EQ(testing::ValueOf(*r, "miner_temperature_celsius", "sensor", "chip"),
            75);
  EXPECT_EQ(testing::ValueOf(*r, "miner_hashrate_hashes_per_second"),
            94812.44e9);
}

TEST(AntminerTest, DashReadingsDropZeroAndNaN) {
  EXPECT_EQ(antminer::DashReadings("52-56-67-71"),
            (std::vector<double>{52, 56, 67, 71}));
  EXPECT_TRUE(antminer::DashReadings("0-0-0-0").empty());
  EXPECT_TRUE(antminer::DashReadings("NaN-NaN-NaN-NaN").empty());
  EXPECT_EQ(antminer::DashReadings("60-0-72"), (std::vector<double>{60, 72}));
  EXPECT_TRUE(antminer::DashReadings("").empty());
}

TEST(AvalonTest, RebootIsAscset) {
  const Exporter& e = avalon::GetExporter();
  EXPECT_EQ(e.RestartRequest().payload,
            R"({"command":"ascset","parameter":"0,reboot,0"})");
  EXPECT_TRUE(
      e.ParseRestartReply(Body(Fixture("avalon", "reboot.ascset.bin"))).ok());
  EXPECT_TRUE(e.ParseRestartReply(Dropped()).ok());
  EXPECT_EQ(e.ParseRestartReply(Body(Fixture("cgminer", "code45.restart.bin")))
                .code(),
            StatusCode::kPermissionDenied);
}

std::string Next(const Exporter& e, const std::vector<Response>& rs) {
  Result<std::optional<Request>> n = e.NextRestartRequest(rs);
  if (!n.ok()) return "error " + n.status().ToString();
  return n->has_value() ? (*n)->payload : "done";
}

TEST(LuxosTest, SessionChain) {
  const Exporter& e = luxos::GetExporter();
  const Response none = Body(Fixture("luxos", "none.session.bin"));
  const Response logon = Body(Fixture("luxos", "logon.session.bin"));
  const Response busy = Body(Fixture("luxos", "busy.session.bin"));
  const Response ok = Body(
      R"({"STATUS":[{"Code":340,"Msg":"Reboot requested","STATUS":"S"}],"id":1})");
  const Response expired = Body(
      R"({"STATUS":[{"Code":405,"Msg":"Invalid session id","STATUS":"E"}],"id":1})");
  EXPECT_EQ(Next(e, {}), R"({"command":"session"})");
  // An active session is reused.
  EXPECT_EQ(Next(e, {logon}),
            R"({"command":"rebootdevice","parameter":"yJN2nlj1"})");
  EXPECT_EQ(Next(e, {logon, ok}), "done");
  // None active: log on first.
  EXPECT_EQ(Next(e, {none}), R"({"command":"logon"})");
  EXPECT_EQ(Next(e, {none, logon}),
            R"({"command":"rebootdevice","parameter":"yJN2nlj1"})");
  EXPECT_EQ(Next(e, {none, busy}).rfind("error unavailable", 0), 0u);
  // Expired: one more logon, then the verdict is the second reboot's.
  EXPECT_EQ(Next(e, {logon, expired}), R"({"command":"logon"})");
  EXPECT_EQ(Next(e, {logon, expired, logon}),
            R"({"command":"rebootdevice","parameter":"yJN2nlj1"})");
  EXPECT_EQ(Next(e, {logon, expired, logon, expired}), "done");
  EXPECT_EQ(e.ParseRestartReply(expired).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(e.ParseRestartReply(ok).ok());
}

TEST(FamiliesTest, EveryKindIsRegistered) {
  for (std::string_view k : {"antminer", "avalon", "luxos"}) {
    const Exporter* e = FindExporter(k);
    ASSERT_NE(e, nullptr) << k;
    EXPECT_EQ(e->Kind(), k);
    EXPECT_EQ(e->DefaultPort(), 4028);
    EXPECT_FALSE(e->PollRequests().empty());
    EXPECT_FALSE(e->PollRequests()[0].optional);
  }
}

}  // namespace
}  // namespace rigwatch
