#include "agent/poller/engine.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "exporters/miner_metrics.h"
#include "exporters/registry.h"
#include "exporters/whatsminer.h"
#include "tests/unit/poller/engine_harness.h"

namespace rigwatch::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FakeTransportTest, UnusedExpectationFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        FakeClock clock;
        FakeTransport t(clock);
        t.ExpectOk("m1", "info", "uptime=1 shares=1");
      },
      "expected exchange never happened: m1 info");
}

TEST(FakeTransportTest, UnexpectedExchangeFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        FakeClock clock;
        FakeTransport t(clock);
        Exchange ex;
        ex.conn_key = "m9";
        ex.request.name = "info";
        (void)t.Start(ex, [](ExchangeResult) {});
      },
      "unexpected exchange: m9 info");
}

TEST(PollEngineTest, PollsOncePerIntervalAtTheMinersOffset) {
  Harness h;
  h.Start();
  for (int i = 0; i < 3; ++i) {
    h.transport.ExpectOk("m1", "info",
                         "uptime=" + std::to_string(100 + i) + " shares=7");
  }
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  h.RunUntil(h.epoch + seconds(30) - milliseconds(1));

  ASSERT_EQ(h.transport.started_at().size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.transport.started_at()[i],
              h.epoch + h.Offset("m1") + seconds(10) * i);
  }
  const Exchange& ex = h.transport.started()[0];
  EXPECT_EQ(ex.host, "10.0.0.1");
  EXPECT_EQ(ex.port, 8080);  // the exporter's default port
  EXPECT_EQ(ex.deadline, h.transport.started_at()[0] + seconds(5));
  EXPECT_FALSE(ex.fresh_connection);

  auto polls = h.sink.PollsOf("m1");
  ASSERT_EQ(polls.size(), 3u);
  const PollReport& r = polls[2];
  EXPECT_EQ(r.result, PollResult::kOk);
  EXPECT_TRUE(r.error.ok());
  EXPECT_EQ(r.duration, milliseconds(10));
  EXPECT_EQ(FindValue(r.samples, metric::kUp, "kind", "test"), 1.0);
  EXPECT_EQ(FindValue(r.samples, metric::kInfo, "model", "T1"), 1.0);
  EXPECT_EQ(FindValue(r.samples, metric::kSharesAccepted), 7.0);
  EXPECT_EQ(FindValue(r.samples, metric::kRestartsDetected), 0.0);
  EXPECT_EQ(FindValue(r.samples, kCircuitOpenMetric), 0.0);
  EXPECT_EQ(FindValue(r.samples, metric::kLastSuccess),
            ToUnixSeconds(h.clock.Now() -
                          (h.clock.SteadyNow() - h.transport.started_at()[2]) +
                          milliseconds(10)));
  for (const Sample& s : r.samples) {
    for (const Label& l : s.labels) EXPECT_NE(l.name, "miner");
  }
}

