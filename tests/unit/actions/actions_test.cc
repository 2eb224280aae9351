#include "agent/actions/actions.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_clock.h"
#include "tests/unit/actions/test_util.h"

namespace rigwatch::actions {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::MakeTransition;
using testing::RecordingRestarter;
using testing::SubjectOf;

// The facade with its real outbox; mail goes to a port where nothing
// listens, so every queued mail stays in the DurableKv where the test can
// read it.
class ActionsTest : public ::testing::Test {
 protected:
  void SetUp() override { actions_ = MakeActions(); }
  // An Actions over the fixture's store: a second one is the agent started
  // again. `active`: what the rules engine holds yellow or red at start.
  std::unique_ptr<Actions> MakeActions(
      std::function<std::vector<Transition>()> active = {}) {
    ActionsOptions o;
    SmtpOptions smtp;
    smtp.url = "smtp://127.0.0.1:1";
    smtp.from = "rigwatch@example.org";
    smtp.to = {"ops@example.org"};
    smtp.helo_host = "testhost";
    smtp.timeout = seconds(5);
    o.smtp = smtp;
    o.active_alerts = std::move(active);
    auto a = Actions::Create(
        o, &clock_, &kv_, &miner_,
        [this](const std::string& t, Duration) { grace_.push_back(t); });
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(*a) : nullptr;
  }
  // Subjects of the mails waiting in the outbox.
  std::vector<std::string> QueuedMailSubjects() {
    std::vector<std::string> out;
    auto rows = kv_.List(Outbox::kNamespace);
    EXPECT_TRUE(rows.ok());
    for (const auto& [k, v] : *rows) {
      if (v.find("\nsmtp\n") != std::string::npos) {
        out.push_back(SubjectOf(v));
      }
    }
    return out;
  }
  // "rig-FIRST" .. "rig-LAST".
  static std::vector<std::string> Rigs(int first, int last) {
    std::vector<std::string> out;
    for (int i = first; i <= last; ++i)
      out.push_back("rig-" + std::to_string(i));
    return out;
  }
  Transition Red(int i) {
    return MakeTransition("temp", "rig-" + std::to_string(i), Level::kGreen,
                          Level::kRed, {"notify", "restart"});
  }

