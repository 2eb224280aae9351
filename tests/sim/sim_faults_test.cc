// Every fault's observable behaviour on the wire, and the reboot cycle
// (restart command, control API) driven by the FakeClock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "tests/sim/sim_fleet_fixture.h"

namespace rigwatch::sim {
namespace {

using testing::Cgminer;
using testing::Connect;
using testing::Http;
using testing::HttpReply;
using testing::ReadHttpReply;
using testing::ReadSome;
using testing::ReadToEof;
using testing::SendAll;

TEST_F(FleetTest, RefuseClosesTheListenerUntilCleared) {
  const std::string a = Addr("sim-axeos-0003");
  ASSERT_TRUE(Reachable(a));
  SetFault("sim-axeos-0003", R"({"fault":"refuse"})");
  auto fd = Connect(a, milliseconds(500));
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(fd.status().message().find("refused"), std::string::npos);
  EXPECT_EQ(Ctl("DELETE", "/miners/sim-axeos-0003/faults/refuse").first, 200);
  EXPECT_TRUE(Reachable(a));
}

TEST_F(FleetTest, BlackholeAcceptsAndNeverAnswers) {
  SetFault("sim-cgminer-0001", R"({"fault":"blackhole"})");
  auto r = Cgminer(Addr("sim-cgminer-0001"), kSummary, milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  auto [st, log] = Ctl("GET", "/miners/sim-cgminer-0001/requests");
  EXPECT_EQ(log["requests"].back()["what"], "summary");  // it was heard
}

TEST_F(FleetTest, TrickleSendsOneByteAtATime) {
  SetFault("sim-axeos-0004", R"({"fault":"trickle","value":50})");
  auto fd = Connect(Addr("sim-axeos-0004"), milliseconds(1000));
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(
      SendAll(*fd, "GET /api/system/info HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  // In 400 ms at one byte per 50 ms at most 9 bytes can arrive, however
  // late this reader runs; at least the first one must.
  const auto start = std::chrono::steady_clock::now();
  std::string got;
  while (std::chrono::steady_clock::now() - start < milliseconds(400)) {
    auto r = ReadSome(*fd, milliseconds(100));
    if (r.ok()) {
      ASSERT_FALSE(r->empty()) << "EOF during a trickle";
      got += *r;
    }
  }
  const auto elapsed = std::chrono::duration_cast<milliseconds>(
      std::chrono::steady_clock::now() - start);
  ::close(*fd);
  EXPECT_GE(got.size(), 1u);
  EXPECT_LE(got.size(), static_cast<size_t>(elapsed.count() / 50 + 2));
  EXPECT_EQ(std::string("HTTP/1.1 200 OK").substr(0, got.size()), got);
}

TEST_F(FleetTest, ResetMidReplyCutsWithRst) {
  SetFault("sim-axeos-0004", R"({"fault":"reset_mid"})");
  auto fd = Connect(Addr("sim-axeos-0004"), milliseconds(1000));
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(
      SendAll(*fd, "GET /api/system/info HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  std::string partial;
  auto r = ReadToEof(*fd, milliseconds(3000), &partial);
  ::close(*fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);  // ECONNRESET
  EXPECT_NE(r.status().message().find("reset"), std::string::npos);

  SetFault("sim-cgminer-0001", R"({"fault":"reset_mid"})");
  auto c = Cgminer(Addr("sim-cgminer-0001"), kSummary);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
}

TEST_F(FleetTest, TruncateKeepsFramingButCutsTheBody) {
  SetFault("sim-axeos-0003", R"({"fault":"truncate"})");
  auto r = Http(Addr("sim-axeos-0003"), "GET", "/api/system/info");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.rfind("{\"power\":", 0), 0u);
  EXPECT_TRUE(Parse(r->body).is_discarded());

  SetFault("sim-cgminer-0001", R"({"fault":"truncate"})");
  auto c = Cgminer(Addr("sim-cgminer-0001"), kSummary);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->back(), '\0');
  EXPECT_EQ(c->rfind("{\"STATUS\":[{", 0), 0u);
  EXPECT_TRUE(Parse(c->substr(0, c->size() - 1)).is_discarded());
}

TEST_F(FleetTest, GarbageAndHugeBodies) {
  SetFault("sim-cgminer-0001", R"({"fault":"garbage"})");
  auto c = Cgminer(Addr("sim-cgminer-0001"), kSummary);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->size(), 100u);
  EXPECT_EQ(c->back(), '\0');
  EXPECT_EQ(std::count(c->begin(), c->end(), '\0'), 1);
  EXPECT_TRUE(Parse(c->substr(0, c->size() - 1)).is_discarded());

  SetFault("sim-axeos-0004", R"({"fault":"huge"})");
  auto r = Http(Addr("sim-axeos-0004"), "GET", "/api/system/info", "",
                milliseconds(10000));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body.size(), 10000000u);
  EXPECT_EQ(r->body.rfind("{\"pad\":\"xxx", 0), 0u);
}

TEST_F(FleetTest, HttpErrorStatuses) {
  SetFault("sim-axeos-0002", R"({"fault":"http401"})");
  auto r = Http(Addr("sim-axeos-0002"), "GET", "/api/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "Unauthorized");
  SetFault("sim-axeos-0002", R"({"fault":"http500"})");
  r = Http(Addr("sim-axeos-0002"), "GET", "/api/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(Ctl("DELETE", "/miners/sim-axeos-0002/faults/all").first, 200);
  r = Http(Addr("sim-axeos-0002"), "GET", "/api/system/info");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST_F(FleetTest, Code45DeniesRestartAndTheMinerStaysUp) {
  SetFault("sim-cgminer-0001", R"({"fault":"code45"})");
  auto c = Cgminer(Addr("sim-cgminer-0001"), "{\"command\":\"restart\"}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Parse(c->substr(0, c->size() - 1))["STATUS"][0]["Code"], 45);
  EXPECT_EQ(Ctl("POST", "/clock/advance", R"({"ms":2000})").first, 200);
  EXPECT_TRUE(Reachable(Addr("sim-cgminer-0001")));
  auto [st, m] = Ctl("GET", "/miners/sim-cgminer-0001");
  EXPECT_EQ(m["reboots"], 0);
}

TEST_F(FleetTest, AxeosRestartRebootsAndResetsCounters) {
  const std::string a = Addr("sim-axeos-0004");
  auto before = Http(a, "GET", "/api/system/info");
  ASSERT_TRUE(before.ok());
  const json b = Parse(before->body);
  ASSERT_GT(b["uptimeSeconds"].get<int64_t>(), 60);
  auto r = Http(a, "POST", "/api/system/restart");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Parse(r->body)["message"], "System will restart shortly.");
  // Restart delay (500 ms) passes: the miner goes away...
  ASSERT_EQ(Ctl("POST", "/clock/advance", R"({"ms":600})").first, 200);
  EXPECT_FALSE(Reachable(a));
  EXPECT_EQ(Ctl("GET", "/miners/sim-axeos-0004").second["up"], false);
  // ...and is back after the downtime (5 s) with fresh counters.
  ASSERT_EQ(Ctl("POST", "/clock/advance", R"({"ms":5000})").first, 200);
  ASSERT_TRUE(Eventually([&] { return Reachable(a); }));
  ASSERT_EQ(Ctl("POST", "/clock/advance", R"({"ms":3000})").first, 200);
  auto after = Http(a, "GET", "/api/system/info");
  ASSERT_TRUE(after.ok());
  const json j = Parse(after->body);
  EXPECT_EQ(j["uptimeSeconds"], 3);
  EXPECT_LT(j["sharesAccepted"], b["sharesAccepted"]);
  EXPECT_LT(j["bestSessionDiff"], b["bestSessionDiff"]);
  EXPECT_GE(j["bestDiff"], b["bestDiff"]);
  auto [st, m] = Ctl("GET", "/miners/sim-axeos-0004");
  EXPECT_EQ(m["restarts"], 1);
  EXPECT_EQ(m["reboots"], 1);
}

TEST_F(FleetTest, AxeosV20RestartResetsWithoutReply) {
  auto r = Http(Addr("sim-axeos-0001"), "POST", "/api/system/restart");
  ASSERT_FALSE(r.ok());  // reset or EOF, never an HTTP reply
  EXPECT_FALSE(Reachable(Addr("sim-axeos-0001")));
}

TEST_F(FleetTest, CgminerRestartAndControlReboot) {
  auto c = Cgminer(Addr("sim-cgminer-0002"), "{\"command\":\"restart\"}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, std::string("{\"STATUS\":\"RESTART\",\"id\":1}") + '\0');
  ASSERT_EQ(Ctl("POST", "/clock/advance", R"({"ms":600})").first, 200);
  EXPECT_FALSE(Reachable(Addr("sim-cgminer-0002")));

  ASSERT_EQ(
      Ctl("POST", "/miners/sim-cgminer-0001/reboot", R"({"downtime_ms":2000})")
          .first,
      200);
  EXPECT_FALSE(Reachable(Addr("sim-cgminer-0001")));
  ASSERT_EQ(Ctl("POST", "/clock/advance", R"({"ms":2000})").first, 200);
  ASSERT_TRUE(Eventually([&] { return Reachable(Addr("sim-cgminer-0001")); }));
  auto s = Cgminer(Addr("sim-cgminer-0001"), kSummary);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Parse(s->substr(0, s->size() - 1))["SUMMARY"][0]["Elapsed"], 0);
}

TEST_F(FleetTest, TemperatureRampAndHashrateDropShowInReplies) {
  SetFault("sim-axeos-0003", R"({"fault":"temp_ramp","value":10})");
  SetFault("sim-axeos-0003", R"({"fault":"hashrate_drop","value":0.1})");
  ASSERT_EQ(Ctl("POST", "/clock/advance", R"({"ms":600000})").first, 200);
  auto r = Http(Addr("sim-axeos-0003"), "GET", "/api/system/info");
  ASSERT_TRUE(r.ok());
  const json j = Parse(r->body);
  EXPECT_DOUBLE_EQ(j["temp"].get<double>(), 95);  // default ceiling
  auto [st, m] = Ctl("GET", "/miners/sim-axeos-0003");
  EXPECT_NEAR(j["hashRate"].get<double>(), 0.1 * m["nominal_ghs"].get<double>(),
              0.01 * m["nominal_ghs"].get<double>());
}

TEST_F(FleetTest, HostileValuesReachTheWireAsValidJson) {
  // Every AxeOS variant renders its own layout; the rewrite works on each
  // (v2.0, sim-axeos-0001, reports no hostname).
  for (const char* name : {"sim-axeos-0002", "sim-axeos-0003", "sim-axeos-0004",
                           "sim-axeos-0005"}) {
    SetFault(name, R"({"fault":"hostname_huge","value":1000})");
    SetFault(name, R"({"fault":"counter_negative"})");
    SetFault(name, R"({"fault":"field_overflow"})");
    auto r = Http(Addr(name), "GET", "/api/system/info");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_NE(r->body.find(std::string(1000, 'h')), std::string::npos) << name;
    EXPECT_NE(r->body.find("-12345"), std::string::npos) << name;
    EXPECT_NE(r->body.find("1e309"), std::string::npos) << name;
  }
  SetFault("sim-axeos-0003", R"({"fault":"counter_spike","value":1})");
  SetFault("sim-axeos-0003", R"({"fault":"hostname_churn"})");
  SetFault("sim-axeos-0003", R"({"fault":"counter_negative"})");
  EXPECT_EQ(
      Ctl("DELETE", "/miners/sim-axeos-0003/faults/counter_negative").first,
      200);
  auto a = Http(Addr("sim-axeos-0003"), "GET", "/api/system/info");
  auto b = Http(Addr("sim-axeos-0003"), "GET", "/api/system/info");
  ASSERT_TRUE(a.ok() && b.ok());
  // The spike is one reply only; the hostname differs on every reply.
  EXPECT_NE(a->body.find("1180591620717411303424"), std::string::npos);
  EXPECT_EQ(b->body.find("1180591620717411303424"), std::string::npos);
  EXPECT_NE(a->body.find("churn-1"), std::string::npos);
  EXPECT_NE(b->body.find("churn-2"), std::string::npos);
}

}  // namespace
}  // namespace rigwatch::sim