TEST(PollEngineTest, BackoffThenBreakerThenHalfOpenProbe) {
  PollerOptions o = TestOptions();
  o.timeout = seconds(1);
  o.backoff_base = seconds(1);
  o.breaker_failures = 4;
  o.breaker_open = seconds(60);
  Harness h(o);
  h.Start();
  for (int i = 0; i < 5; ++i) {
    h.transport.ExpectFail("m1", "info", PollResult::kRefused,
                           UnavailableError("connect: Connection refused"));
  }
  h.transport.ExpectOk("m1", "info", "uptime=1 shares=0");
  h.transport.ExpectOk("m1", "info", "uptime=11 shares=0");
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  h.RunUntil(h.epoch + h.Offset("m1") + seconds(155));

  const auto& at = h.transport.started_at();
  ASSERT_EQ(at.size(), 7u);
  const SteadyTime t0 = at[0];
  EXPECT_EQ(t0, h.epoch + h.Offset("m1"));
  // Quick retries after 1s, 2s, 4s (each failure takes 10ms) ...
  EXPECT_EQ(at[1] - t0, milliseconds(1010));
  EXPECT_EQ(at[2] - t0, milliseconds(3020));
  EXPECT_EQ(at[3] - t0, milliseconds(7030));
  // ... the 4th failure opens the breaker for 60s: probe at the next slot,
  EXPECT_EQ(at[4] - t0, seconds(70));
  // the failed probe re-opens it, the next probe succeeds and closes it.
  EXPECT_EQ(at[5] - t0, seconds(140));
  EXPECT_EQ(at[6] - t0, seconds(150));

  auto polls = h.sink.PollsOf("m1");
  int attempted = 0, skipped_open = 0;
  for (const PollReport& r : polls) {
    if (r.attempted) {
      ++attempted;
      continue;
    }
    EXPECT_TRUE(r.circuit_open);
    EXPECT_EQ(r.result, PollResult::kRefused);  // the last attempt's class
    EXPECT_EQ(FindValue(r.samples, kCircuitOpenMetric), 1.0);
    EXPECT_EQ(FindValue(r.samples, metric::kUp, "kind", "test"), 0.0);
    EXPECT_NE(r.error.message().find("circuit open"), std::string::npos);
    ++skipped_open;
  }
  EXPECT_EQ(attempted, 7);
  // Slots 10..60 and 80..130 were not polled: 6 + 6 reports.
  EXPECT_EQ(skipped_open, 12);
  EXPECT_EQ(polls.back().result, PollResult::kOk);
  EXPECT_FALSE(polls.back().circuit_open);
  EXPECT_EQ(FindValue(polls.back().samples, kCircuitOpenMetric), 0.0);
}

TEST(PollEngineTest, DeadMinerDoesNotDelayAnother) {
  PollerOptions o = TestOptions();
  o.backoff_base = seconds(30);  // no retry within this test
  Harness h(o);
  h.Start();
  // "dead" never answers: its exchange is cut at the 5s poll deadline.
  h.transport.ExpectOk("dead", "info", "", 200, seconds(60));
  for (int i = 0; i < 3; ++i) {
    h.transport.ExpectOk("alive", "info", "uptime=1 shares=1");
  }
  ASSERT_TRUE(
      h.engine->SetTargets({Target("dead"), Target("alive", "10.0.0.2")}).ok());
  h.RunUntil(h.epoch + seconds(30) - milliseconds(1));

  std::vector<SteadyTime> alive_at;
  for (size_t i = 0; i < h.transport.started().size(); ++i) {
    if (h.transport.started()[i].conn_key == "alive") {
      alive_at.push_back(h.transport.started_at()[i]);
    }
  }
  ASSERT_EQ(alive_at.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(alive_at[i], h.epoch + h.Offset("alive") + seconds(10) * i);
  }
  auto dead = h.sink.PollsOf("dead");
  ASSERT_GE(dead.size(), 1u);
  EXPECT_EQ(dead[0].result, PollResult::kTimeout);
  EXPECT_EQ(dead[0].duration, seconds(5));
  EXPECT_EQ(dead[0].error.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(dead[0].error.message(),
            "test dead (10.0.0.1:8080): info: timed out");
  EXPECT_EQ(FindValue(dead[0].samples, metric::kUp, "kind", "test"), 0.0);
  // Never polled successfully: no last-success or info series.
  EXPECT_FALSE(FindValue(dead[0].samples, metric::kLastSuccess).has_value());
  EXPECT_FALSE(FindValue(dead[0].samples, metric::kInfo).has_value());
}

TEST(PollEngineTest, CountersStayMonotonicAcrossMinerReboot) {
  Harness h;
  h.Start();
  h.transport.ExpectOk("m1", "info", "uptime=100 shares=50");
  h.transport.ExpectOk("m1", "info", "uptime=110 shares=60");
  h.transport.ExpectOk("m1", "info", "uptime=5 shares=2");  // rebooted
  h.transport.ExpectOk("m1", "info", "uptime=15 shares=8");
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  h.RunUntil(h.epoch + seconds(40) - milliseconds(1));

  auto polls = h.sink.PollsOf("m1");
  ASSERT_EQ(polls.size(), 4u);
  const double shares[] = {50, 60, 62, 68};
  const double restarts[] = {0, 0, 1, 1};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(FindValue(polls[i].samples, metric::kSharesAccepted), shares[i])
        << i;
    EXPECT_EQ(FindValue(polls[i].samples, metric::kRestartsDetected),
              restarts[i])
        << i;
  }
  // Uptime is a gauge: it is published as the miner reports it.
  EXPECT_EQ(FindValue(polls[2].samples, metric::kUptime), 5.0);
}

