// Integration: alerts pushed through the outbox reach a real Alertmanager,
// also after it was down, and resolve when the target is green.
#include "agent/actions/alertmanager.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "agent/actions/notifier.h"
#include "agent/actions/outbox.h"
#include "agent/actions/subprocess.h"
#include "tests/fakes/fake_clock.h"
#include "tests/support/child_process.h"
#include "tests/support/files.h"
#include "tests/support/require.h"
#include "tests/support/wait.h"

namespace rigwatch::actions {
namespace {

using std::chrono::seconds;
using test_support::ChildProcess;
using test_support::FreePort;
using test_support::MakeTempDir;
using test_support::WaitFor;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET url; the body, or nullopt when the request failed or was not 200.
std::optional<std::string> HttpGet(const std::string& url) {
  CURL* c = curl_easy_init();
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK || code != 200) return std::nullopt;
  return body;
}

class AlertmanagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RIGWATCH_REQUIRE_TOOL(kAlertmanager);
    dir_ = MakeTempDir("rw_am_");
    ASSERT_FALSE(dir_.empty());
    port_ = FreePort();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    std::ofstream(dir_ + "/am.yml") << "route:\n"
                                       "  receiver: 'null'\n"
                                       "  group_wait: 1s\n"
                                       "receivers:\n"
                                       "  - name: 'null'\n";
    clock_.SetWall(SystemClock::Default()->Now());
    outbox_ =
        std::make_unique<Outbox>(OutboxOptions{}, &clock_, &kv_, &counters_);
    AlertmanagerOptions am;
    am.url = base_;
    am.timeout = seconds(5);
    channel_ = std::make_unique<AlertmanagerChannel>(am);
    outbox_->AddChannel(Notifier::kAmChannel, channel_.get());
    ASSERT_TRUE(outbox_->Load().ok());
    NotifierOptions n;
    n.mail = false;
    n.alertmanager = true;
    n.host = "testhost";
    n.external_url = "http://rig-pi:9842";
    notifier_ = std::make_unique<Notifier>(n, &clock_, outbox_.get());
  }
  void TearDown() override {
    am_.Stop();
    if (!dir_.empty()) {
      RunCommand({"rm", "-rf", dir_}, seconds(10)).status().IgnoreError("tmp");
    }
  }
  void StartAlertmanager() {
    ASSERT_TRUE(am_.Start(
        {kAlertmanager, "--config.file=" + dir_ + "/am.yml",
         "--web.listen-address=127.0.0.1:" + std::to_string(port_),
         "--cluster.listen-address=", "--storage.path=" + dir_ + "/data"},
        dir_ + "/am.log"));
    ASSERT_TRUE(
        WaitFor([&] { return HttpGet(base_ + "/api/v2/status").has_value(); },
                std::chrono::seconds(30)));
  }
  // The alert named `rule` for `miner` as Alertmanager lists it, if any.
  std::optional<nlohmann::json> Find(const std::string& rule,
                                     const std::string& miner) {
    auto body = HttpGet(base_ + "/api/v2/alerts");
    if (!body) return std::nullopt;
    auto list = nlohmann::json::parse(*body, nullptr, false);
    if (!list.is_array()) return std::nullopt;
    for (const auto& a : list) {
      if (a["labels"].value("alertname", "") == rule &&
          a["labels"].value("miner", "") == miner) {
        return a;
      }
    }
    return std::nullopt;
  }
  Transition Make(Level from, Level to, std::vector<std::string> actions) {
    Transition t;
    t.rule = "temp_high";
    t.target = "rig-1";
    t.labels = {{"site", "barn"}};
    t.from = from;
    t.to = to;
    t.value = 81.5;
    t.threshold = "> 75";
    t.severity = "critical";
    t.since = clock_.Now();
    t.actions = std::move(actions);
    return t;
  }

  std::string dir_;
  int port_ = 0;
  std::string base_;
  FakeClock clock_;
  MemoryKv kv_;
  CounterFamily2 counters_{"rigwatch_notifications_total", "channel", "result"};
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<AlertmanagerChannel> channel_;
  std::unique_ptr<Notifier> notifier_;
  ChildProcess am_;
};

