// Unit tests of the simulator's pure parts: reply rendering per firmware,
// the state model, fleet planning and HTTP request parsing.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "exporters/probe.h"
#include "tests/fakes/fake_clock.h"
#include "tests/sim/axeos_replies.h"
#include "tests/sim/cgminer_replies.h"
#include "tests/sim/family_replies.h"
#include "tests/sim/fleet_plan.h"
#include "tests/sim/http_wire.h"
#include "tests/sim/json_out.h"
#include "tests/sim/miner_model.h"
#include "tests/sim/whatsminer_replies.h"

namespace rigwatch::sim {
namespace {

using nlohmann::json;
using std::chrono::minutes;
using std::chrono::seconds;

json Parse(const std::string& s) {
  return json::parse(s, nullptr, /*allow_exceptions=*/false);
}

Snapshot SnapAt(Variant v, FakeClock& clock, const Faults& f = Faults()) {
  MinerModel m(7, 3, v, clock.SteadyNow());
  return m.At(clock.SteadyNow(), clock.Now(), f);
}

TEST(JsonOutTest, TabsLayoutMatchesCjsonPrint) {
  std::string out;
  JsonOut j(out, JsonOut::Style::kTabs);
  j.Open('{').Int("a", 1).Open("b", '[').Int({}, 1).Int({}, 2).Close();
  j.Open("c", '{').Str("d", "x").Close().Close();
  EXPECT_EQ(out,
            "{\n\t\"a\":\t1,\n\t\"b\":\t[1, "
            "2],\n\t\"c\":\t{\n\t\t\"d\":\t\"x\"\n\t}\n}");
}

TEST(JsonOutTest, NumberStyles) {
  std::string out;
  JsonOut j(out, JsonOut::Style::kCompact);
  j.Open('[').CjFloat({}, 47.83f).Cj({}, 3).Cj({}, 10357020037.0);
  j.Aj({}, 1.274507897e14).Aj({}, 21.5).Close();
  EXPECT_EQ(out, "[47.830001831054688,3,10357020037,1.274507897e14,21.5]");
}

TEST(AxeosRepliesTest, BestDiffStringsPerFirmware) {
  EXPECT_EQ(FormatBestDiff(Variant::kAxeosV2_0, 999999999), "1e+03M");
  EXPECT_EQ(FormatBestDiff(Variant::kAxeosV2_0, 4290000000.0), "4.29G");
  EXPECT_EQ(FormatBestDiff(Variant::kAxeosV2_0, 512), "512");
  EXPECT_EQ(FormatBestDiff(Variant::kAxeosV2_0, 91500000), "91.5M");
  EXPECT_EQ(FormatBestDiff(Variant::kAxeosV2_9, 4290000000.0), "4.29G");
  EXPECT_EQ(FormatBestDiff(Variant::kAxeosV2_9, 1500), "1.50k");
}

TEST(AxeosRepliesTest, InfoShapePerVersion) {
  FakeClock clock;
  const MinerIdentity id{"sim-axeos-0001", 0, "127.1.0.1"};
  const std::string v20 = RenderAxeosInfo(Variant::kAxeosV2_0, id,
                                          SnapAt(Variant::kAxeosV2_0, clock));
  EXPECT_NE(v20.find("\n\t\"fanSpeed\":\t"), std::string::npos);
  json j = Parse(v20);
  ASSERT_FALSE(j.is_discarded()) << v20;
  EXPECT_TRUE(j["bestDiff"].is_string());
  EXPECT_TRUE(j.contains("wifiPass"));
  EXPECT_FALSE(j.contains("bestSessionDiff"));
  EXPECT_EQ(j.size(), 25u);

  const std::string v29 = RenderAxeosInfo(Variant::kAxeosV2_9, id,
                                          SnapAt(Variant::kAxeosV2_9, clock));
  j = Parse(v29);
  ASSERT_FALSE(j.is_discarded()) << v29;
  EXPECT_TRUE(j["bestSessionDiff"].is_string());
  EXPECT_TRUE(j.contains("poolDifficulty"));
  EXPECT_FALSE(j.contains("fanSpeed"));

  const std::string v212 = RenderAxeosInfo(Variant::kAxeosV2_12, id,
                                           SnapAt(Variant::kAxeosV2_12, clock));
  EXPECT_EQ(v212.find('\n'), std::string::npos);
  j = Parse(v212);
  ASSERT_FALSE(j.is_discarded()) << v212;
  EXPECT_TRUE(j["bestDiff"].is_number());
  EXPECT_EQ(j["temp2"], -1);
  EXPECT_TRUE(j.contains("hashRate_10m"));

  const std::string v215 = RenderAxeosInfo(Variant::kAxeosV2_15, id,
                                           SnapAt(Variant::kAxeosV2_15, clock));
  j = Parse(v215);
  ASSERT_FALSE(j.is_discarded()) << v215;
  const size_t th = v215.find("\"totalHashes\":");
  ASSERT_NE(th, std::string::npos);
  const std::string total = v215.substr(th, v215.find(',', th) - th);
  EXPECT_NE(total.find("e+"), std::string::npos) << total;
  EXPECT_TRUE(j["pools"].is_array());

  const std::string nerd = RenderAxeosInfo(
      Variant::kNerdqaxeV1_0_35, id, SnapAt(Variant::kNerdqaxeV1_0_35, clock));
  j = Parse(nerd);
  ASSERT_FALSE(j.is_discarded()) << nerd;
  EXPECT_TRUE(j["bestDiff"].is_number_unsigned());
  EXPECT_EQ(j["asicTemps"].size(), 4u);
  EXPECT_EQ(j["hostip"], "127.1.0.1");
  EXPECT_TRUE(j["stratum"]["pools"].is_array());
}

TEST(AxeosRepliesTest, AsicAndRestartPerVersion) {
  EXPECT_FALSE(RenderAxeosAsic(Variant::kAxeosV2_0).has_value());
  auto asic = RenderAxeosAsic(Variant::kAxeosV2_15);
  ASSERT_TRUE(asic.has_value());
  EXPECT_EQ(Parse(*asic)["hashDomains"], 4);
  EXPECT_FALSE(AxeosRestartReply(Variant::kAxeosV2_0).has_value());
  EXPECT_EQ(AxeosRestartReply(Variant::kAxeosV2_12)->content_type,
            "text/plain");
  EXPECT_EQ(Parse(AxeosRestartReply(Variant::kAxeosV2_15)->body)["message"],
            "System will restart shortly.");
}

TEST(CgminerRepliesTest, SummaryAndErrors) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kCgminer4_11, clock);
  CgminerReply r = RenderCgminerReply(Variant::kCgminer4_11,
                                      "{\"command\":\"summary\"}", s, Faults());
  json j = Parse(r.body);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j["STATUS"][0]["Code"], 11);
  EXPECT_EQ(j["STATUS"][0]["Description"], "cgminer 4.11.1");
  EXPECT_TRUE(j["SUMMARY"][0]["MHS 5s"].is_number());
  EXPECT_EQ(j["STATUS"][0]["When"], s.wall_epoch_s);
  EXPECT_EQ(r.command, "summary");

  // Plain-text form of the same command: same values, text framing.
  r = RenderCgminerReply(Variant::kCgminer4_11, "summary", s, Faults());
  const std::string when = std::to_string(s.wall_epoch_s);
  EXPECT_EQ(r.body.rfind("STATUS=S,When=" + when +
                             ",Code=11,Msg=Summary,Description=cgminer "
                             "4.11.1|SUMMARY,Elapsed=",
                         0),
            0u)
      << r.body;
  EXPECT_EQ(r.body.back(), '|');
  EXPECT_NE(r.body.find(",MHS 5s="), std::string::npos);
  EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '|'), 2);
  r = RenderCgminerReply(Variant::kCgminer4_11, "pools", s, Faults());
  EXPECT_NE(r.body.find("|POOL=0,URL=stratum+tcp://pool.sim.invalid:3333,"),
            std::string::npos)
      << r.body;
  r = RenderCgminerReply(Variant::kCgminer4_11, "restart", s, Faults());
  EXPECT_EQ(r.body, "RESTART");
  r = RenderCgminerReply(Variant::kCgminer4_11, "summary+devs", s, Faults());
  EXPECT_EQ(r.body, "STATUS=E,When=" + when + ",Code=14,Msg=Invalid command|");
  r = RenderCgminerReply(Variant::kAntminerS9, "stats", s, Faults());
  EXPECT_NE(r.body.find("|BMMiner=2.0.0,Miner=16.8.1.3,"), std::string::npos);
  EXPECT_NE(r.body.find("Type=Antminer S9|STATS=0,ID=BC50,"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("chain_xtime6={}"), std::string::npos);

  r = RenderCgminerReply(Variant::kCgminer4_11, "{\"command\":\"bogus\"}", s,
                         Faults());
  j = Parse(r.body);
  EXPECT_EQ(j["STATUS"][0]["STATUS"], "E");
  EXPECT_EQ(j["STATUS"][0]["Code"], 14);
  EXPECT_FALSE(j["STATUS"][0].contains("Description"));

  r = RenderCgminerReply(Variant::kCgminer4_11, "{\"command\":\"summ", s,
                         Faults());
  EXPECT_EQ(Parse(r.body)["STATUS"][0]["Code"], 23);
  r = RenderCgminerReply(Variant::kCgminer4_11, "{\"parameter\":\"0\"}", s,
                         Faults());
  EXPECT_EQ(Parse(r.body)["STATUS"][0]["Code"], 24);
}

