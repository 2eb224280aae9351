#include "agent/actions/notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

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
  void Make(bool alertmanager = false, DurableKv* kv = nullptr,
            NotifierOptions o = {}) {
    o.from = "rigwatch@example.org";
    o.to = {"ops@example.org"};
    o.host = "testhost";
    o.external_url = "http://agent:9842";
    o.alertmanager = alertmanager;
    n_ = std::make_unique<Notifier>(o, &clock_, &outbox_, kv);
    ASSERT_TRUE(n_->Load().ok());
  }
  // The agent dies and starts again on the same store: a new Notifier over
  // the same DurableKv (the outbox, durable on its own, is kept).
  void Restart(bool alertmanager = false) {
    n_.reset();
    outbox_.RunDue();
    Make(alertmanager, &kv_);
  }
  std::vector<std::string> Subjects() const {
    std::vector<std::string> out;
    for (const auto& m : mail_.delivered) out.push_back(SubjectOf(m));
    return out;
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
  EXPECT_NE(m.find("value:      81.5"), std::string::npos);
  EXPECT_NE(m.find("threshold:  > 75"), std::string::npos);
  EXPECT_NE(m.find("action:     restart requested"), std::string::npos);
  EXPECT_NE(m.find("last error: (none)"), std::string::npos);
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
  // The notice and the digest are queued in the same millisecond; the
  // outbox does not promise their order.
  const bool notice_first =
      SubjectOf(mail_.delivered[1]) == "[rigwatch] fleet reachable again";
  EXPECT_EQ(SubjectOf(mail_.delivered[notice_first ? 1 : 2]),
            "[rigwatch] fleet reachable again");
  const std::string& digest = mail_.delivered[notice_first ? 2 : 1];
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
  Transition g = Green("rig-1");
  g.severity = "none";  // what the rules engine says of a green level
  n_->OnTransition(g, false);
  outbox_.RunDue();
  ASSERT_EQ(am_.delivered.size(), 3u);
  j = nlohmann::json::parse(am_.delivered[2]);
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(clock_.Now()));
  // The same labels as when it fired: Alertmanager resolves that alert.
  EXPECT_EQ(j[0]["labels"]["severity"], "critical");
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

TEST_F(NotifierTest, MailShowsUnitsTheActionTakenAndTheLastPollError) {
  NotifierOptions o;
  std::vector<std::pair<std::string, WallTime>> asked;
  o.action_taken = [&](const std::string& target, WallTime since) {
    asked.emplace_back(target, since);
    return "restart sent at 2026-12-04T03:10:00Z: accepted";
  };
  o.last_error = [](const std::string& target) {
    return "timeout at 2026-12-04T03:10:05Z: " + target + ": no answer";
  };
  Make(false, nullptr, o);
  Transition t = Red("rig-1");
  t.value = 95.04220581054688;
  t.value_metric = "miner_temperature_celsius";
  n_->OnTransition(t, false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  const std::string& m = mail_.delivered[0];
  EXPECT_NE(m.find("value:      95.0 \u00b0C"), std::string::npos) << m;
  EXPECT_EQ(m.find("95.042"), std::string::npos) << m;
  EXPECT_NE(
      m.find("action:     restart sent at 2026-12-04T03:10:00Z: accepted"),
      std::string::npos);
  EXPECT_NE(m.find("last error: timeout at 2026-12-04T03:10:05Z: rig-1: no "
                   "answer"),
            std::string::npos);
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked[0].first, "rig-1");
}

