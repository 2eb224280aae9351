#include "agent/actions/restart.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_clock.h"
#include "tests/support/files.h"
#include "tests/unit/actions/test_util.h"

namespace rigwatch::actions {
namespace {

using std::chrono::minutes;
using testing::MakeTransition;
using testing::RecordingRestarter;

class RestartTest : public ::testing::Test {
 protected:
  std::unique_ptr<Restarter> Make(std::vector<HostService> services = {}) {
    RestartOptions o;  // defaults: 10m cooldown, 3 attempts per 1h
    auto r = std::make_unique<Restarter>(
        o, std::move(services), &clock_, &kv_, &miner_,
        [this](const std::string& t, Duration d) { grace_.emplace_back(t, d); },
        [this](const Notice& n) { notices_.push_back(n); }, &counters_);
    auto rec = r->Recover();
    EXPECT_TRUE(rec.ok());
    recovered_ = rec.ok() ? *rec : -1;
    return r;
  }
  Transition Red(const std::string& target = "rig-1") {
    return MakeTransition("temp_high", target, Level::kGreen, Level::kRed,
                          {"notify", "restart"});
  }

  FakeClock clock_;
  MemoryKv kv_;
  RecordingRestarter miner_;
  CounterFamily2 counters_{"rigwatch_restarts_total", "miner", "result"};
  std::vector<std::pair<std::string, Duration>> grace_;
  std::vector<Notice> notices_;
  int recovered_ = 0;
};

TEST_F(RestartTest, CooldownBlocksSecondRestart) {
  auto r = Make();
  EXPECT_EQ(r->Request(Red(), false), "ok");
  clock_.Advance(minutes(9));
  EXPECT_EQ(r->Request(Red(), false), "cooldown");
  EXPECT_EQ(miner_.calls.size(), 1u);
  clock_.Advance(minutes(2));
  EXPECT_EQ(r->Request(Red(), false), "ok");
  EXPECT_EQ(miner_.calls.size(), 2u);
  EXPECT_EQ(counters_.Get("rig-1", "ok"), 2);
  EXPECT_EQ(counters_.Get("rig-1", "cooldown"), 1);
}

TEST_F(RestartTest, CooldownIsPerTarget) {
  auto r = Make();
  EXPECT_EQ(r->Request(Red("rig-1"), false), "ok");
  EXPECT_EQ(r->Request(Red("rig-2"), false), "ok");
  EXPECT_EQ(miner_.calls, (std::vector<std::string>{"rig-1", "rig-2"}));
}

TEST_F(RestartTest, MaxAttemptsWithinWindowThenGivesUpAndNotifiesOnce) {
  auto r = Make();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r->Request(Red(), false), "ok") << i;
    clock_.Advance(minutes(11));
  }
  // 33 minutes after the first: three attempts in the hour.
  EXPECT_EQ(r->Request(Red(), false), "limit");
  clock_.Advance(minutes(11));
  EXPECT_EQ(r->Request(Red(), false), "limit");
  EXPECT_EQ(miner_.calls.size(), 3u);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].kind, "restart_limit");
  EXPECT_EQ(notices_[0].target, "rig-1");
  // At 61m the first attempt (t=0) has left the window: one more allowed.
  clock_.Advance(minutes(17));
  EXPECT_EQ(r->Request(Red(), false), "ok");
  EXPECT_EQ(miner_.calls.size(), 4u);
}

TEST_F(RestartTest, LimitNoticeSurvivesAgentRestartAndResetsOnGreen) {
  {
    auto r = Make();
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(r->Request(Red(), false), "ok");
      clock_.Advance(minutes(11));
    }
    EXPECT_EQ(r->Request(Red(), false), "limit");
  }
  ASSERT_EQ(notices_.size(), 1u);
  auto r = Make();  // the agent restarted
  EXPECT_EQ(r->Request(Red(), false), "limit");
  EXPECT_EQ(notices_.size(), 1u);
  r->OnGreen("rig-1");
  EXPECT_EQ(r->Request(Red(), false), "limit");
  EXPECT_EQ(notices_.size(), 2u);
}