TEST(CgminerRepliesTest, MultiCommandNestsOneElementArrays) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kCgminer4_11, clock);
  CgminerReply r = RenderCgminerReply(
      Variant::kCgminer4_11, "{\"command\":\"summary+devs+summary+pools\"}", s,
      Faults());
  json j = Parse(r.body);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j.size(), 4u);  // summary, devs, pools, id
  ASSERT_TRUE(j["summary"].is_array());
  EXPECT_EQ(j["summary"].size(), 1u);
  EXPECT_EQ(j["summary"][0]["STATUS"][0]["Code"], 11);
  EXPECT_EQ(j["devs"][0]["DEVS"].size(), 3u);
  EXPECT_EQ(j["pools"][0]["POOLS"].size(), 2u);
  EXPECT_EQ(j["id"], 1);
}

TEST(CgminerRepliesTest, RestartAndCode45) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kCgminer4_11, clock);
  CgminerReply r = RenderCgminerReply(Variant::kCgminer4_11,
                                      "{\"command\":\"restart\"}", s, Faults());
  EXPECT_EQ(r.body, "{\"STATUS\":\"RESTART\",\"id\":1}");
  EXPECT_TRUE(r.restart);

  Faults f;
  ASSERT_TRUE(ApplyFault(f, "code45", "", clock.SteadyNow()).ok());
  r = RenderCgminerReply(Variant::kCgminer4_11, "{\"command\":\"restart\"}", s,
                         f);
  json j = Parse(r.body);
  EXPECT_EQ(j["STATUS"][0]["Code"], 45);
  EXPECT_EQ(j["STATUS"][0]["Msg"], "Access denied to 'restart' command");
  EXPECT_FALSE(r.restart);
  r = RenderCgminerReply(Variant::kCgminer4_11, "{\"command\":\"summary\"}", s,
                         f);
  EXPECT_EQ(Parse(r.body)["STATUS"][0]["Code"], 11);

  ASSERT_TRUE(ApplyFault(f, "code45", "all", clock.SteadyNow()).ok());
  r = RenderCgminerReply(Variant::kCgminer4_11, "{\"command\":\"summary\"}", s,
                         f);
  EXPECT_EQ(Parse(r.body)["STATUS"][0]["Code"], 45);
}