TEST(PollEngineTest, ClassifiesOutcomes) {
  PollerOptions o = TestOptions();
  o.backoff_base = seconds(30);  // no retry within this test
  Harness h(o);
  h.Start();
  h.transport.ExpectOk("unauth", "info", "Unauthorized", 401);
  h.transport.ExpectOk("e500", "info", "oops", 500);
  h.transport.ExpectOk("garbage", "info", "garbage");
  h.transport.ExpectOk("denied", "info", "denied");
  h.transport.ExpectFail("dns", "info", PollResult::kDns,
                         NotFoundError("resolve rig.lan: not found"));
  h.transport.ExpectFail("zero", "info", PollResult::kDenied,
                         PermissionDeniedError("closed with 0 bytes"));
  h.transport.ExpectFail("cap", "info", PollResult::kParseError,
                         ResourceExhaustedError("reply over 1048576 bytes"));
  std::vector<MinerTarget> ts;
  for (const char* n :
       {"unauth", "e500", "garbage", "denied", "dns", "zero", "cap"}) {
    ts.push_back(Target(n));
  }
  ASSERT_TRUE(h.engine->SetTargets(ts).ok());
  h.RunFor(seconds(10) - milliseconds(1));

  auto result_of = [&](const std::string& n) {
    auto p = h.sink.PollsOf(n);
    EXPECT_EQ(p.size(), 1u) << n;
    return p.empty() ? PollResult::kOk : p[0].result;
  };
  EXPECT_EQ(result_of("unauth"), PollResult::kDenied);
  EXPECT_EQ(result_of("e500"), PollResult::kHttpError);
  EXPECT_EQ(result_of("garbage"), PollResult::kParseError);
  EXPECT_EQ(result_of("denied"), PollResult::kDenied);
  EXPECT_EQ(result_of("dns"), PollResult::kDns);
  EXPECT_EQ(result_of("zero"), PollResult::kDenied);
  EXPECT_EQ(result_of("cap"), PollResult::kParseError);
  EXPECT_EQ(h.sink.PollsOf("garbage")[0].error.message(),
            "test garbage (10.0.0.1:8080): info: malformed reply at byte 0");
}

TEST(PollEngineTest, OptionalRequestFailureDoesNotFailThePoll) {
  Harness h(TestOptions(), TestExporter(Protocol::kHttp, /*with_extra=*/true));
  h.Start();
  h.transport.ExpectOk("m1", "info", "uptime=1 shares=1");
  h.transport.ExpectFail("m1", "extra", PollResult::kTimeout,
                         DeadlineExceededError("timed out"));
  h.transport.ExpectOk("m1", "info", "uptime=11 shares=1");
  h.transport.ExpectOk("m1", "extra", "x");
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  h.RunFor(seconds(20) - milliseconds(1));
  auto polls = h.sink.PollsOf("m1");
  ASSERT_EQ(polls.size(), 2u);
  EXPECT_EQ(polls[0].result, PollResult::kOk);
  EXPECT_FALSE(FindValue(polls[0].samples, metric::kPower).has_value());
  EXPECT_EQ(FindValue(polls[1].samples, metric::kPower), 15.0);
  // The two requests of one poll ran one after the other.
  ASSERT_EQ(h.transport.started_at().size(), 4u);
  EXPECT_EQ(h.transport.started_at()[1] - h.transport.started_at()[0],
            milliseconds(10));
}