TEST_F(RestartTest, JournalIsWrittenBeforeTheRestartIsSent) {
  auto r = Make();
  std::vector<std::string> seen;
  miner_.on_restart = [&](const std::string&) {
    auto rows = kv_.List(RestartJournal::kNamespace);
    ASSERT_TRUE(rows.ok());
    for (const auto& [k, v] : *rows) seen.push_back(v);
  };
  EXPECT_EQ(r->Request(Red(), false), "ok");
  EXPECT_EQ(seen, std::vector<std::string>{"pending"});
  auto rows = kv_.List(RestartJournal::kNamespace);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].second, "ok");
}

TEST_F(RestartTest, JournalWriteFailureMeansNoRestart) {
  auto r = Make();
  kv_.FailNextWrites(1);
  EXPECT_EQ(r->Request(Red(), false), "journal_error");
  EXPECT_TRUE(miner_.calls.empty());
}

TEST_F(RestartTest, CrashBetweenJournalAndSendIsNotResent) {
  // What a crashed agent leaves: a pending entry, the restart never sent.
  RestartJournal journal(&kv_);
  ASSERT_TRUE(journal.Begin("rig-1", clock_.Now()).ok());
  clock_.Advance(minutes(1));

  auto r = Make();
  EXPECT_EQ(recovered_, 1);
  EXPECT_EQ(counters_.Get("rig-1", "unknown"), 1);
  auto rows = kv_.List(RestartJournal::kNamespace);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].second, "unknown");
  // The rule is still red after the restart: still no second restart.
  EXPECT_EQ(r->Request(Red(), false), "cooldown");
  EXPECT_TRUE(miner_.calls.empty());
  // A second start does not count it again.
  auto r2 = Make();
  EXPECT_EQ(recovered_, 0);
  // And it counts against the window: two more, then the limit.
  clock_.Advance(minutes(10));
  EXPECT_EQ(r2->Request(Red(), false), "ok");
  clock_.Advance(minutes(11));
  EXPECT_EQ(r2->Request(Red(), false), "ok");
  clock_.Advance(minutes(11));
  EXPECT_EQ(r2->Request(Red(), false), "limit");
}

TEST_F(RestartTest, ManualRestartObeysCooldownAndLimitUnlessForced) {
  auto r = Make();
  Restarter::Outcome first = r->RequestManual("rig-1", false, false);
  EXPECT_EQ(first.result, "ok");
  EXPECT_EQ(first.reason, "");
  clock_.Advance(minutes(2));
  // A rule's restart and a manual one share the cooldown.
  EXPECT_EQ(r->Request(Red(), false), "cooldown");
  Restarter::Outcome again = r->RequestManual("rig-1", false, false);
  EXPECT_EQ(again.result, "cooldown");
  EXPECT_EQ(again.reason, "rig-1 was restarted 2m ago; the cooldown is 10m");
  EXPECT_EQ(miner_.calls.size(), 1u);
  Restarter::Outcome forced = r->RequestManual("rig-1", true, false);
  EXPECT_EQ(forced.result, "ok");
  EXPECT_EQ(miner_.calls.size(), 2u);
  // Journaled as forced, and read back as such after an agent restart.
  auto rows = kv_.List(RestartJournal::kNamespace);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].second, "ok");
  EXPECT_EQ((*rows)[1].second, "ok forced");
  auto entries = RestartJournal(&kv_).Load();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_FALSE((*entries)[0].forced);
  EXPECT_TRUE((*entries)[1].forced);
  EXPECT_EQ((*entries)[1].result, "ok");
  // A forced restart still counts: past the limit only --force goes on.
  clock_.Advance(minutes(11));
  EXPECT_EQ(r->RequestManual("rig-1", true, false).result, "ok");
  clock_.Advance(minutes(11));
  Restarter::Outcome limit = r->RequestManual("rig-1", false, false);
  EXPECT_EQ(limit.result, "limit");
  EXPECT_NE(limit.reason.find("3 times within the restart window"),
            std::string::npos)
      << limit.reason;
  EXPECT_EQ(r->RequestManual("rig-1", true, false).result, "ok");
  EXPECT_EQ(miner_.calls.size(), 4u);
}