TEST(CgminerRepliesTest, AntminerS9Quirks) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kAntminerS9, clock);
  CgminerReply r = RenderCgminerReply(Variant::kAntminerS9,
                                      "{\"command\":\"summary\"}", s, Faults());
  json j = Parse(r.body);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_TRUE(j["SUMMARY"][0]["GHS 5s"].is_string());
  EXPECT_TRUE(j["SUMMARY"][0]["GHS av"].is_number());
  EXPECT_FALSE(j["SUMMARY"][0].contains("MHS 5s"));
  EXPECT_EQ(j["STATUS"][0]["Description"], "bmminer 1.0.0");

  r = RenderCgminerReply(Variant::kAntminerS9, "{\"command\":\"stats\"}", s,
                         Faults());
  const size_t join = r.body.find("\"Type\":\"Antminer S9\"}{\"STATS\":0");
  ASSERT_NE(join, std::string::npos) << r.body;
  EXPECT_TRUE(Parse(r.body).is_discarded());  // the }{ malformation
  std::string repaired = r.body;
  repaired.replace(repaired.find("}{"), 2, "},{");
  j = Parse(repaired);
  ASSERT_FALSE(j.is_discarded()) << repaired;
  const json& dev = j["STATS"][1];
  for (int c = 1; c <= 16; ++c) {
    const std::string n = std::to_string(c);
    ASSERT_TRUE(dev.contains("chain_acn" + n)) << c;
    const bool real = c >= 6 && c <= 8;
    EXPECT_EQ(dev["chain_acn" + n].get<int>() > 0, real) << c;
    EXPECT_EQ(dev["chain_rate" + n].get<std::string>().empty(), !real) << c;
  }
  EXPECT_TRUE(dev["frequency"].is_string());
}