TEST(PollEngineTest, SetTargetsAbortsRemovedAndKeepsUnchangedState) {
  PollerOptions o = TestOptions();
  o.backoff_base = seconds(25);
  Harness h(o);
  h.Start();
  // "slow" is mid-poll when it is removed.
  h.transport.ExpectOk("slow", "info", "uptime=1 shares=1", 200, seconds(4));
  h.transport.ExpectFail("keep", "info", PollResult::kRefused,
                         UnavailableError("refused"));
  ASSERT_TRUE(h.engine->SetTargets({Target("slow"), Target("keep")}).ok());
  // Run until slow's exchange started but has not finished.
  const SteadyTime slow_at = h.epoch + h.Offset("slow");
  const SteadyTime keep_at = h.epoch + h.Offset("keep");
  h.RunUntil(std::max(slow_at + seconds(1), keep_at + milliseconds(20)));
  ASSERT_EQ(h.engine->in_flight(),
            slow_at + seconds(4) > h.clock.SteadyNow() ? 1u : 0u);
  const bool slow_in_flight = h.engine->in_flight() == 1;

  Status st =
      h.engine->SetTargets({Target("keep"), Target("new", "10.0.0.3"),
                            MinerTarget{"odd", "nosuchkind", "10.0.0.4", 0}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("miner odd: unknown kind \"nosuchkind\""),
            std::string::npos);
  ASSERT_EQ(h.sink.removed.size(), 1u);
  EXPECT_EQ(h.sink.removed[0].name, "slow");
  EXPECT_EQ(h.transport.forgotten(), std::vector<std::string>{"slow"});
  if (slow_in_flight) {
    EXPECT_EQ(h.transport.aborted().size(), 1u);
  }
  EXPECT_EQ(h.engine->targets(), 2u);

  // "keep" still backs off (25s after its failure): had its state been
  // reset it would be polled at its next slot, an unexpected exchange.
  h.transport.ExpectOk("new", "info", "uptime=1 shares=1");
  // Exactly one slot of each miner in any interval-long window.
  h.RunFor(seconds(10) - milliseconds(1));
  EXPECT_EQ(h.sink.PollsOf("new").size(), 1u);
  auto keep = h.sink.PollsOf("keep");
  ASSERT_GE(keep.size(), 2u);
  EXPECT_FALSE(keep.back().attempted);          // a backing-off slot report
  EXPECT_TRUE(h.sink.PollsOf("slow").empty());  // aborted: no report

  // A changed address is a new miner: the old one is reported removed.
  h.transport.ExpectOk("keep", "info", "uptime=1 shares=1");
  ASSERT_TRUE(
      h.engine
          ->SetTargets({Target("keep", "10.0.0.9"), Target("new", "10.0.0.3")})
          .ok());
  EXPECT_EQ(h.sink.removed.back().host, "10.0.0.1");
  h.transport.ExpectOk("new", "info", "uptime=11 shares=1");
  h.RunFor(seconds(10) - milliseconds(1));
  EXPECT_EQ(h.sink.PollsOf("keep").back().target.host, "10.0.0.9");
}

TEST(PollEngineTest, RestartWaitsForThePollInFlight) {
  Harness h;
  h.Start();
  h.transport.ExpectOk("m1", "info", "uptime=1 shares=1", 200, seconds(2));
  h.transport.ExpectOk("m1", "restart", "RESTART");
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  const SteadyTime poll_at = h.epoch + h.Offset("m1");
  h.RunUntil(poll_at + milliseconds(500));
  std::optional<Status> got;
  h.engine->Restart("m1", seconds(10), [&](Status s) { got = s; });
  h.RunUntil(poll_at + seconds(3));
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->ok()) << got->ToString();
  ASSERT_EQ(h.transport.started().size(), 2u);
  EXPECT_EQ(h.transport.started_at()[1], poll_at + seconds(2));
  EXPECT_TRUE(h.transport.started()[1].fresh_connection);
  EXPECT_EQ(h.transport.started()[1].request.method, "POST");
}