TEST_F(NotifierTest, RemindersContinueOnScheduleAcrossAnAgentRestart) {
  Make(false, &kv_);
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(30));
  ASSERT_EQ(Subjects(), std::vector<std::string>{
                            "[rigwatch] FIRING: temp on rig-1 is RED"});
  Step(hours(3));
  Restart();
  // A restarted rules engine may judge the same level again: no news.
  n_->OnTransition(Red("rig-1"), false);
  Step(hours(1) - seconds(1));
  EXPECT_EQ(mail_.delivered.size(), 1u) << "not mailed again as new";
  Step(seconds(1));   // 4 h after the first mail
  Step(seconds(30));  // the reminder's group closes
  ASSERT_EQ(mail_.delivered.size(), 2u);
  EXPECT_EQ(SubjectOf(mail_.delivered[1]),
            "[rigwatch] REMINDER: temp on rig-1 is RED");
  Restart();
  n_->OnTransition(Green("rig-1"), false);
  Step(seconds(30));
  Step(hours(5));
  ASSERT_EQ(mail_.delivered.size(), 3u);
  EXPECT_EQ(SubjectOf(mail_.delivered[2]),
            "[rigwatch] RESOLVED: temp on rig-1 is GREEN");
  // Nothing left behind once resolved.
  Restart();
  Step(hours(5));
  EXPECT_EQ(mail_.delivered.size(), 3u);
  auto rows = kv_.List(Notifier::kNamespace);
  ASSERT_TRUE(rows.ok());
  for (const auto& [k, v] : *rows) EXPECT_EQ(k, "meta") << v;
  std::set<std::string> ids;
  for (const auto& msg : mail_.delivered) {
    const size_t at = msg.find("Message-ID: ");
    ASSERT_NE(at, std::string::npos);
    ids.insert(msg.substr(at, msg.find('\r', at) - at));
  }
  EXPECT_EQ(ids.size(), 3u) << "Message-IDs are unique across restarts";
}

TEST_F(NotifierTest, ADigestWaitingInItsGroupSurvivesARestart) {
  Make(false, &kv_);
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(10));
  Restart();
  Step(seconds(19));
  EXPECT_TRUE(mail_.delivered.empty());
  Step(seconds(1));  // 30 s after the change, as without the restart
  ASSERT_EQ(Subjects(), std::vector<std::string>{
                            "[rigwatch] FIRING: temp on rig-1 is RED"});
}

TEST_F(NotifierTest, ADigestQueuedJustBeforeACrashIsSentOnce) {
  Make(false, &kv_);
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(1));
  // The state as persisted before the digest went out.
  auto before = kv_.List(Notifier::kNamespace);
  ASSERT_TRUE(before.ok());
  Step(seconds(29));  // queued, delivered, state persisted
  ASSERT_EQ(mail_.delivered.size(), 1u);
  // The crash came between queueing and persisting: roll the state back.
  auto after = kv_.List(Notifier::kNamespace);
  ASSERT_TRUE(after.ok());
  for (const auto& [k, v] : *after) {
    ASSERT_TRUE(kv_.Delete(Notifier::kNamespace, k).ok());
  }
  for (const auto& [k, v] : *before) {
    ASSERT_TRUE(kv_.Put(Notifier::kNamespace, k, v).ok());
  }
  Restart();
  Step(seconds(30));
  EXPECT_EQ(mail_.delivered.size(), 1u) << "same Message-ID: dropped";
  // The next mail is a new one.
  n_->OnTransition(Green("rig-1"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 2u);
  EXPECT_EQ(SubjectOf(mail_.delivered[1]),
            "[rigwatch] RESOLVED: temp on rig-1 is GREEN");
}

TEST_F(NotifierTest, AlertmanagerIsToldAtOnceAfterARestartAndResolvedOnClear) {
  Make(/*alertmanager=*/true, &kv_);
  Transition t = Red("rig-1");
  t.labels = {{"site", "barn"}};
  t.value_metric = "miner_temperature_celsius";
  n_->OnTransition(t, false);
  outbox_.RunDue();
  ASSERT_EQ(am_.delivered.size(), 1u);
  Step(seconds(20));
  Restart(/*alertmanager=*/true);
  outbox_.RunDue();  // no tick, no time passed: pushed by Load
  ASSERT_EQ(am_.delivered.size(), 2u);
  auto j = nlohmann::json::parse(am_.delivered[1]);
  EXPECT_EQ(j[0]["labels"]["alertname"], "temp");
  EXPECT_EQ(j[0]["labels"]["site"], "barn");
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(clock_.Now() + minutes(4)));
  EXPECT_NE(j[0]["annotations"]["description"].get<std::string>().find(
                "81.5 \u00b0C"),
            std::string::npos);
  n_->OnTransition(Green("rig-1"), false);
  ASSERT_TRUE(n_->Persist().ok());  // as after every rules round
  outbox_.RunDue();
  ASSERT_EQ(am_.delivered.size(), 3u);
  j = nlohmann::json::parse(am_.delivered[2]);
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(clock_.Now()));
  Restart(/*alertmanager=*/true);
  Step(minutes(10));
  EXPECT_EQ(am_.delivered.size(), 3u);
}