TEST(MinerModelTest, DeterministicForSeedAndTime) {
  FakeClock clock;
  MinerModel a(42, 5, Variant::kAxeosV2_15, clock.SteadyNow());
  MinerModel b(42, 5, Variant::kAxeosV2_15, clock.SteadyNow());
  MinerModel c(43, 5, Variant::kAxeosV2_15, clock.SteadyNow());
  clock.Advance(seconds(37));
  const MinerIdentity id{"x", 5, "127.1.0.6"};
  const auto render = [&](MinerModel& m) {
    return RenderAxeosInfo(Variant::kAxeosV2_15, id,
                           m.At(clock.SteadyNow(), clock.Now(), Faults()));
  };
  EXPECT_EQ(render(a), render(b));
  EXPECT_NE(render(a), render(c));
}

TEST(MinerModelTest, CountersGrowAndRebootResets) {
  FakeClock clock;
  MinerModel m(1, 0, Variant::kCgminer4_11, clock.SteadyNow());
  const Faults f;
  Snapshot prev = m.At(clock.SteadyNow(), clock.Now(), f);
  for (int k = 0; k < 20; ++k) {
    clock.Advance(seconds(30));
    const Snapshot s = m.At(clock.SteadyNow(), clock.Now(), f);
    EXPECT_EQ(s.uptime_s, prev.uptime_s + 30);
    EXPECT_GE(s.accepted, prev.accepted);
    EXPECT_GE(s.best_session_diff, prev.best_session_diff);
    EXPECT_GE(s.best_diff, prev.best_diff);
    EXPECT_GT(s.hashrate_ghs, 0.9 * m.nominal_ghs());
    EXPECT_LT(s.hashrate_ghs, 1.1 * m.nominal_ghs());
    prev = s;
  }
  EXPECT_GT(prev.accepted, 0u);
  m.Reboot(clock.SteadyNow(), seconds(5));
  EXPECT_TRUE(m.Down(clock.SteadyNow()));
  clock.Advance(seconds(5));
  EXPECT_FALSE(m.Down(clock.SteadyNow()));
  clock.Advance(seconds(10));
  const Snapshot after = m.At(clock.SteadyNow(), clock.Now(), f);
  EXPECT_EQ(after.uptime_s, 10);
  EXPECT_LT(after.accepted, prev.accepted);
  EXPECT_LT(after.best_session_diff, prev.best_session_diff);
  EXPECT_GE(after.best_diff, prev.best_diff);  // all-time best survives
  EXPECT_EQ(m.reboots(), 1u);
}