TEST(PollEngineTest, RestartOutcomes) {
  Harness h;
  h.Start();
  h.transport.ExpectFail("m1", "restart", PollResult::kRefused,
                         UnavailableError("connection reset"), milliseconds(10),
                         /*request_sent=*/true);
  h.transport.ExpectOk("m1", "restart", "denied");
  h.transport.ExpectFail("m1", "restart", PollResult::kRefused,
                         UnavailableError("connect: Connection refused"));
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  std::vector<Status> got;
  for (int i = 0; i < 3; ++i) {
    h.engine->Restart("m1", seconds(1), [&](Status s) { got.push_back(s); });
  }
  std::optional<Status> unknown;
  h.engine->Restart("nope", seconds(1), [&](Status s) { unknown = s; });
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->code(), StatusCode::kNotFound);
  // The three run one after the other, before m1's first poll slot.
  h.RunFor(milliseconds(100));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].ok()) << got[0].ToString();  // reset after the POST
  EXPECT_EQ(got[1].code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(got[2].code(), StatusCode::kUnavailable);
  EXPECT_EQ(got[2].message(),
            "test m1 (10.0.0.1:8080): restart: connect: Connection refused");
}

// The real kinds through the engine: a restart on the web side with the
// configured login (antminer), and a chain of exchanges (LuxOS session).
struct KindsHarness {
  FakeClock clock;
  RecordingSink sink;
  FakeTransport transport{clock};
  std::unique_ptr<PollEngine> engine = std::make_unique<PollEngine>(
      TestOptions(), clock, transport, sink, nullptr, &FindExporter);

  Status RestartNow(const std::string& name) {
    std::optional<Status> got;
    engine->Restart(name, seconds(5), [&](Status s) { got = s; });
    for (int i = 0; i < 100 && !got; ++i) {
      engine->Tick();
      clock.Advance(milliseconds(10));
      transport.Deliver();
    }
    return got.value_or(InternalError("no outcome"));
  }
};

TEST(PollEngineTest, AntminerRebootGoesToTheWebSideWithTheLogin) {
  const std::string pw =
      ::testing::TempDir() + "/rigwatch-engine-test-antminer.pw";
  std::ofstream(pw) << "s3cret\n";
  KindsHarness h;
  MinerTarget t{"ant", "antminer", "10.0.0.7", 0};
  t.http_port = 8081;
  t.username = "admin";
  t.password_file = pw;
  MinerTarget bad{"ant2", "antminer", "10.0.0.8", 0};
  bad.password_file = pw + ".missing";
  ASSERT_TRUE(h.engine->SetTargets({t, bad}).ok());
  h.transport.ExpectOk("ant", "reboot.cgi", "", 200);
  Status st = h.RestartNow("ant");
  EXPECT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(h.transport.started().size(), 1u);
  const Exchange& ex = h.transport.started()[0];
  EXPECT_EQ(ex.protocol, Protocol::kHttp);
  EXPECT_EQ(ex.port, 8081);
  EXPECT_EQ(ex.request.path, "/cgi-bin/reboot.cgi");
  EXPECT_EQ(ex.username, "admin");
  EXPECT_EQ(ex.password, "s3cret");
  EXPECT_TRUE(ex.fresh_connection);
  // An unreadable password file fails the restart naming the file only.
  Status missing = h.RestartNow("ant2");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find(".missing"), std::string::npos);
  EXPECT_EQ(h.transport.started().size(), 1u) << "nothing was sent";
  std::remove(pw.c_str());
}