TEST_F(AlertmanagerTest, PushedAfterOutageFoundThenResolved) {
  // Alertmanager is down when the rule fires: the push waits in the outbox.
  notifier_->OnTransition(Make(Level::kGreen, Level::kRed, {"notify"}), false);
  EXPECT_EQ(outbox_->RunDue(), 0);
  EXPECT_EQ(outbox_->pending(), 1u);
  EXPECT_EQ(counters_.Get("alertmanager", "failed"), 1);

  StartAlertmanager();
  clock_.Advance(seconds(30));  // the outbox's first backoff
  EXPECT_EQ(outbox_->RunDue(), 1);
  std::optional<nlohmann::json> alert;
  ASSERT_TRUE(
      WaitFor([&] { return (alert = Find("temp_high", "rig-1")).has_value(); },
              std::chrono::seconds(20)));
  EXPECT_EQ((*alert)["labels"]["severity"], "critical");
  EXPECT_EQ((*alert)["labels"]["site"], "barn");
  EXPECT_EQ((*alert)["status"]["state"], "active");
  EXPECT_EQ((*alert)["generatorURL"],
            "http://rig-pi:9842/api/v1/targets/rig-1");
  EXPECT_NE((*alert)["annotations"].value("summary", "").find("temp_high"),
            std::string::npos);
  EXPECT_NE((*alert)["annotations"].value("description", "").find("81.5"),
            std::string::npos);

  // Back to green: endsAt=now, and Alertmanager stops listing it as active.
  // (Alertmanager compares endsAt with its own clock: realign ours.)
  clock_.SetWall(SystemClock::Default()->Now());
  notifier_->OnTransition(Make(Level::kRed, Level::kGreen, {}), false);
  EXPECT_EQ(outbox_->RunDue(), 1);
  EXPECT_TRUE(WaitFor([&] { return !Find("temp_high", "rig-1").has_value(); },
                      std::chrono::seconds(20)))
      << Find("temp_high", "rig-1").value_or(nlohmann::json()).dump();
  EXPECT_EQ(outbox_->pending(), 0u);
}

TEST_F(AlertmanagerTest, SeveralAlertsInOneBatch) {
  StartAlertmanager();
  for (int i = 1; i <= 3; ++i) {
    Transition t = Make(Level::kGreen, Level::kRed, {"notify"});
    t.target = "rig-" + std::to_string(i);
    notifier_->OnTransition(t, false);
  }
  EXPECT_EQ(outbox_->RunDue(), 3);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(WaitFor(
        [&] {
          return Find("temp_high", "rig-" + std::to_string(i)).has_value();
        },
        std::chrono::seconds(20)))
        << i;
  }
}

TEST_F(AlertmanagerTest, FleetUnreachableIsOneAlert) {
  StartAlertmanager();
  notifier_->OnFleetTripped();
  notifier_->OnNotice({"fleet_unreachable", "fleet",
                       "fleet unreachable: 6 of 10 targets failed", "b"});
  for (int i = 0; i < 6; ++i) {
    Transition t = Make(Level::kGreen, Level::kRed, {"notify"});
    t.target = "rig-" + std::to_string(i);
    notifier_->OnTransition(t, true);
  }
  EXPECT_EQ(outbox_->RunDue(), 1);
  ASSERT_TRUE(WaitFor(
      [&] { return Find("rigwatch_fleet_unreachable", "fleet").has_value(); },
      std::chrono::seconds(20)));
  auto body = HttpGet(base_ + "/api/v2/alerts");
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(nlohmann::json::parse(*body).size(), 1u) << *body;
}

}  // namespace
}  // namespace rigwatch::actions