TEST(MinerModelTest, TemperatureRampAndHashrateDrop) {
  FakeClock clock;
  MinerModel m(1, 0, Variant::kAxeosV2_12, clock.SteadyNow());
  Faults f;
  ASSERT_TRUE(ApplyFault(f, "temp_ramp", "3", clock.SteadyNow()).ok());
  ASSERT_TRUE(ApplyFault(f, "temp_ceiling", "80", clock.SteadyNow()).ok());
  clock.Advance(minutes(5));
  double t = m.At(clock.SteadyNow(), clock.Now(), f).temp_c;
  EXPECT_NEAR(t, m.base_temp_c() + 15, 1.6);
  clock.Advance(minutes(60));
  t = m.At(clock.SteadyNow(), clock.Now(), f).temp_c;
  EXPECT_DOUBLE_EQ(t, 80);

  ASSERT_TRUE(ApplyFault(f, "hashrate_drop", "0.25", clock.SteadyNow()).ok());
  const double h = m.At(clock.SteadyNow(), clock.Now(), f).hashrate_ghs;
  EXPECT_NEAR(h, 0.25 * m.nominal_ghs(), 0.05 * m.nominal_ghs());
  EXPECT_FALSE(ApplyFault(f, "hashrate_drop", "2", clock.SteadyNow()).ok());
  EXPECT_EQ(f.hashrate_fraction, 0.25);  // unchanged on error
}