// Fallback requests (the Antminer web CGI) cost nothing while the API
// answers; after the API failed in transport the rest of the API requests
// are skipped and the fallback ones are sent, with the login.
TEST(PollEngineTest, FallbackRequestsAreSentOnlyAfterTheApiFailed) {
  Harness h;
  h.engine = std::make_unique<PollEngine>(h.opts, h.clock, h.transport, h.sink,
                                          nullptr, &FindExporter);
  h.epoch = h.clock.SteadyNow();
  const std::string summary =
      R"({"STATUS":[{"STATUS":"S","Code":11}],"SUMMARY":[{"Elapsed":10,)"
      R"("GHS 5s":100}]})";
  const std::string stats_cgi =
      R"({"STATUS":{"STATUS":"S"},"INFO":{"type":"Antminer S19"},)"
      R"("STATS":[{"elapsed":20,"rate_5s":90,"rate_unit":"GH/s","chain":)"
      R"([{"index":0,"asic_num":76,"temp_chip":[60,61,70,71]}]}]})";
  h.transport.ExpectOk("ant", "summary", summary);
  h.transport.ExpectOk("ant", "pools",
                       R"({"STATUS":[{"STATUS":"S"}],"POOLS":[]})");
  h.transport.ExpectOk("ant", "stats",
                       R"({"STATUS":[{"STATUS":"S"}],"STATS":[]})");
  const Status refused = UnavailableError("connect: Connection refused");
  h.transport.ExpectFail("ant", "summary", PollResult::kRefused, refused);
  h.transport.ExpectOk("ant", "stats.cgi", stats_cgi);
  h.transport.ExpectOk("ant", "summary.cgi", "404 - Not Found", 404);
  h.transport.ExpectFail("ant", "summary", PollResult::kRefused, refused);
  h.transport.ExpectOk("ant", "stats.cgi", "401 - Unauthorized", 401);
  h.transport.ExpectOk("ant", "summary.cgi", "401 - Unauthorized", 401);
  // Both sides down: the error names both.
  h.transport.ExpectFail("ant", "summary", PollResult::kRefused, refused);
  h.transport.ExpectFail("ant", "stats.cgi", PollResult::kRefused, refused);
  ASSERT_TRUE(
      h.engine->SetTargets({MinerTarget{"ant", "antminer", "10.0.0.7", 0}})
          .ok());
  // The third poll and its retry after the denial (backoff 500 ms).
  h.RunUntil(h.epoch + h.Offset("ant") + seconds(20) + milliseconds(700));

  auto polls = h.sink.PollsOf("ant");
  ASSERT_EQ(polls.size(), 4u);
  EXPECT_EQ(polls[3].result, PollResult::kRefused);
  EXPECT_EQ(polls[3].error.message(),
            "antminer ant (10.0.0.7:4028): summary: unavailable: connect: "
            "Connection refused; stats.cgi: connect: Connection refused");
  EXPECT_EQ(polls[0].result, PollResult::kOk);
  EXPECT_EQ(FindValue(polls[0].samples, metric::kHashrate), 100e9);
  EXPECT_EQ(polls[1].result, PollResult::kOk) << polls[1].error.ToString();
  EXPECT_EQ(FindValue(polls[1].samples, metric::kHashrate), 90e9);
  EXPECT_EQ(FindValue(polls[1].samples, metric::kTemperature, "sensor",
                      "chain1_chip"),
            71);
  EXPECT_EQ(polls[2].result, PollResult::kDenied);
  const std::vector<Exchange>& ex = h.transport.started();
  ASSERT_EQ(ex.size(), 11u);
  EXPECT_EQ(ex[4].request.path, "/cgi-bin/stats.cgi");
  EXPECT_EQ(ex[4].protocol, Protocol::kHttp);
  EXPECT_EQ(ex[4].port, 80);
  EXPECT_EQ(ex[4].username, "root");
}

TEST(PollEngineTest, LuxosRestartIsASessionChain) {
  KindsHarness h;
  ASSERT_TRUE(
      h.engine->SetTargets({MinerTarget{"lux", "luxos", "10.0.0.9", 0}}).ok());
  h.transport.ExpectOk(
      "lux", "session",
      R"({"SESSION":[{"SessionID":""}],"STATUS":[{"Code":319,"STATUS":"S"}]})");
  h.transport.ExpectOk(
      "lux", "logon",
      R"({"SESSION":[{"SessionID":"abc"}],"STATUS":[{"Code":316,"STATUS":"S"}]})");
  h.transport.ExpectOk("lux", "rebootdevice",
                       R"({"STATUS":[{"Code":340,"STATUS":"S"}]})");
  Status st = h.RestartNow("lux");
  EXPECT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(h.transport.started().size(), 3u);
  EXPECT_EQ(h.transport.started()[2].request.payload,
            R"({"command":"rebootdevice","parameter":"abc"})");
  EXPECT_EQ(h.transport.started()[2].port, 4028);
  EXPECT_TRUE(h.transport.started()[2].username.empty());
}

