// PollEngine with `kind: auto` targets: the probe runs as the first poll of
// a slot, the told kind's exporter polls afterwards, a probe that tells
// nothing is a failed poll with its reason, malformed polls trigger a new
// probe.
#include <gtest/gtest.h>

#include "agent/poller/engine.h"
#include "tests/unit/poller/engine_harness.h"

namespace rigwatch::testing {
namespace {

constexpr char kCgminerVersion[] =
    R"({"STATUS":[{"STATUS":"S","When":1,"Code":22,"Msg":"CGMiner versions",)"
    R"("Description":"cgminer 4.11.1"}],"VERSION":[{"CGMiner":"4.11.1"}],"id":1})";

struct AutoHarness {
  AutoHarness() {
    engine = std::make_unique<PollEngine>(
        TestOptions(), clock, transport, sink, nullptr,
        [this](std::string_view kind) -> const Exporter* {
          return kind == "cgminer" ? &tcp : nullptr;
        });
  }
  void RunFor(Duration d) {
    RunEngineUntil(*engine, clock, transport, clock.SteadyNow() + d);
  }

  // Runs in 100 ms steps until `name` has `n` poll reports (at most 60 s).
  std::vector<PollReport> RunUntilPolls(const std::string& name, size_t n) {
    for (int i = 0; i < 600 && sink.PollsOf(name).size() < n; ++i) {
      RunFor(std::chrono::milliseconds(100));
    }
    return sink.PollsOf(name);
  }

  TestExporter tcp{Protocol::kCgminerTcp};
  FakeClock clock;
  RecordingSink sink;
  FakeTransport transport{clock};
  std::unique_ptr<PollEngine> engine;
};

MinerTarget Auto(const std::string& name) {
  return MinerTarget{name, "auto", "10.0.0.9", 0};
}

TEST(EngineProbeTest, ProbesThenPollsWithTheToldKind) {
  AutoHarness h;
  ASSERT_TRUE(h.engine->SetTargets({Auto("a")}).ok());
  h.transport.ExpectOk("a", "probe version", kCgminerVersion);
  h.transport.ExpectOk("a", "info", "uptime=5 shares=1");
  h.RunFor(std::chrono::seconds(10));

  ASSERT_EQ(h.transport.started().size(), 2u);
  const Exchange& probe = h.transport.started()[0];
  EXPECT_EQ(probe.protocol, Protocol::kCgminerTcp);
  EXPECT_EQ(probe.port, 4028);
  EXPECT_EQ(probe.max_response_bytes, TestOptions().max_response_bytes);
  EXPECT_EQ(h.transport.started()[1].port, h.tcp.DefaultPort());

  std::vector<PollReport> polls = h.sink.PollsOf("a");
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(polls[0].result, PollResult::kOk);
  EXPECT_EQ(polls[0].target.kind, "cgminer");
  EXPECT_EQ(FindValue(polls[0].samples, "miner_info", "kind", "cgminer"), 1.0);
  EXPECT_EQ(FindValue(polls[0].samples, "miner_up", "kind", "cgminer"), 1.0);
}

TEST(EngineProbeTest, NothingToldIsDownWithTheReasonAndRetriedWithBackoff) {
  AutoHarness h;
  ASSERT_TRUE(h.engine->SetTargets({Auto("b")}).ok());
  h.transport.ExpectFail("b", "probe version", PollResult::kRefused,
                         UnavailableError("connect: Connection refused"));
  h.transport.ExpectOk("b", "probe web", "This URI does not exist", 404);
  // Probed again after the backoff, as any failed poll.
  h.transport.ExpectOk("b", "probe version", kCgminerVersion);
  h.transport.ExpectOk("b", "info", "uptime=5 shares=1");
  std::vector<PollReport> polls = h.RunUntilPolls("b", 2);
  ASSERT_EQ(polls.size(), 2u);
  EXPECT_EQ(polls[0].result, PollResult::kParseError);
  EXPECT_EQ(polls[0].target.kind, "auto");
  EXPECT_EQ(polls[0].error.message(),
            "auto b (10.0.0.9:4028): kind: auto could not tell: version: "
            "connect: Connection refused; web: HTTP 404, no known marker");
  EXPECT_EQ(FindValue(polls[0].samples, "miner_up", "kind", "auto"), 0.0);
  EXPECT_EQ(polls[1].result, PollResult::kOk);
  EXPECT_EQ(polls[1].target.kind, "cgminer");
  // The retry waited for the backoff.
  EXPECT_GE(polls[1].time - polls[0].time, TestOptions().backoff_base / 2);
  // The web step went to port 80 over HTTP.
  ASSERT_GE(h.transport.started().size(), 2u);
  EXPECT_EQ(h.transport.started()[1].protocol, Protocol::kHttp);
  EXPECT_EQ(h.transport.started()[1].port, 80);
}

TEST(EngineProbeTest, NothingAnsweringIsTheTransportsClass) {
  AutoHarness h;
  ASSERT_TRUE(h.engine->SetTargets({Auto("e")}).ok());
  h.transport.ExpectFail("e", "probe version", PollResult::kTimeout,
                         DeadlineExceededError("connect: timed out"));
  h.transport.ExpectFail("e", "probe web", PollResult::kTimeout,
                         DeadlineExceededError("connect: timed out"));
  std::vector<PollReport> polls = h.RunUntilPolls("e", 1);
  ASSERT_EQ(polls.size(), 1u);
  EXPECT_EQ(polls[0].result, PollResult::kTimeout);
}

TEST(EngineProbeTest, MalformedPollsInARowTriggerANewProbe) {
  AutoHarness h;
  ASSERT_TRUE(h.engine->SetTargets({Auto("c")}).ok());
  h.transport.ExpectOk("c", "probe version", kCgminerVersion);
  for (int i = 0; i < kReprobeAfterMalformedPolls; ++i) {
    h.transport.ExpectOk("c", "info", "garbage");
  }
  h.transport.ExpectOk("c", "probe version", kCgminerVersion);
  h.transport.ExpectOk("c", "info", "uptime=5 shares=1");
  std::vector<PollReport> polls =
      h.RunUntilPolls("c", kReprobeAfterMalformedPolls + 1);
  ASSERT_EQ(polls.size(), kReprobeAfterMalformedPolls + 1u);
  EXPECT_EQ(polls.back().result, PollResult::kOk);
  size_t probes = 0;
  for (const Exchange& e : h.transport.started()) {
    probes += e.request.name == "probe version";
  }
  EXPECT_EQ(probes, 2u);
}

TEST(EngineProbeTest, RestartBeforeTheKindIsToldFailsClearly) {
  AutoHarness h;
  ASSERT_TRUE(h.engine->SetTargets({Auto("d")}).ok());
  std::optional<Status> got;
  h.engine->Restart("d", std::chrono::seconds(5),
                    [&](Status st) { got = std::move(st); });
  h.engine->Tick();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(got->message().find("kind: auto has not told"), std::string::npos)
      << got->message();
}

}  // namespace
}  // namespace rigwatch::testing