TEST_F(NotifierTest, AnAlertThatEndedJustBeforeACrashIsResolvedAfterIt) {
  Make(/*alertmanager=*/true, &kv_);
  n_->OnTransition(Red("rig-1"), false);
  n_->OnTransition(Red("rig-2"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  // The rules persisted rig-1's green, the agent died before the notifier
  // persisted it.
  n_->OnTransition(Green("rig-1"), false);
  Restart(/*alertmanager=*/true);
  outbox_.RunDue();
  const size_t pushes = am_.delivered.size();
  n_->Reconcile({{"temp", "rig-2"}});  // what the rules engine holds red
  Step(seconds(30));
  ASSERT_EQ(Subjects(),
            (std::vector<std::string>{
                "[rigwatch] 2 alerts: 2 firing, 0 resolved, 0 still red",
                "[rigwatch] RESOLVED: temp on rig-1 is GREEN"}));
  ASSERT_EQ(am_.delivered.size(), pushes + 1);
  auto j = nlohmann::json::parse(am_.delivered.back());
  EXPECT_EQ(j[0]["labels"]["miner"], "rig-1");
  EXPECT_EQ(j[0]["endsAt"], FormatRfc3339(clock_.Now() - seconds(30)));
}

TEST_F(NotifierTest, ARedTheNotifierNeverRecordedIsNewAfterARestart) {
  Make(/*alertmanager=*/false, &kv_);
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(30));
  ASSERT_EQ(mail_.delivered.size(), 1u);
  Restart(/*alertmanager=*/false);
  // The rules hold both red; rig-2's red never reached the notifier.
  Transition muted = Red("rig-3");
  muted.muted = true;
  const std::vector<Transition> fresh =
      n_->Unrecorded({Red("rig-1"), Red("rig-2"), Red("rig-2"), muted});
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].target, "rig-2");
  EXPECT_EQ(fresh[0].from, Level::kGreen);
}

TEST_F(NotifierTest, TheFleetNoticeIsRecordedAcrossARestartAndMailedOnce) {
  Make(/*alertmanager=*/false, &kv_);
  Notice down;
  down.kind = "fleet_unreachable";
  down.target = "fleet";
  down.subject = "fleet unreachable";
  down.id = "fleet.1.down";
  n_->OnNotice(down);
  EXPECT_TRUE(n_->FleetRecordedDown());
  ASSERT_TRUE(n_->Persist().ok());
  Restart(/*alertmanager=*/false);
  EXPECT_TRUE(n_->FleetRecordedDown());
  n_->OnNotice(down);  // the same notice again: the same Message-ID
  Step(seconds(1));
  EXPECT_EQ(mail_.delivered.size(), 1u);
  Notice up = down;
  up.kind = "fleet_reachable";
  up.id = "fleet.1.up";
  n_->OnNotice(up);
  EXPECT_FALSE(n_->FleetRecordedDown());
}

TEST_F(NotifierTest, UndecodableStateIsDroppedNotFatal) {
  ASSERT_TRUE(
      kv_.Put(Notifier::kNamespace, "alert\x1ftemp\x1frig-9", "{not json")
          .ok());
  ASSERT_TRUE(
      kv_.Put(Notifier::kNamespace, "alert\x1fx\x1fy", R"({"v":1,"rule":3})")
          .ok());
  Make(false, &kv_);
  auto rows = kv_.List(Notifier::kNamespace);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].first, "meta");
  n_->OnTransition(Red("rig-1"), false);
  Step(seconds(30));
  EXPECT_EQ(mail_.delivered.size(), 1u);
}

TEST_F(NotifierTest, AFailedPersistIsRetried) {
  Make(false, &kv_);
  n_->OnTransition(Red("rig-1"), false);
  kv_.FailNextWrites(1);
  EXPECT_FALSE(n_->Persist().ok());
  EXPECT_TRUE(n_->Persist().ok());
  Restart();
  Step(seconds(30));
  ASSERT_EQ(Subjects(), std::vector<std::string>{
                            "[rigwatch] FIRING: temp on rig-1 is RED"});
}

}  // namespace
}  // namespace rigwatch::actions