// The signed chain gets the password from the file: the write is encrypted
// under its key and the encrypted reply is judged with it.
TEST(PollEngineTest, WhatsminerRestartIsSignedWithThePasswordFile) {
  const std::string pw =
      ::testing::TempDir() + "/rigwatch-engine-test-whatsminer.pw";
  std::ofstream(pw) << "s3cret\n";
  KindsHarness h;
  MinerTarget t{"wm", "whatsminer", "10.0.0.10", 0};
  t.password_file = pw;
  MinerTarget bad{"wm2", "whatsminer", "10.0.0.11", 0};
  bad.password_file = pw + ".missing";
  ASSERT_TRUE(h.engine->SetTargets({t, bad}).ok());
  Result<whatsminer::WriteKey> key =
      whatsminer::DeriveWriteKey("s3cret", "BQ5hoXV9", "P5NTAcEp", "5039");
  ASSERT_TRUE(key.ok());
  h.transport.ExpectOk(
      "wm", "get_version",
      R"({"STATUS":"S","Code":131,"Msg":{"fw_ver":"20240326.18.REL"}})");
  h.transport.ExpectOk(
      "wm", "get_token",
      R"({"STATUS":"S","Code":134,"Msg":{"time":"5039","salt":"BQ5hoXV9","newsalt":"P5NTAcEp"}})");
  h.transport.ExpectOk(
      "wm", "restart_btminer",
      "{\"enc\":\"" +
          whatsminer::EncryptData(
              R"({"STATUS":"S","Code":131,"Msg":"API command OK"})",
              key->aes_key) +
          "\"}");
  Status st = h.RestartNow("wm");
  EXPECT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(h.transport.started().size(), 3u);
  const std::string& p = h.transport.started()[2].request.payload;
  ASSERT_GT(p.size(), 19u);
  EXPECT_EQ(*whatsminer::DecryptData(p.substr(17, p.size() - 19), key->aes_key),
            "{\"cmd\":\"restart_btminer\",\"token\":\"" + key->sign + "\"}");
  Status missing = h.RestartNow("wm2");
  EXPECT_NE(missing.message().find(".missing"), std::string::npos);
  EXPECT_EQ(h.transport.started().size(), 3u) << "nothing was sent";
  std::remove(pw.c_str());
}

TEST(PollEngineTest, RestartTimesOutBehindASlowPoll) {
  Harness h;
  h.Start();
  h.transport.ExpectOk("m1", "info", "uptime=1 shares=1", 200, seconds(4));
  ASSERT_TRUE(h.engine->SetTargets({Target("m1")}).ok());
  const SteadyTime poll_at = h.epoch + h.Offset("m1");
  h.RunUntil(poll_at + milliseconds(1));
  std::optional<Status> got;
  h.engine->Restart("m1", seconds(1), [&](Status s) { got = s; });
  h.RunUntil(poll_at + seconds(2));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->code(), StatusCode::kDeadlineExceeded);
  h.RunUntil(poll_at + seconds(5));
  EXPECT_EQ(h.transport.started().size(), 1u);  // no restart was sent
}

TEST(PollEngineTest, RoundReportCountsTheLastOutcomeOfEachMiner) {
  PollerOptions o = TestOptions();
  o.backoff_base = seconds(30);
  Harness h(o);
  h.Start();
  h.transport.ExpectOk("a", "info", "uptime=1 shares=1");
  h.transport.ExpectOk("b", "info", "uptime=1 shares=1");
  h.transport.ExpectFail("c", "info", PollResult::kTimeout,
                         DeadlineExceededError("timed out"));
  ASSERT_TRUE(
      h.engine->SetTargets({Target("a"), Target("b"), Target("c")}).ok());
  h.RunUntil(h.epoch + seconds(10));
  ASSERT_EQ(h.sink.rounds.size(), 1u);
  const RoundReport& r = h.sink.rounds[0];
  EXPECT_EQ(r.targets, 3);
  // A miner whose slot is in the last 10ms of the round may still be in
  // flight; all offsets here are earlier (checked, not assumed).
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_LT(h.Offset(n), seconds(10) - milliseconds(10)) << n;
  }
  EXPECT_EQ(r.ok, 2);
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(r.pending, 0);
}

}  // namespace
}  // namespace rigwatch::testing