  FakeClock clock_;
  MemoryKv kv_;
  RecordingRestarter miner_;
  std::vector<std::string> grace_;
  std::unique_ptr<Actions> actions_;
};

TEST_F(ActionsTest, RedTransitionRestartsAndMails) {
  actions_->OnRound(10, Rigs(1, 1));
  actions_->OnTransition(Red(1));
  actions_->RunOnce();
  EXPECT_EQ(miner_.calls, std::vector<std::string>{"rig-1"});
  EXPECT_EQ(grace_, std::vector<std::string>{"rig-1"});
  clock_.Advance(seconds(30));
  actions_->RunOnce();
  EXPECT_EQ(
      QueuedMailSubjects(),
      std::vector<std::string>{"[rigwatch] FIRING: temp on rig-1 is RED"});
  EXPECT_EQ(actions_->outbox_pending(), 1u);
  EXPECT_GE(actions_->notifications().Get("smtp", "failed"), 1);
}

// A service that does not come back is tried again after each cooldown:
// three attempts, one limit mail, then nothing more.
TEST_F(ActionsTest, ServiceNotBackIsRetriedUntilTheLimit) {
  ActionsOptions o;
  o.restart.cooldown = seconds(10);
  HostService svc{"worker", {"true"}};
  svc.start_timeout = std::chrono::milliseconds(1);
  int probes = 0;  // the probe runs before and after each restart
  svc.probe = [&probes](std::string* why) {
    ++probes;
    *why = "pidfile missing";
    return false;
  };
  o.services = {svc};
  auto a = Actions::Create(o, &clock_, &kv_, &miner_,
                           [](const std::string&, Duration) {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  Transition t = MakeTransition("service_down", "worker", Level::kGreen,
                                Level::kRed, {"notify", "restart"});
  t.labels = {{"service", "worker"}};
  (*a)->OnRound(1, {});
  (*a)->OnTransition(t);
  (*a)->RunOnce();
  EXPECT_EQ((*a)->restarts().Get("host/worker", "not_back"), 1);
  (*a)->RunOnce();  // not before the cooldown
  EXPECT_EQ((*a)->restarts().Get("host/worker", "not_back"), 1);
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(seconds(11));
    (*a)->RunOnce();
  }
  EXPECT_EQ((*a)->restarts().Get("host/worker", "not_back"), 3);
  EXPECT_EQ((*a)->restarts().Get("host/worker", "limit"), 1);
  EXPECT_GE(probes, 6);  // before and after each of the three
  EXPECT_TRUE((*a)->ServiceGaveUp("worker"));
  // A newer judgement (green) ends the retries of a service that came up.
  ASSERT_TRUE((*a)->ResetService("worker").ok());
  (*a)->OnTransition(t);
  (*a)->RunOnce();
  EXPECT_EQ((*a)->restarts().Get("host/worker", "not_back"), 4);
  Transition green = t;
  green.from = Level::kRed;
  green.to = Level::kGreen;
  green.actions = {};
  (*a)->OnTransition(green);
  clock_.Advance(seconds(11));
  (*a)->RunOnce();
  EXPECT_EQ((*a)->restarts().Get("host/worker", "not_back"), 4);
}

// A miner rule can turn red faster than the guard counts its rounds (slow
// rounds on a loaded host): a restart asked for while the guard is pending
// waits for its decision.
TEST_F(ActionsTest, RestartAskedWhileTheGuardIsPendingWaitsForItsDecision) {
  actions_->OnRound(10, Rigs(1, 5));  // one bad round: pending
  EXPECT_FALSE(actions_->fleet_down());
  for (int i = 1; i <= 5; ++i) actions_->OnTransition(Red(i));
  actions_->RunOnce();
  EXPECT_TRUE(miner_.calls.empty()) << "restarted before the guard decided";
  clock_.Advance(seconds(30));
  actions_->RunOnce();
  EXPECT_TRUE(miner_.calls.empty()) << "the group went out while pending";
  EXPECT_TRUE(QueuedMailSubjects().empty());
  actions_->OnRound(10, Rigs(1, 5));  // the second: tripped
  EXPECT_TRUE(actions_->fleet_down());
  clock_.Advance(seconds(30));
  actions_->RunOnce();
  EXPECT_TRUE(miner_.calls.empty());
  EXPECT_EQ(QueuedMailSubjects(),
            std::vector<std::string>{
                "[rigwatch] fleet unreachable: 5 of 10 targets failed"});
}

// Bad rounds that end before the guard trips were no fleet outage: what was
// held goes ahead, group_wait later.
TEST_F(ActionsTest, RestartHeldWhileThePendingGuardClearsGoesAhead) {
  actions_->OnRound(10, Rigs(1, 5));  // pending
  actions_->OnTransition(Red(1));
  actions_->RunOnce();
  EXPECT_TRUE(miner_.calls.empty());
  actions_->OnRound(10, Rigs(1, 1));  // a good round: not pending any more
  actions_->RunOnce();
  clock_.Advance(seconds(31));
  actions_->RunOnce();
  EXPECT_EQ(miner_.calls, std::vector<std::string>{"rig-1"});
  clock_.Advance(seconds(31));
  actions_->RunOnce();
  EXPECT_EQ(
      QueuedMailSubjects(),
      std::vector<std::string>{"[rigwatch] FIRING: temp on rig-1 is RED"});
}

TEST_F(ActionsTest, FleetGuardHalfFailingMeansNoRestartsAndOneNotification) {
  actions_->OnRound(10, Rigs(1, 5));  // 50% > 30%, 5 >= 3: one bad round
  EXPECT_FALSE(actions_->fleet_down());
  actions_->OnRound(10, Rigs(1, 5));  // the second: tripped
  EXPECT_TRUE(actions_->fleet_down());
  // The rules now see them down and turn them red: that does not excuse
  // them while the episode lasts.
  for (int i = 1; i <= 5; ++i) actions_->OnTransition(Red(i));
  for (int i = 0; i < 10; ++i) {
    actions_->OnRound(10, Rigs(1, 5));
    EXPECT_TRUE(actions_->fleet_down());
    clock_.Advance(seconds(10));
    actions_->RunOnce();
  }
  EXPECT_TRUE(miner_.calls.empty());
  EXPECT_EQ(actions_->restarts().Get("rig-3", "suppressed"), 1);
  auto subjects = QueuedMailSubjects();
  ASSERT_EQ(subjects.size(), 1u);
  EXPECT_EQ(subjects[0],
            "[rigwatch] fleet unreachable: 5 of 10 targets failed");

  // Recovery: one notice; rig-1..rig-4 turn green, rig-5 stays red and is
  // restarted once the rules had group_wait to look again.
  actions_->OnRound(10, {});
  EXPECT_FALSE(actions_->fleet_down());
  for (int i = 1; i <= 4; ++i) {
    actions_->OnTransition(MakeTransition("temp", "rig-" + std::to_string(i),
                                          Level::kRed, Level::kGreen));
  }
  actions_->RunOnce();
  EXPECT_TRUE(miner_.calls.empty());
  clock_.Advance(seconds(30));
  actions_->RunOnce();
  EXPECT_EQ(miner_.calls, std::vector<std::string>{"rig-5"});
  subjects = QueuedMailSubjects();
  ASSERT_EQ(subjects.size(), 3u);
  EXPECT_NE(std::find(subjects.begin(), subjects.end(),
                      "[rigwatch] fleet reachable again: 0 of 10 targets "
                      "failing"),
            subjects.end());
  EXPECT_NE(std::find(subjects.begin(), subjects.end(),
                      "[rigwatch] FIRING: temp on rig-5 is RED"),
            subjects.end());
}

TEST_F(ActionsTest, AFleetNoticeTheAgentDiedBeforeSendingGoesOutAtStart) {
  // The guard persisted its trip; the agent died before the notice.
  {
    FleetGuard g({}, nullptr, &kv_);
    ASSERT_TRUE(g.Load().ok());
    g.OnRound(10, Rigs(1, 5));
    g.OnRound(10, Rigs(1, 5));
    ASSERT_TRUE(g.tripped());
  }
  actions_->Stop();
  actions_ = MakeActions();
  ASSERT_NE(actions_, nullptr);
  EXPECT_TRUE(actions_->fleet_down());
  EXPECT_EQ(QueuedMailSubjects(),
            std::vector<std::string>{
                "[rigwatch] fleet unreachable: 5 of 10 targets failed"});
  // Started again: said once already.
  actions_->Stop();
  actions_ = MakeActions();
  EXPECT_TRUE(actions_->fleet_down());
  EXPECT_EQ(QueuedMailSubjects().size(), 1u);
  // The fleet returns: one recovery notice.
  actions_->OnRound(10, {});
  actions_->Stop();
  actions_ = MakeActions();
  EXPECT_FALSE(actions_->fleet_down());
  EXPECT_EQ(QueuedMailSubjects().size(), 2u);
}

TEST_F(ActionsTest, ARedTheNotifierNeverSawIsMailedAndRestartedAtStart) {
  actions_->Stop();
  actions_ = MakeActions([this] { return std::vector<Transition>{Red(1)}; });
  actions_->RunOnce();
  EXPECT_EQ(miner_.calls, std::vector<std::string>{"rig-1"});
  clock_.Advance(seconds(30));
  actions_->RunOnce();
  EXPECT_EQ(
      QueuedMailSubjects(),
      std::vector<std::string>{"[rigwatch] FIRING: temp on rig-1 is RED"});
  // Recorded now: the next start finds nothing new.
  actions_->Stop();
  actions_ = MakeActions([this] { return std::vector<Transition>{Red(1)}; });
  clock_.Advance(seconds(30));
  actions_->RunOnce();
  EXPECT_EQ(QueuedMailSubjects().size(), 1u);
  EXPECT_EQ(miner_.calls.size(), 1u);
}

TEST_F(ActionsTest, GuardThresholdIsStrictlyMoreThanTheFraction) {
  for (int i = 0; i < 5; ++i) {
    actions_->OnRound(10, Rigs(1, 3));  // exactly 30%: not tripped
    EXPECT_FALSE(actions_->fleet_down());
  }
  // rig-1..3 have been down for 5 rounds (more than guard_for + 2): four
  // NEW failures are needed.
  actions_->OnRound(10, Rigs(1, 6));
  actions_->OnRound(10, Rigs(1, 6));
  EXPECT_FALSE(actions_->fleet_down());
  actions_->OnRound(10, Rigs(1, 3));
  actions_->OnRound(10, Rigs(1, 7));
  actions_->OnRound(10, Rigs(1, 7));
  EXPECT_TRUE(actions_->fleet_down());
  actions_->OnRound(0, {});  // an empty round changes nothing
  EXPECT_TRUE(actions_->fleet_down());
}

TEST_F(ActionsTest, RestartedTargetsDoNotTripTheGuard) {
  // Three miners overheat at once and are restarted: their reboot is
  // rigwatch's own doing, not a fleet outage.
  for (int i = 1; i <= 3; ++i) actions_->OnTransition(Red(i));
  actions_->RunOnce();
  ASSERT_EQ(miner_.calls.size(), 3u);
  for (int i = 1; i <= 3; ++i) {
    actions_->OnTransition(MakeTransition("temp", "rig-" + std::to_string(i),
                                          Level::kRed, Level::kGreen));
  }
  for (int r = 0; r < 5; ++r) actions_->OnRound(4, Rigs(1, 3));
  EXPECT_FALSE(actions_->fleet_down());
  // Once the grace window (5m) is over, the same failures are news.
  clock_.Advance(minutes(6));
  actions_->OnRound(4, {});
  actions_->OnRound(4, Rigs(1, 3));
  actions_->OnRound(4, Rigs(1, 3));
  EXPECT_TRUE(actions_->fleet_down());
}

TEST_F(ActionsTest, SelfMetrics) {
  actions_->OnTransition(Red(1));
  actions_->RunOnce();
  Samples s = actions_->SelfMetrics();
  auto find = [&](const std::string& name, const Labels& labels) {
    for (const auto& x : s) {
      if (x.name == name && x.labels == labels) return x.value;
    }
    return -1.0;
  };
  EXPECT_EQ(
      find("rigwatch_restarts_total", {{"miner", "rig-1"}, {"result", "ok"}}),
      1);
  EXPECT_EQ(find("rigwatch_outbox_pending", {}), 0);
  EXPECT_EQ(find("rigwatch_actions_dropped_total", {{"queue", "restart"}}), 0);
  for (const auto& x : s) {
    bool described = false;
    for (const auto& d : kActionsMetrics) described |= d.name == x.name;
    EXPECT_TRUE(described) << x.name;
  }
}

TEST_F(ActionsTest, InvalidOptionsRejected) {
  ActionsOptions o;
  o.guard.fraction = 0;
  EXPECT_FALSE(Actions::Create(o, &clock_, &kv_, nullptr, nullptr).ok());
  o = ActionsOptions();
  o.guard.min_failed = 0;
  EXPECT_FALSE(Actions::Create(o, &clock_, &kv_, nullptr, nullptr).ok());
  o = ActionsOptions();
  o.guard.rounds = 0;
  EXPECT_FALSE(Actions::Create(o, &clock_, &kv_, nullptr, nullptr).ok());
  o = ActionsOptions();
  o.smtp = SmtpOptions();  // no from/to
  EXPECT_FALSE(Actions::Create(o, &clock_, &kv_, nullptr, nullptr).ok());
}

}  // namespace
}  // namespace rigwatch::actions