TEST(FleetPlanTest, MixNamesAddressesAndFaultSubsets) {
  FleetOptions o;
  o.miners = 10;
  o.mix = *ParseMix("axeos=3,cgminer-4.11=1,antminer-s9=1");
  o.faults = *ParseFaultRates("blackhole=0.2,trickle:50=0.1,reboot=0.1");
  auto plan = PlanFleet(o, SteadyTime());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->size(), 10u);
  EXPECT_EQ((*plan)[0].name, "sim-axeos-0001");
  EXPECT_EQ((*plan)[0].ip, "127.1.0.1");
  EXPECT_EQ((*plan)[0].port, 8080);
  EXPECT_EQ((*plan)[0].variant, Variant::kAxeosV2_0);
  EXPECT_EQ((*plan)[4].variant, Variant::kNerdqaxeV1_0_35);
  EXPECT_EQ((*plan)[6].name, "sim-cgminer-0001");
  EXPECT_EQ((*plan)[6].ip, "127.2.0.1");
  EXPECT_EQ((*plan)[6].port, 4028);
  EXPECT_EQ((*plan)[6].variant, Variant::kCgminer4_11);
  EXPECT_EQ((*plan)[9].variant, Variant::kAntminerS9);
  int blackholes = 0, trickles = 0, reboots = 0;
  for (const MinerPlan& m : *plan) {
    blackholes += m.faults.blackhole;
    trickles += m.faults.trickle_ms == 50;
    reboots += m.reboot_at_start;
  }
  EXPECT_EQ(blackholes, 2);
  EXPECT_EQ(trickles, 1);
  EXPECT_EQ(reboots, 1);
  // Same seed, same subset; another seed, (here) another subset.
  auto again = PlanFleet(o, SteadyTime());
  o.seed = 99;
  auto other = PlanFleet(o, SteadyTime());
  std::string a, b, c;
  for (size_t i = 0; i < 10; ++i) {
    a += (*plan)[i].faults.blackhole ? '1' : '0';
    b += (*again)[i].faults.blackhole ? '1' : '0';
    c += (*other)[i].faults.blackhole ? '1' : '0';
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(FleetPlanTest, RejectsBadOptions) {
  EXPECT_FALSE(ParseMix("axeos=x").ok());
  EXPECT_FALSE(ParseMix("antminer-s21=1").ok());
  EXPECT_FALSE(ParseFaultRates("blackhole").ok());
  EXPECT_FALSE(ParseFaultRates("melt=0.1").ok());
  EXPECT_FALSE(ParseFaultRates("refuse=1.5").ok());
  EXPECT_FALSE(ParseFaultRates("trickle:abc=0.1").ok());
  FleetOptions o;
  o.base_address = "10.0.0.1";
  EXPECT_FALSE(PlanFleet(o, SteadyTime()).ok());
  o.base_address = "127.255.255.0";
  EXPECT_FALSE(PlanFleet(o, SteadyTime()).ok());
}

TEST(HttpWireTest, ParsesPipelinedRequests) {
  std::string buf =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\n"
      "Content-Length: 3\r\nConnection: close\r\n\r\nabc";
  HttpRequest r;
  ASSERT_EQ(ParseHttpRequest(buf, &r), ParseState::kComplete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/a");
  EXPECT_TRUE(r.keep_alive);
  ASSERT_EQ(ParseHttpRequest(buf, &r), ParseState::kComplete);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.body, "abc");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(buf.empty());
  buf = "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab";
  EXPECT_EQ(ParseHttpRequest(buf, &r), ParseState::kNeedMore);
  buf = "garbage\r\n\r\n";
  EXPECT_EQ(ParseHttpRequest(buf, &r), ParseState::kBad);
  EXPECT_EQ(Chunked(std::string(5000, 'a')).substr(0, 6), "800\r\na");
}

TEST(FamilyRepliesTest, DigestIsCheckedAsRfc7616WithMd5) {
  // Computed independently: HA1 = MD5(root:realm:root), HA2 = MD5(GET:uri).
  const std::string good =
      "Digest username=\"root\", realm=\"antMiner Configuration\", "
      "nonce=\"abc123\", uri=\"/cgi-bin/reboot.cgi\", qop=auth, "
      "nc=00000001, cnonce=\"c0ffee\", "
      "response=\"39dc6f25bcb53e3e544a6501ddde0bf7\"";
  EXPECT_EQ(CheckDigest(good, "GET", "abc123", "root"), DigestVerdict::kOk);
  EXPECT_EQ(CheckDigest(good, "GET", "abc123", "other"), DigestVerdict::kWrong);
  EXPECT_EQ(CheckDigest(good, "GET", "stale", "root"), DigestVerdict::kWrong);
  EXPECT_EQ(CheckDigest("", "GET", "abc123", "root"), DigestVerdict::kMissing);
  EXPECT_EQ(CheckDigest("Basic cm9vdDpyb290", "GET", "abc123", "root"),
            DigestVerdict::kMissing);
}

TEST(FamilyRepliesTest, LuxosHasOneSessionThatExpires) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kLuxosS19, clock);
  LuxSession ls;
  auto ask = [&](const std::string& req) {
    return RenderFamilyReply(Variant::kLuxosS19, req, s, Faults(),
                             clock.SteadyNow(), ls);
  };
  EXPECT_EQ(
      Parse(ask(R"({"command":"session"})").body)["SESSION"][0]["SessionID"],
      "");
  FamilyReply logon = ask(R"({"command":"logon"})");
  EXPECT_EQ(Parse(logon.body)["SESSION"][0]["SessionID"], "sim1");
  EXPECT_EQ(Parse(ask(R"({"command":"logon"})").body)["STATUS"][0]["Code"],
            402);
  FamilyReply bad = ask(R"({"command":"rebootdevice","parameter":"nope"})");
  EXPECT_FALSE(bad.reboot);
  EXPECT_EQ(Parse(bad.body)["STATUS"][0]["STATUS"], "E");
  clock.Advance(seconds(61));
  FamilyReply expired = ask(R"({"command":"rebootdevice","parameter":"sim1"})");
  EXPECT_FALSE(expired.reboot);
  EXPECT_EQ(
      Parse(ask(R"({"command":"logon"})").body)["SESSION"][0]["SessionID"],
      "sim2");
  FamilyReply ok = ask(R"({"command":"rebootdevice","parameter":"sim2"})");
  EXPECT_TRUE(ok.reboot);
  EXPECT_EQ(ok.command, "rebootdevice sid=sim2 accepted");
}

