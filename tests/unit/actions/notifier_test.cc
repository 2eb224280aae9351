#include "agent/actions/notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_clock.h"
#include "tests/unit/actions/test_util.h"

namespace rigwatch::actions {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::MakeTransition;
using testing::RecordingChannel;
using testing::SubjectOf;

class NotifierTest : public ::testing::Test {
 protected:
  NotifierTest() : outbox_({}, &clock_, &kv_, &counters_) {
    outbox_.AddChannel(Notifier::kMailChannel, &mail_);
    outbox_.AddChannel(Notifier::kAmChannel, &am_);
  }
  void Make(bool alertmanager = false) {
    NotifierOptions o;
    o.from = "rigwatch@example.org";
    o.to = {"ops@example.org"};
    o.host = "testhost";
    o.external_url = "http://agent:9842";
    o.alertmanager = alertmanager;
    n_ = std::make_unique<Notifier>(o, &clock_, &outbox_);
  }
  // Advances the clock, ticks, and delivers what the outbox holds.
  void Step(Duration d) {
    clock_.Advance(d);
    n_->Tick();
    outbox_.RunDue();
  }
  Transition Red(const std::string& target, const std::string& rule = "temp") {
    return MakeTransition(rule, target, Level::kGreen, Level::kRed,
                          {"notify", "restart"});
  }
  Transition Green(const std::string& target,
                   const std::string& rule = "temp") {
    return MakeTransition(rule, target, Level::kRed, Level::kGreen);
  }

  FakeClock clock_;
  MemoryKv kv_;
  CounterFamily2 counters_{"n", "channel", "result"};
  Outbox outbox_;
  RecordingChannel mail_, am_;
  std::unique_ptr<Notifier> n_;
};

TEST_F(NotifierTest, ChangesWithinGroupWaitGoOutAsOneDigest) {
  Make();
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(10));
  n_->OnTransition(Red("rig-2"), false);
  Step(seconds(10));
  n_->OnTransition(Red("rig-3", "hashrate_low"), false);
  Step(seconds(9));
  EXPECT_TRUE(mail_.delivered.empty());
  Step(seconds(1));  // 30 s after the first change
  ASSERT_EQ(mail_.delivered.size(), 1u);
  const std::string& m = mail_.delivered[0];
  EXPECT_EQ(SubjectOf(m),
            "[rigwatch] 3 alerts: 3 firing, 0 resolved, 0 still red");
  EXPECT_NE(m.find("[FIRING] temp on rig-1"), std::string::npos);
  EXPECT_NE(m.find("[FIRING] temp on rig-2"), std::string::npos);
  EXPECT_NE(m.find("[FIRING] hashrate_low on rig-3"), std::string::npos);
  EXPECT_NE(m.find("value:     81.5"), std::string::npos);
  EXPECT_NE(m.find("threshold: > 75"), std::string::npos);
  EXPECT_NE(m.find("http://agent:9842/api/v1/targets/rig-1"),
            std::string::npos);
  Step(minutes(5));
  EXPECT_EQ(mail_.delivered.size(), 1u);
}

TEST_F(NotifierTest, ResolvedMailWhenBackToGreen) {
  Make();
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  EXPECT_EQ(SubjectOf(mail_.delivered[0]),
            "[rigwatch] FIRING: temp on rig-1 is RED");
  n_->OnTransition(Green("rig-1"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 2u);
  EXPECT_EQ(SubjectOf(mail_.delivered[1]),
            "[rigwatch] RESOLVED: temp on rig-1 is GREEN");
  Step(hours(5));
  EXPECT_EQ(mail_.delivered.size(), 2u);  // no reminder after resolve
}

TEST_F(NotifierTest, FlapWithinGroupWaitSendsNothing) {
  Make();
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(5));
  n_->OnTransition(Green("rig-1"), false);
  Step(minutes(1));
  EXPECT_TRUE(mail_.delivered.empty());
}

