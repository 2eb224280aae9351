// Shared fixture of the simulator's socket tests: a 7-miner fleet (one per
// variant) on 127.77.x addresses with ports picked by the kernel, driven by
// a FakeClock that the control API advances.
#ifndef RIGWATCH_TESTS_SIM_SIM_FLEET_FIXTURE_H_
#define RIGWATCH_TESTS_SIM_SIM_FLEET_FIXTURE_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tests/fakes/fake_clock.h"
#include "tests/sim/fleet_sim.h"
#include "tests/sim/sim_test_util.h"

namespace rigwatch::sim {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline constexpr char kSummary[] = "{\"command\":\"summary\"}";

inline json Parse(const std::string& s) {
  return json::parse(s, nullptr, /*allow_exceptions=*/false);
}

// Polls `pred` until true or 5 s pass; no fixed sleeps.
template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    ::usleep(2000);  // a poll interval, not a wait for an event
  }
  return pred();
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FleetOptions o;
    o.miners = 7;
    o.mix = *ParseMix(
        "axeos-v2.0=1,axeos-v2.9=1,axeos-v2.12=1,axeos-v2.15=1,"
        "nerdqaxe-v1.0.35=1,cgminer-4.11=1,antminer-s9=1");
    o.base_address = "127.77.0.0";
    o.http_port = 0;
    o.cgminer_port = 0;
    o.advance_clock = [this](Duration d) {
      clock_.Advance(d);
      return Status::Ok();
    };
    auto sim = FleetSim::Create(std::move(o), &clock_);
    ASSERT_TRUE(sim.ok()) << sim.status().ToString();
    sim_ = std::move(sim).value();
    ASSERT_TRUE(sim_->Start().ok());
  }

  std::string Addr(const std::string& name) {
    for (const auto& m : sim_->miners()) {
      if (m.name == name) return m.address();
    }
    ADD_FAILURE() << "no miner " << name;
    return "";
  }

  // Control API call; returns {status, parsed body}.
  std::pair<int, json> Ctl(std::string_view method, std::string_view path,
                           std::string_view body = "") {
    auto r = testing::Http(sim_->control_address(), method, path, body);
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      return {0, json()};
    }
    return {r->status, Parse(r->body)};
  }

  void SetFault(const std::string& miner, const std::string& fault_json) {
    auto [st, j] = Ctl("POST", "/miners/" + miner + "/faults", fault_json);
    ASSERT_EQ(st, 200) << j.dump();
  }

  bool Reachable(const std::string& addr) {
    auto fd = testing::Connect(addr, milliseconds(500));
    if (fd.ok()) ::close(*fd);
    return fd.ok();
  }

  FakeClock clock_;
  std::unique_ptr<FleetSim> sim_;
};

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_SIM_FLEET_FIXTURE_H_