TEST_F(RestartTest, ManualRestartHonoursTheFleetGuardEvenForced) {
  auto r = Make();
  Restarter::Outcome o = r->RequestManual("rig-1", true, true);
  EXPECT_EQ(o.result, "suppressed");
  EXPECT_NE(o.reason.find("fleet guard"), std::string::npos);
  EXPECT_TRUE(miner_.calls.empty());
}

TEST_F(RestartTest, ForcedPendingEntryRecoversAsUnknownForced) {
  RestartJournal journal(&kv_);
  ASSERT_TRUE(journal.Begin("rig-1", clock_.Now(), /*forced=*/true).ok());
  auto r = Make();
  EXPECT_EQ(recovered_, 1);
  auto rows = kv_.List(RestartJournal::kNamespace);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].second, "unknown forced");
}

TEST_F(RestartTest, FleetDownSuppressesEverything) {
  auto r = Make();
  EXPECT_EQ(r->Request(Red(), true), "suppressed");
  EXPECT_TRUE(miner_.calls.empty());
  EXPECT_TRUE(grace_.empty());
  // A suppressed restart is not an attempt: no cooldown afterwards.
  EXPECT_EQ(r->Request(Red(), false), "ok");
}

TEST_F(RestartTest, GraceAfterRestart) {
  auto r = Make();
  EXPECT_EQ(r->Request(Red(), false), "ok");
  ASSERT_EQ(grace_.size(), 1u);
  EXPECT_EQ(grace_[0].first, "rig-1");
  EXPECT_EQ(grace_[0].second, Duration(minutes(5)));
}

TEST_F(RestartTest, UnsupportedRestartIsNamedWithTheMinersReason) {
  auto r = Make();
  const WallTime since = clock_.Now();
  miner_.result = FailedPreconditionError("restart: Code 14");
  EXPECT_EQ(r->Request(Red(), false), "unsupported");
  EXPECT_EQ(r->Describe("rig-1", since),
            "restart not supported by this firmware: failed_precondition: "
            "restart: Code 14");
}

TEST_F(RestartTest, InterruptedRestartDoesNotCountAgainstTheLimits) {
  auto r = Make();
  miner_.on_restart = [&r](const std::string&) { r->Interrupt(); };
  miner_.result = UnavailableError("interrupted");
  EXPECT_EQ(r->Request(Red(), false), "interrupted");
  EXPECT_EQ(counters_.Get("rig-1", "interrupted"), 1);
  EXPECT_TRUE(grace_.empty());
  auto j = RestartJournal(&kv_).Load();
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->size(), 1u);
  EXPECT_EQ((*j)[0].result, "interrupted");
  // Once stopped, nothing more is sent.
  EXPECT_EQ(r->Request(Red(), false), "interrupted");
  EXPECT_EQ(miner_.calls.size(), 1u);

  // The next start: no cooldown from the interrupted attempt.
  miner_.on_restart = nullptr;
  miner_.result = Status::Ok();
  auto again = Make();
  EXPECT_EQ(again->Request(Red(), false), "ok");
}

TEST_F(RestartTest, MinerErrorsAreCounted) {
  auto r = Make();
  miner_.result = DeadlineExceededError("no reply");
  EXPECT_EQ(r->Request(Red(), false), "timeout");
  clock_.Advance(minutes(11));
  miner_.result = UnavailableError("refused");
  EXPECT_EQ(r->Request(Red(), false), "failed");
  EXPECT_EQ(counters_.Get("rig-1", "timeout"), 1);
  EXPECT_EQ(counters_.Get("rig-1", "failed"), 1);
  clock_.Advance(minutes(11));
  miner_.result = PermissionDeniedError("HTTP 401: wrong password");
  EXPECT_EQ(r->Request(Red(), false), "denied");
  clock_.Advance(minutes(61));
  miner_.result = FailedPreconditionError("no restart command");
  EXPECT_EQ(r->Request(Red(), false), "unsupported");
  EXPECT_EQ(counters_.Get("rig-1", "denied"), 1);
  EXPECT_EQ(counters_.Get("rig-1", "unsupported"), 1);
}