TEST(FamilyRepliesTest, StockAntminerRefusesPrivilegedCommands) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kAntminerS19, clock);
  LuxSession ls;
  FamilyReply r =
      RenderFamilyReply(Variant::kAntminerS19, R"({"command":"restart"})", s,
                        Faults(), clock.SteadyNow(), ls);
  EXPECT_FALSE(r.reboot);
  EXPECT_EQ(Parse(r.body)["STATUS"][0]["Code"], 45);
  json stats =
      Parse(RenderFamilyReply(Variant::kAntminerS19, R"({"command":"stats"})",
                              s, Faults(), clock.SteadyNow(), ls)
                .body);
  EXPECT_EQ(stats["STATS"][1]["chain_acn4"], 0);
  EXPECT_TRUE(stats["STATS"][1]["temp_chip2"].is_string());
}

TEST(FamilyRepliesTest, AntminerDataCgiCarriesTheSameFiguresAs4028) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kAntminerS19, clock);
  LuxSession ls;
  json api =
      Parse(RenderFamilyReply(Variant::kAntminerS19, R"({"command":"stats"})",
                              s, Faults(), clock.SteadyNow(), ls)
                .body)["STATS"][1];
  json cgi = Parse(AntminerCgiPage("stats", s));
  EXPECT_EQ(cgi["STATUS"]["STATUS"], "S");
  EXPECT_EQ(cgi["INFO"]["type"], "Antminer S19j Pro");
  const json& st = cgi["STATS"][0];
  EXPECT_EQ(st["rate_unit"], "GH/s");
  ASSERT_EQ(st["chain"].size(), 4u);
  // temp_chip2 "a-b-c-d" is chain index 1 as an array.
  const json chip = st["chain"][1]["temp_chip"];
  EXPECT_EQ(std::to_string(chip[0].get<long>()) + "-" +
                std::to_string(chip[1].get<long>()) + "-" +
                std::to_string(chip[2].get<long>()) + "-" +
                std::to_string(chip[3].get<long>()),
            api["temp_chip2"]);
  EXPECT_EQ(st["chain"][3]["asic_num"], 0);
  EXPECT_TRUE(st["chain"][3]["temp_chip"].empty());
  EXPECT_EQ(st["fan"][0], api["fan1"]);
  json sum = Parse(AntminerCgiPage("summary", s));
  EXPECT_EQ(sum["SUMMARY"][0]["hw_all"], s.hw_errors);
  EXPECT_EQ(sum["SUMMARY"][0]["status"][0]["status"], "s");
}

TEST(FamilyRepliesTest, AvalonRebootsOnAscset) {
  FakeClock clock;
  const Snapshot s = SnapAt(Variant::kAvalon1366, clock);
  LuxSession ls;
  FamilyReply r = RenderFamilyReply(
      Variant::kAvalon1366, R"({"command":"ascset","parameter":"0,reboot,0"})",
      s, Faults(), clock.SteadyNow(), ls);
  EXPECT_TRUE(r.reboot);
  EXPECT_EQ(Parse(r.body)["STATUS"][0]["Msg"], "ASC 0 set info: reboot");
  FamilyReply text = RenderFamilyReply(Variant::kAvalon1366, "summary", s,
                                       Faults(), clock.SteadyNow(), ls);
  EXPECT_EQ(Parse(text.body)["STATUS"][0]["Code"], 14);  // JSON only
}