TEST_F(NotifierTest, RemindersWhileRedOnly) {
  Make();
  n_->OnTransition(Red("rig-1"), false);
  Transition y =
      MakeTransition("fan", "rig-2", Level::kGreen, Level::kYellow, {"notify"});
  n_->OnTransition(y, false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  Step(hours(4) - seconds(1));
  EXPECT_EQ(mail_.delivered.size(), 1u);
  Step(seconds(1));   // 4 h after the mail: reminder joins a group
  Step(seconds(30));  // the group closes
  ASSERT_EQ(mail_.delivered.size(), 2u);
  EXPECT_EQ(SubjectOf(mail_.delivered[1]),
            "[rigwatch] REMINDER: temp on rig-1 is RED");
  EXPECT_EQ(mail_.delivered[1].find("rig-2"), std::string::npos);
  Step(hours(4));
  Step(seconds(30));
  EXPECT_EQ(mail_.delivered.size(), 3u);
}

TEST_F(NotifierTest, TransitionsWithoutNotifyAreSilent) {
  Make();
  n_->OnTransition(
      MakeTransition("temp", "rig-1", Level::kGreen, Level::kRed, {"restart"}),
      false);
  Step(minutes(1));
  EXPECT_TRUE(mail_.delivered.empty());
}

TEST_F(NotifierTest, MutedRuleSendsNothingButItsResolve) {
  Make();
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  Transition y = MakeTransition("temp", "rig-1", Level::kRed, Level::kYellow);
  y.muted = true;
  n_->OnTransition(y, false);
  Transition r = Red("rig-2");
  r.muted = true;
  r.actions.clear();
  n_->OnTransition(r, false);
  Step(seconds(30));
  EXPECT_EQ(mail_.delivered.size(), 1u);
  Transition g = Green("rig-1");
  g.muted = true;
  n_->OnTransition(g, false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 2u);
  EXPECT_EQ(SubjectOf(mail_.delivered[1]),
            "[rigwatch] RESOLVED: temp on rig-1 is GREEN");
}

TEST_F(NotifierTest, FleetDownHoldsPerTargetMailsThenCatchesUp) {
  Make();
  n_->OnTransition(Red("rig-1"), false);  // pending in the group
  n_->OnFleetTripped();
  n_->OnNotice({"fleet_unreachable", "fleet", "fleet unreachable", "body"});
  for (int i = 2; i <= 6; ++i) {
    n_->OnTransition(Red("rig-" + std::to_string(i)), true);
  }
  Step(minutes(10));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  EXPECT_EQ(SubjectOf(mail_.delivered[0]), "[rigwatch] fleet unreachable");
  // rig-2..rig-5 come back while the fleet is down, rig-1 and rig-6 stay red.
  for (int i = 2; i <= 5; ++i) {
    n_->OnTransition(Green("rig-" + std::to_string(i)), true);
  }
  n_->OnNotice({"fleet_reachable", "fleet", "fleet reachable again", "b"});
  n_->OnFleetRecovered();
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 3u);
  EXPECT_EQ(SubjectOf(mail_.delivered[1]), "[rigwatch] fleet reachable again");
  const std::string& digest = mail_.delivered[2];
  EXPECT_EQ(SubjectOf(digest),
            "[rigwatch] 2 alerts: 2 firing, 0 resolved, 0 still red");
  EXPECT_NE(digest.find("temp on rig-1"), std::string::npos);
  EXPECT_NE(digest.find("temp on rig-6"), std::string::npos);
}

TEST_F(NotifierTest, AlertmanagerFiringResendAndResolved) {
  Make(/*alertmanager=*/true);
  Transition t = Red("rig-1");
  t.labels = {{"site", "barn"}};
  n_->OnTransition(t, false);
  outbox_.RunDue();
  ASSERT_EQ(am_.delivered.size(), 1u);
  auto j = nlohmann::json::parse(am_.delivered[0]);
  EXPECT_EQ(j[0]["labels"]["alertname"], "temp");
  EXPECT_EQ(j[0]["labels"]["miner"], "rig-1");
  EXPECT_EQ(j[0]["labels"]["severity"], "critical");
  EXPECT_EQ(j[0]["labels"]["site"], "barn");
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(clock_.Now() + minutes(4)));
  Step(seconds(59));
  EXPECT_EQ(am_.delivered.size(), 1u);
  Step(seconds(1));
  ASSERT_EQ(am_.delivered.size(), 2u);  // re-sent before endsAt
  n_->OnTransition(Green("rig-1"), false);
  outbox_.RunDue();
  ASSERT_EQ(am_.delivered.size(), 3u);
  j = nlohmann::json::parse(am_.delivered[2]);
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(clock_.Now()));
  Step(minutes(10));
  EXPECT_EQ(am_.delivered.size(), 3u);
}

TEST_F(NotifierTest, HostileMinerNameStaysInItsHeader) {
  Make();
  n_->OnTransition(Red("rig-1\r\nBcc: victim@example.com"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  const std::string& m = mail_.delivered[0];
  // Neither in the headers nor as a line of its own in the body.
  EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(SubjectOf(m).find("rig-1  Bcc: victim@example.com"),
            std::string::npos);
}

}  // namespace
}  // namespace rigwatch::actions