TEST_F(RestartTest, HostServiceRunsArgvWithoutShell) {
  test_support::TempDir dir("rw_restart_");
  const std::string marker = dir.Sub("restarted");
  HostService svc;
  svc.name = "cgminer";
  svc.restart = {"touch", marker};  // run as argv
  svc.start_timeout = std::chrono::seconds(2);
  // Down until the restart command made the marker.
  svc.probe = [marker](std::string* why) {
    *why = "no marker";
    return access(marker.c_str(), F_OK) == 0;
  };
  HostService healthy{"web", {"touch", marker + ".web"}};
  healthy.probe = [](std::string*) { return true; };
  auto r = Make({svc, healthy});
  Transition t = Red("host");
  t.labels = {{"service", "cgminer"}};
  EXPECT_EQ(r->Request(t, false), "ok");
  EXPECT_EQ(access(marker.c_str(), F_OK), 0);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].kind, "service_restarted");
  EXPECT_EQ(notices_[0].subject, "service cgminer restarted and came back");
  EXPECT_NE(notices_[0].body.find("Its check said: no marker"),
            std::string::npos)
      << notices_[0].body;
  t.labels = {{"service", "web"}};
  EXPECT_EQ(r->Request(t, false), "not_needed");
  EXPECT_NE(access((marker + ".web").c_str(), F_OK), 0);
  t.labels = {{"service", "nope"}};
  EXPECT_EQ(r->Request(t, false), "no_such_service");
  EXPECT_EQ(counters_.Get("host/cgminer", "ok"), 1);
}

TEST_F(RestartTest, ServiceOfItsOwnTargetNotBackWithinStartTimeout) {
  HostService svc{"worker", {"true"}};
  svc.start_timeout = std::chrono::milliseconds(300);
  svc.probe = [](std::string* why) {
    *why = "pidfile missing";
    return false;
  };
  auto r = Make({svc});
  // The service's own series: target = service name.
  Transition t = Red("worker");
  t.labels = {{"service", "worker"}};
  EXPECT_EQ(r->Request(t, false), "not_back");
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_EQ(notices_[0].subject,
            "service worker restarted but did not come back");
  EXPECT_NE(notices_[0].body.find("within 300ms: pidfile missing"),
            std::string::npos)
      << notices_[0].body;
  // A service target not configured for restarts.
  Transition other = Red("logger");
  other.labels = {{"service", "logger"}};
  EXPECT_EQ(r->Request(other, false), "no_such_service");
}

TEST_F(RestartTest, ServiceLimitHoldsUntilResetNotUntilWindowOrGreen) {
  HostService svc{"worker", {"true"}};
  svc.probe = [](std::string*) { return false; };
  svc.start_timeout = std::chrono::milliseconds(1);
  auto r = Make({svc});
  Transition t = Red("worker");
  t.labels = {{"service", "worker"}};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r->Request(t, false), "not_back") << i;
    clock_.Advance(minutes(11));
  }
  EXPECT_EQ(r->Request(t, false), "limit");
  EXPECT_TRUE(r->GaveUp("worker"));
  // Neither green nor an emptied window ends it.
  r->OnGreen("worker");
  clock_.Advance(std::chrono::hours(2));
  EXPECT_EQ(r->Request(t, false), "limit");
  int limit_mails = 0;
  for (const Notice& n : notices_) {
    if (n.kind == "restart_limit") {
      ++limit_mails;
      EXPECT_NE(n.body.find("rigwatch service reset worker"),
                std::string::npos);
    }
  }
  EXPECT_EQ(limit_mails, 1);
  // It survives an agent restart.
  r = Make({svc});
  EXPECT_TRUE(r->GaveUp("worker"));
  EXPECT_EQ(r->Request(t, false), "limit");
  EXPECT_EQ(r->Reset("nope").code(), StatusCode::kNotFound);
  ASSERT_TRUE(r->Reset("worker").ok());
  EXPECT_FALSE(r->GaveUp("worker"));
  EXPECT_EQ(r->Request(t, false), "not_back");
  // Reset cleared the journal: a fresh agent sees one attempt, not four.
  r = Make({svc});
  clock_.Advance(minutes(11));
  EXPECT_EQ(r->Request(t, false), "not_back");
  clock_.Advance(minutes(11));
  EXPECT_EQ(r->Request(t, false), "not_back");
  clock_.Advance(minutes(11));
  EXPECT_EQ(r->Request(t, false), "limit");
}

}  // namespace
}  // namespace rigwatch::actions
