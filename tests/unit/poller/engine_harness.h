// Drives a PollEngine with a FakeClock and a FakeTransport: jumps the clock
// from one due time to the next, never sleeping.
#ifndef RIGWATCH_TESTS_UNIT_POLLER_ENGINE_HARNESS_H_
#define RIGWATCH_TESTS_UNIT_POLLER_ENGINE_HARNESS_H_

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/poller/engine.h"
#include "tests/fakes/fake_clock.h"
#include "tests/unit/poller/fake_transport.h"
#include "tests/unit/poller/test_exporter.h"

namespace rigwatch::testing {

class RecordingSink final : public PollSink {
 public:
  void OnPoll(const PollReport& r) override { polls.push_back(r); }
  void OnRound(const RoundReport& r) override { rounds.push_back(r); }
  void OnRemoved(const MinerTarget& t) override { removed.push_back(t); }

  std::vector<PollReport> PollsOf(const std::string& name) const {
    std::vector<PollReport> out;
    for (const PollReport& r : polls) {
      if (r.target.name == name) out.push_back(r);
    }
    return out;
  }

  std::vector<PollReport> polls;
  std::vector<RoundReport> rounds;
  std::vector<MinerTarget> removed;
};

// The value of `name` in `samples` whose labels contain `label=value` (or
// any, when label is empty); nullopt when absent.
inline std::optional<double> FindValue(const Samples& samples,
                                       std::string_view name,
                                       std::string_view label = "",
                                       std::string_view value = "") {
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    if (label.empty()) return s.value;
    for (const Label& l : s.labels) {
      if (l.name == label && l.value == value) return s.value;
    }
  }
  return std::nullopt;
}

inline PollerOptions TestOptions() {
  PollerOptions o;
  o.interval = std::chrono::seconds(10);
  o.timeout = std::chrono::seconds(5);
  o.connect_timeout = std::chrono::seconds(2);
  o.first_byte_timeout = std::chrono::seconds(4);
  o.jitter = 0;
  return o;
}

inline MinerTarget Target(const std::string& name,
                          const std::string& host = "10.0.0.1") {
  return MinerTarget{name, "test", host, 0};
}

// Runs everything `engine` has due up to and including `t`, jumping `clock`
// from one due time to the next, then sets the clock to t.
inline void RunEngineUntil(PollEngine& engine, FakeClock& clock,
                           FakeTransport& transport, SteadyTime t) {
  for (int guard = 0; guard < 1000000; ++guard) {
    SteadyTime next = engine.Tick();
    if (auto due = transport.NextDue(); due && *due < next) next = *due;
    if (next > t) break;
    if (next > clock.SteadyNow()) clock.Advance(next - clock.SteadyNow());
    transport.Deliver();
  }
  if (t > clock.SteadyNow()) clock.Advance(t - clock.SteadyNow());
  transport.Deliver();
  engine.Tick();
}

struct Harness {
  explicit Harness(PollerOptions o = TestOptions(),
                   TestExporter e = TestExporter())
      : opts(o), exporter(e) {}

  void Start(PollerMetrics* metrics = nullptr) {
    engine = std::make_unique<PollEngine>(
        opts, clock, transport, sink, metrics,
        [this](std::string_view kind) -> const Exporter* {
          return kind == "test" ? &exporter : nullptr;
        });
    epoch = clock.SteadyNow();
  }

  // Runs everything due up to and including `t`, then sets the clock to t.
  void RunUntil(SteadyTime t) { RunEngineUntil(*engine, clock, transport, t); }
  void RunFor(Duration d) { RunUntil(clock.SteadyNow() + d); }

  // Offset of a miner's slots inside the interval (jitter 0).
  Duration Offset(const std::string& name) const {
    return Duration(static_cast<int64_t>(
        StableHash(name) % static_cast<uint64_t>(opts.interval.count())));
  }

  PollerOptions opts;
  TestExporter exporter;
  FakeClock clock;
  RecordingSink sink;
  // Declared after the sink and before the engine: the engine is destroyed
  // first (aborting its exchanges), then the transport checks its script.
  FakeTransport transport{clock};
  std::unique_ptr<PollEngine> engine;
  SteadyTime epoch;
};

}  // namespace rigwatch::testing

#endif  // RIGWATCH_TESTS_UNIT_POLLER_ENGINE_HARNESS_H_