// The kind probe (exporters/probe.h) run over one simulated 4028 miner as the
// agent runs it, step by step; nothing answers on its web side.
std::optional<probe::Decision> ProbeApiSide(Variant v) {
  FakeClock clock;
  const Snapshot s = SnapAt(v, clock);
  LuxSession ls;
  WhatsminerTokens wm;
  const auto every_kind = [](std::string_view) { return true; };
  probe::Replies replies;
  while (std::optional<probe::Source> step =
             probe::NextStep(replies, every_kind)) {
    Response r;
    if (*step == probe::Source::kWeb) {
      r.transport = UnavailableError("connection refused");
      replies.web = std::move(r);
      continue;
    }
    const std::string req = probe::RequestFor(*step).payload;
    if (v == Variant::kWhatsminerM50) {
      r.body =
          RenderWhatsminerReply(req, s, Faults(), clock.SteadyNow(), wm).body;
    } else if (IsVendorVariant(v)) {
      r.body =
          RenderFamilyReply(v, req, s, Faults(), clock.SteadyNow(), ls).body;
    } else {
      r.body = RenderCgminerReply(v, req, s, Faults()).body;
    }
    (*step == probe::Source::kVersion ? replies.version : replies.devdetails) =
        std::move(r);
  }
  return probe::Decide(replies, every_kind);
}

TEST(FamilyRepliesTest, KindProbeTellsEveryApiVariantItsKind) {
  // The S9's bmminer is polled as cgminer by the targets file, but its
  // `version` names the Antminer, and the antminer kind reads it too.
  const std::pair<Variant, std::string_view> want[] = {
      {Variant::kCgminer4_11, "cgminer"},
      {Variant::kAntminerS9, "antminer"},
      {Variant::kAntminerS19, "antminer"},
      {Variant::kAvalon1366, "avalon"},
      {Variant::kLuxosS19, "luxos"},
      {Variant::kVnishS19XP, "vnish"},
      {Variant::kBraiinsS19, "braiins"},
      {Variant::kBraiinsS9, "braiins"},
      {Variant::kWhatsminerM50, "whatsminer"}};
  for (const auto& [v, kind] : want) {
    std::optional<probe::Decision> d = ProbeApiSide(v);
    ASSERT_TRUE(d) << VariantName(v);
    EXPECT_EQ(d->kind, kind) << VariantName(v) << ": " << d->evidence;
  }
}

TEST(FamilyRepliesTest, VendorVersionRepliesNameTheFirmware) {
  FakeClock clock;
  LuxSession ls;
  auto version = [&](Variant v) {
    return Parse(RenderFamilyReply(v, R"({"command":"version"})",
                                   SnapAt(v, clock), Faults(),
                                   clock.SteadyNow(), ls)
                     .body);
  };
  json vn = version(Variant::kVnishS19XP);
  EXPECT_EQ(vn["VERSION"][0]["Type"], "Antminer S19 XP (Vnish 1.2.6)");
  json stats =
      Parse(RenderFamilyReply(Variant::kVnishS19XP, R"({"command":"stats"})",
                              SnapAt(Variant::kVnishS19XP, clock), Faults(),
                              clock.SteadyNow(), ls)
                .body);
  EXPECT_EQ(stats["STATS"][0]["Type"], "Antminer S19 XP (Vnish 1.2.6)");
  json boser = version(Variant::kBraiinsS19);
  EXPECT_EQ(boser["STATUS"][0]["Code"], 22);
  EXPECT_EQ(boser["STATUS"][0]["Msg"], "BOSer versions");
  EXPECT_EQ(boser["VERSION"][0]["BOSer"], "boser-buildroot 0.1.0-26ba61b9");
  json bosminer = version(Variant::kBraiinsS9);
  EXPECT_EQ(bosminer["STATUS"][0]["Msg"], "BOSminer+ versions");
  EXPECT_EQ(bosminer["VERSION"][0]["BOSminer+"], "0.2.0-ea64aec8e");
  EXPECT_EQ(bosminer["VERSION"][0]["API"], "3.7");
}

}  // namespace
}  // namespace rigwatch::sim
