#include "agent/api/api_util.h"

#include <gtest/gtest.h>

#include <map>

#include "agent/api/routes.h"
#include "agent/api/source.h"
#include "agent/store/csv.h"
#include "agent/store/memory_store.h"

namespace rigwatch {
namespace {

const WallTime kNow = FromUnixMillis(1763787600000);  // 2025-11-22T05:00:00Z

TEST(ParseTimeArgTest, Forms) {
  EXPECT_EQ(*ParseTimeArg("now", kNow), kNow);
  EXPECT_EQ(*ParseTimeArg("-1h", kNow), kNow - std::chrono::hours(1));
  EXPECT_EQ(*ParseTimeArg("now-30m", kNow), kNow - std::chrono::minutes(30));
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("1763787600", kNow)), 1763787600000);
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("1763787600.5", kNow)), 1763787600500);
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("2025-11-22T05:00:00Z", kNow)),
            1763787600000);
  EXPECT_EQ(ToUnixMillis(*ParseTimeArg("2025-11-22T06:00:00.250+01:00", kNow)),
            1763787600250);
  for (const char* bad : {"", "yesterday", "2025-13-01T00:00:00Z",
                          "2025-11-22T05:00:00", "-5x", "12:00"}) {
    EXPECT_FALSE(ParseTimeArg(bad, kNow).ok()) << bad;
  }
}

