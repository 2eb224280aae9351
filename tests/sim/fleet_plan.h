// Fleet options (what the CLI and tests configure) and the plan derived from
// them: which miner is which variant, where it listens, which faults it
// starts with. Deterministic for a given seed. Pure, thread-compatible.
#ifndef RIGWATCH_TESTS_SIM_FLEET_PLAN_H_
#define RIGWATCH_TESTS_SIM_FLEET_PLAN_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/clock.h"
#include "agent/common/status.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

// One --mix entry: a family ("axeos", "cgminer": spread round-robin over
// their variants) or a variant name ("axeos-v2.12"), with a weight.
struct MixEntry {
  std::string name;
  double weight = 1;
};

// One --faults entry: `fault[:param]=rate`, rate in [0,1] of the fleet.
// The fault name "reboot" reboots the chosen miners at start.
struct FaultRate {
  std::string fault;
  std::string param;
  double rate = 0;
};

struct FleetOptions {
  int miners = 20;
  std::vector<MixEntry> mix = {{"axeos", 0.5}, {"cgminer", 0.5}};
  std::vector<FaultRate> faults;
  uint64_t seed = 1;
  // AxeOS miners listen on base+1, base+2, ...; cgminer miners on
  // base+65536+1, ... (127.1.0.1.. and 127.2.0.1.. by default).
  std::string base_address = "127.1.0.0";
  uint16_t http_port = 8080;     // 0: each listener picks a free port
  uint16_t cgminer_port = 4028;  // 0: each listener picks a free port
  std::string control = "127.0.0.1:0";
  Duration reboot_downtime = std::chrono::seconds(5);
  Duration restart_delay = std::chrono::milliseconds(500);
  size_t request_log_size = 64;  // per miner, newest kept
  // When set, POST /clock/advance {"ms":N} calls it (manual-clock mode).
  std::function<Status(Duration)> advance_clock;
};

// "axeos=0.5,cgminer=0.5" / "axeos-v2.0=1,antminer-s9=2".
Result<std::vector<MixEntry>> ParseMix(std::string_view s);
// "blackhole=0.1,refuse=0.02,trickle:100=0.05,code45:all=0.1".
Result<std::vector<FaultRate>> ParseFaultRates(std::string_view s);
// "127.0.0.1:8080" -> host and port. Host must be an IPv4 literal.
Status ParseHostPort(std::string_view s, std::string* host, uint16_t* port);

struct MinerPlan {
  uint32_t index = 0;  // 0-based position in the fleet
  std::string name;    // "sim-axeos-0001", "sim-cgminer-0001"
  Variant variant = Variant::kAxeosV2_15;
  std::string ip;     // "127.1.0.1"
  uint16_t port = 0;  // requested port (0 = any)
  Faults faults;
  bool reboot_at_start = false;
};

// Validates options (addresses stay inside 127.0.0.0/8, 1..100000 miners,
// known mix names and faults) and lays out the fleet.
Result<std::vector<MinerPlan>> PlanFleet(const FleetOptions& o, SteadyTime now);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_FLEET_PLAN_H_
