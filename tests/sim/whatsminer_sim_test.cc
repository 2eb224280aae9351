// The simulated Whatsminer against the real whatsminer exporter, in process:
// a poll of its replies, the signed restart chain accepted with the right
// password and refused (Code 135, twice) with a wrong one, and the error
// replies of the API.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "exporters/miner_metrics.h"
#include "exporters/whatsminer.h"
#include "tests/fakes/fake_clock.h"
#include "tests/sim/miner_model.h"
#include "tests/sim/whatsminer_replies.h"

namespace rigwatch::sim {
namespace {

using nlohmann::json;

struct SimMiner {
  FakeClock clock;
  MinerModel model{7, 3, Variant::kWhatsminerM50, clock.SteadyNow()};
  Faults faults;
  WhatsminerTokens tokens;
  std::vector<std::string> log;
  bool rebooted = false;

  Response Ask(const Request& q) {
    FamilyReply f = RenderWhatsminerReply(
        q.payload, model.At(clock.SteadyNow(), clock.Now(), faults), faults,
        clock.SteadyNow(), tokens);
    log.push_back(f.command);
    rebooted = rebooted || f.reboot;
    Response r;
    r.body = f.body + '\0';
    return r;
  }

  // Runs the exporter's restart chain against this miner.
  Status Restart(const Credentials& login) {
    const Exporter& e = whatsminer::GetExporter();
    std::vector<Response> rs;
    for (int step = 0; step < 8; ++step) {
      Result<std::optional<Request>> next =
          e.NextSignedRestartRequest(rs, login);
      if (!next.ok()) return next.status();
      if (!next->has_value()) return e.ParseSignedRestartReply(rs, login);
      rs.push_back(Ask(**next));
    }
    return InternalError("the chain did not end");
  }
};

double Value(const ScrapeResult& r, std::string_view name,
             std::string_view sensor = "") {
  for (const Sample& s : r.samples) {
    if (s.name != name) continue;
    if (sensor.empty() || (!s.labels.empty() && s.labels[0].value == sensor)) {
      return s.value;
    }
  }
  return -1;
}

TEST(WhatsminerSimTest, PollsInBaseUnits) {
  SimMiner m;
  const Exporter& e = whatsminer::GetExporter();
  std::vector<Response> rs;
  for (const Request& q : e.PollRequests()) rs.push_back(m.Ask(q));
  Result<ScrapeResult> r = e.Parse(rs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Snapshot s = m.model.At(m.clock.SteadyNow(), m.clock.Now(), m.faults);
  EXPECT_DOUBLE_EQ(Value(*r, metric::kHashrate), s.hashrate_ghs * 1e9);
  EXPECT_DOUBLE_EQ(Value(*r, metric::kTemperature, "chip"), s.temp_c);
  EXPECT_DOUBLE_EQ(Value(*r, metric::kTemperature, "chain2_chip"),
                   s.temp_c + 1);
  EXPECT_GT(Value(*r, metric::kPower), 1000);
  EXPECT_EQ(r->info.model, "M50SVH40");
  EXPECT_EQ(r->info.firmware, "20240326.18.REL");
}

TEST(WhatsminerSimTest, SignedRestartNeedsTheMinersPassword) {
  SimMiner m;
  EXPECT_TRUE(m.Restart({"admin", "admin"}).ok());
  EXPECT_TRUE(m.rebooted);
  EXPECT_EQ(m.log, (std::vector<std::string>{"get_version", "get_token",
                                             "restart_btminer accepted"}));
  SimMiner other;
  other.faults.api_password = "s3cret";
  Status st = other.Restart({"admin", "admin"});
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st.ToString();
  EXPECT_NE(st.message().find("check token err"), std::string::npos);
  EXPECT_FALSE(other.rebooted);
  EXPECT_EQ(other.log, (std::vector<std::string>{
                           "get_version", "get_token", "enc check token err",
                           "get_token", "enc check token err"}));
  other.log.clear();
  EXPECT_TRUE(other.Restart({"admin", "s3cret"}).ok());
  EXPECT_TRUE(other.rebooted);
}

TEST(WhatsminerSimTest, ErrorReplies) {
  SimMiner m;
  auto ask = [&](const std::string& payload) {
    return json::parse(m.Ask(Request{.payload = payload}).body.c_str());
  };
  EXPECT_EQ(ask("summary|0")["Code"], 23);
  EXPECT_EQ(ask(R"({"cmd":"version"})")["Code"], 14);
  EXPECT_EQ(ask(R"({"cmd":"reboot"})")["Code"], 45);  // writes: encrypted only
  EXPECT_EQ(ask(R"({"enc":1,"data":"A"})")["Code"], 135);  // no token yet
  EXPECT_EQ(ask(R"({"cmd":"get_token"})")["Code"], 134);
  EXPECT_EQ(ask(R"({"enc":1,"data":"!!"})")["Code"], 137);
  for (int i = 0; i < 31; ++i) ask(R"({"cmd":"get_token"})");
  json over = ask(R"({"cmd":"get_token"})");
  EXPECT_EQ(over["Code"], 136);
  EXPECT_EQ(over["Msg"], "over max connect");
  m.clock.Advance(std::chrono::minutes(31));  // tokens live 30 minutes
  EXPECT_EQ(ask(R"({"cmd":"get_token"})")["Code"], 134);
}

}  // namespace
}  // namespace rigwatch::sim