TEST(ParseSelectorTest, MatchersAndErrors) {
  auto s = ParseSelector(
      "miner_up{miner=\"rig-1\",kind!=\"x\",a=~\"b.*\",c!~\"\\\"q\"}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->metric, "miner_up");
  ASSERT_EQ(s->matchers.size(), 4u);
  EXPECT_EQ(s->matchers[1].op, store::LabelMatcher::Op::kNe);
  EXPECT_EQ(s->matchers[2].op, store::LabelMatcher::Op::kRegex);
  EXPECT_EQ(s->matchers[3].value, "\"q");
  EXPECT_TRUE(ParseSelector("{miner=\"a\"}").ok());
  auto bad = ParseSelector("miner_up{miner=rig}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("column 16"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(ParseSelector("miner_up{miner=\"a\"").ok());
  EXPECT_FALSE(ParseSelector("").ok());
}

TEST(SeriesJsonTest, EscapesAndNulls) {
  store::SeriesPoints sp;
  sp.key.target = "r\"1";
  sp.key.metric = "m";
  sp.key.labels = {{"a", "b"}};
  sp.points = {
      {FromUnixMillis(1000), 1.5},
      {FromUnixMillis(2000), std::numeric_limits<double>::quiet_NaN()}};
  EXPECT_EQ(SeriesJson({sp}),
            "{\"series\":[{\"miner\":\"r\\\"1\",\"metric\":\"m\",\"labels\":{"
            "\"a\":\"b\"},\"points\":[[1000,1.5],[2000,null]]}]}");
}

// The API handlers against a small ApiSource: a memory store, fixed rule
// states, recorded mutes. The integration tests run them on the real agent.
class FakeSource : public api::ApiSource {
 public:
  WallTime now = kNow;
  bool rules = true;
  std::unique_ptr<store::Store> st;
  std::vector<rules::AlertView> alerts;
  std::map<std::string, PollError> errors;
  std::vector<std::string> calls;

  WallTime Now() const override { return now; }
  bool Ready() const override { return true; }
  std::string RenderMetrics() const override { return "m 1\n"; }
  std::vector<std::string> stuck;
  std::vector<std::string> StuckLoops() const override { return stuck; }
  std::optional<PollError> LastPollError(std::string_view m) const override {
    auto it = errors.find(std::string(m));
    if (it == errors.end()) return std::nullopt;
    return it->second;
  }
  bool HasStore() const override { return st != nullptr; }
  Result<std::vector<store::SeriesKey>> MatchSeries(
      const store::Selector& sel) override {
    return st->MatchSeries(sel);
  }
  Result<std::vector<store::SeriesPoints>> Select(const store::Selector& sel,
                                                  WallTime from,
                                                  WallTime to) override {
    return st->Select(sel, from, to);
  }
  Result<std::vector<store::Point>> ReadRange(const store::SeriesKey& key,
                                              WallTime from,
                                              WallTime to) override {
    return st->ReadRange(key, from, to);
  }
  Result<std::unique_ptr<store::RowIterator>> Scan(WallTime from,
                                                   WallTime to) override {
    return st->Scan(from, to);
  }
  bool HasRules() const override { return rules; }
  std::vector<rules::AlertView> Alerts(bool) const override { return alerts; }
  std::string AlertsJson(bool) const override { return "{\"alerts\":[]}"; }
  Status Mute(std::string_view t, WallTime until) override {
    if (t == "nope") return NotFoundError("unknown target \"nope\"");
    calls.push_back("mute " + std::string(t) + " " +
                    std::to_string(ToUnixMillis(until)));
    return Status::Ok();
  }
  Status Unmute(std::string_view t) override {
    calls.push_back("unmute " + std::string(t));
    return Status::Ok();
  }
  // Miners that exist, and the outcome each restart gets.
  std::map<std::string, RestartOutcome> restarts;
  Result<RestartOutcome> RestartMiner(std::string_view m, bool force) override {
    calls.push_back("restart " + std::string(m) + (force ? " forced" : ""));
    auto it = restarts.find(std::string(m));
    if (it == restarts.end()) {
      return NotFoundError("no miner named \"" + std::string(m) + "\"");
    }
    return it->second;
  }
  Result<std::string> MutationsJson(size_t limit) override {
    return "{\"mutations\":[],\"limit\":" + std::to_string(limit) + "}";
  }
};

HttpRequest Req(std::string method, std::string path, std::string query = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = std::move(query);
  return r;
}

TEST(ApiRoutesTest, TargetShowsItsStatesAndLastPollError) {
  FakeSource src;
  rules::AlertView a;
  a.rule = "hot";
  a.target = "rig-1";
  a.level = rules::Level::kRed;
  a.since = kNow - std::chrono::minutes(5);
  a.threshold = "> 80";
  a.value = 91.5;
  src.alerts = {a};
  a.target = "rig-2";
  src.alerts.push_back(a);
  src.errors["rig-1"] = PollError{
      "parse_error",
      "cgminer rig-1 (10.0.0.12:4028): summary: malformed JSON at byte 812",
      kNow - std::chrono::seconds(10), true};
  HttpResponse r = api::HandleTarget(src, Req("GET", "/api/v1/targets/rig-1"));
  EXPECT_EQ(r.status, 200);
  const std::string since = store::FormatRfc3339(a.since);
  const std::string at = store::FormatRfc3339(src.errors["rig-1"].time);
  EXPECT_EQ(r.body,
            "{\"target\":\"rig-1\",\"states\":[{\"rule\":\"hot\",\"target\":"
            "\"rig-1\",\"level\":\"red\",\"since\":\"" +
                since +
                "\",\"threshold\":\"> 80\",\"value\":91.500000,\"muted\":"
                "false}],\"last_poll_error\":{\"result\":\"parse_error\","
                "\"error\":\"cgminer rig-1 (10.0.0.12:4028): summary: "
                "malformed JSON at byte 812\",\"time\":\"" +
                at + "\",\"failing\":true}}");
  // A miner that never failed: null. The list view has no poll errors.
  r = api::HandleTarget(src, Req("GET", "/api/v1/targets/rig-2"));
  EXPECT_NE(r.body.find("\"last_poll_error\":null"), std::string::npos)
      << r.body;
  r = api::HandleTarget(src, Req("GET", "/api/v1/targets"));
  EXPECT_EQ(r.body.find("last_poll_error"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("rig-2"), std::string::npos) << r.body;
  src.rules = false;
  EXPECT_EQ(api::HandleTarget(src, Req("GET", "/api/v1/targets/rig-1")).status,
            503);
}

TEST(ApiRoutesTest, MuteAndUnmuteReachTheSource) {
  FakeSource src;
  EXPECT_EQ(
      api::HandleMute(src, Req("POST", "/api/v1/mute", "target=rig-1&for=2h"))
          .status,
      200);
  EXPECT_EQ(api::HandleMute(src, Req("DELETE", "/api/v1/mute", "target=rig-1"))
                .status,
            200);
  ASSERT_EQ(src.calls.size(), 2u);
  EXPECT_EQ(src.calls[0],
            "mute rig-1 " + std::to_string(ToUnixMillis(kNow) + 7200000));
  EXPECT_EQ(src.calls[1], "unmute rig-1");
  EXPECT_EQ(
      api::HandleMute(src, Req("GET", "/api/v1/mute", "target=rig-1")).status,
      405);
  EXPECT_EQ(api::HandleMute(src, Req("POST", "/api/v1/mute")).status, 400);
  EXPECT_EQ(
      api::HandleMute(src, Req("POST", "/api/v1/mute", "target=a&for=soon"))
          .status,
      400);
  EXPECT_EQ(
      api::HandleMute(src, Req("POST", "/api/v1/mute", "target=nope")).status,
      404);
  EXPECT_EQ(src.calls.size(), 2u);  // refused requests change nothing
}

TEST(ApiRoutesTest, MinerRestartMapsOutcomesToStatusCodes) {
  FakeSource src;
  src.restarts["rig-1"] = {"ok", ""};
  src.restarts["rig-2"] = {"cooldown", "rig-2 was restarted 5s ago"};
  src.restarts["rig-3"] = {"timeout", "no reply"};
  HttpResponse ok =
      api::HandleMinerRestart(src, Req("POST", "/api/v1/miners/rig-1/restart"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"miner":"rig-1","result":"ok","forced":false})");
  HttpResponse cool =
      api::HandleMinerRestart(src, Req("POST", "/api/v1/miners/rig-2/restart"));
  EXPECT_EQ(cool.status, 409);
  EXPECT_NE(cool.body.find("restarted 5s ago"), std::string::npos) << cool.body;
  EXPECT_EQ(api::HandleMinerRestart(
                src, Req("POST", "/api/v1/miners/rig-3/restart", "force=1"))
                .status,
            502);
  HttpResponse unknown =
      api::HandleMinerRestart(src, Req("POST", "/api/v1/miners/nope/restart"));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("no miner named"), std::string::npos);
  EXPECT_EQ(
      api::HandleMinerRestart(src, Req("POST", "/api/v1/miners/rig-1")).status,
      404);
  EXPECT_EQ(api::HandleMinerRestart(
                src, Req("POST", "/api/v1/miners/rig-1/restart", "force=yes"))
                .status,
            400);
  EXPECT_EQ(src.calls,
            (std::vector<std::string>{"restart rig-1", "restart rig-2",
                                      "restart rig-3 forced", "restart nope"}));
}

TEST(ApiRoutesTest, MuteRequestFromQueryOrJsonBody) {
  HttpRequest r = Req("POST", "/api/v1/mute");
  r.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  r.body = R"({"target":"rig 1","for":"90m"})";
  Result<MuteRequest> m = ParseMuteRequest(r);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->target, "rig 1");
  EXPECT_EQ(m->duration, std::chrono::minutes(90));
  // Defaults to 1h; DELETE needs only the target.
  m = ParseMuteRequest(Req("POST", "/api/v1/mute", "target=a"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->duration, std::chrono::hours(1));
  EXPECT_TRUE(ParseMuteRequest(Req("DELETE", "/api/v1/mute", "target=a")).ok());
  struct Case {
    std::string query, body, error;
  };
  for (const Case& c : std::vector<Case>{
           {"target=a", R"({"target":"b"})",
            "\"target\" given in both the query and the body"},
           {"", R"({"target":"a","for":7})",
            "mute body: \"for\" must be a string"},
           {"", R"({"target":"a","x":"1"})",
            "mute body: unknown field \"x\" (allowed: for, target)"},
           {"", "[]",
            "mute body: expected a JSON object {\"target\":..,\"for\":..}"},
           {"", R"({"for":"1h"})", "missing \"target\" (a miner name or host)"},
           {"target=a&for=0s", "",
            "\"for\" must be more than 0 and at most 365d"},
       }) {
    HttpRequest q = Req("POST", "/api/v1/mute", c.query);
    q.headers = {{"Content-Type", "application/json"}};
    q.body = c.body;
    Result<MuteRequest> bad = ParseMuteRequest(q);
    ASSERT_FALSE(bad.ok()) << c.query << " " << c.body;
    EXPECT_EQ(bad.status().message(), c.error);
  }
  // A body without the JSON content type is not read.
  HttpRequest plain = Req("POST", "/api/v1/mute", "target=a");
  plain.body = "{}";
  EXPECT_TRUE(ParseMuteRequest(plain).ok());
}

TEST(ApiRoutesTest, SeriesFromTheStore) {
  FakeSource src;
  EXPECT_EQ(
      api::HandleSeries(src, Req("GET", "/api/v1/series", "match=up")).status,
      503);
  store::StoreOptions so;
  auto st = store::OpenMemoryStore(so);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  src.st = std::move(st).value();
  src.st->Append("rig-1", kNow - std::chrono::minutes(1),
                 {Sample{"miner_up", {}, 1}});
  ASSERT_TRUE(src.st->Flush().ok());
  HttpResponse r =
      api::HandleSeries(src, Req("GET", "/api/v1/series", "match=miner_up"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"miner\":\"rig-1\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(std::to_string(ToUnixMillis(kNow) - 60000)),
            std::string::npos)
      << r.body;
  EXPECT_EQ(api::HandleSeries(src, Req("GET", "/api/v1/series")).status, 400);
  EXPECT_EQ(api::HandleSeries(src, Req("GET", "/api/v1/series",
                                       "match=miner_up&from=now&to=-1h"))
                .status,
            400);
}

}  // namespace
}  // namespace rigwatch
