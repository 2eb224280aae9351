// The state of one simulated miner as a function of time. Values are derived
// from (seed, miner index, time) only, so two runs with the same seed and the
// same clock readings produce the same replies (deterministic mode = a
// FakeClock). Not thread-safe: owned and used by the event loop.
#ifndef RIGWATCH_TESTS_SIM_MINER_MODEL_H_
#define RIGWATCH_TESTS_SIM_MINER_MODEL_H_

#include <cstdint>
#include <optional>

#include "agent/common/clock.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

// What a miner reports at one instant. Rates are GH/s, temps degC.
struct Snapshot {
  int64_t wall_epoch_s = 0;  // the miner's own clock (cgminer "When")
  int64_t uptime_s = 0;      // since the last (re)boot
  double hashrate_ghs = 0;   // current
  double hashrate_1m_ghs = 0;
  double hashrate_10m_ghs = 0;
  double hashrate_1h_ghs = 0;
  double hashrate_avg_ghs = 0;  // since boot
  double expected_ghs = 0;
  double temp_c = 0;
  double vr_temp_c = 0;
  double power_w = 0;
  double voltage_mv = 0;
  double current_ma = 0;
  double frequency_mhz = 0;
  int core_voltage_mv = 0;
  double fan_pct = 0;
  int fan_rpm = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t hw_errors = 0;
  double pool_difficulty = 0;
  double best_diff = 0;          // all time
  double best_session_diff = 0;  // since boot
  double total_hashes = 0;       // since boot
  uint64_t lifetime_uptime_s = 0;
};

class MinerModel {
 public:
  // `index` distinguishes miners under one seed; `now` is the start time.
  MinerModel(uint64_t seed, uint32_t index, Variant variant, SteadyTime now);

  // The reading at `now`/`wall` with `faults` applied (hashrate drop,
  // temperature ramp). Must not be called while Down(now).
  Snapshot At(SteadyTime now, WallTime wall, const Faults& faults) const;

  // Power-cycles: from `now` the miner is unreachable for `downtime`, then
  // boots with shares, uptime and bestSessionDiff at zero. The all-time best
  // difficulty survives.
  void Reboot(SteadyTime now, Duration downtime);
  // True while rebooting.
  bool Down(SteadyTime now) const { return now < boot_; }
  // When the current reboot ends (meaningful while Down).
  SteadyTime boot_time() const { return boot_; }
  uint64_t reboots() const { return reboots_; }

  // Parameters the control API may override.
  void set_nominal_ghs(double v) { nominal_ghs_ = v; }
  double nominal_ghs() const { return nominal_ghs_; }
  void set_base_temp_c(double v) { base_temp_c_ = v; }
  double base_temp_c() const { return base_temp_c_; }

 private:
  // Uniform in [-1, 1], a pure function of (seed, index, tick, channel).
  double Noise(int64_t tick, uint32_t channel) const;
  double SessionBest(int64_t uptime_s) const;

  uint64_t seed_;
  uint32_t index_;
  Variant variant_;
  SteadyTime boot_;  // the current session began here
  double nominal_ghs_;
  double base_temp_c_;
  double shares_per_s_;
  double best_scale_;
  double best_before_boot_;    // all-time best of earlier sessions
  int64_t lifetime_before_s_;  // uptime of earlier sessions
  uint64_t reboots_ = 0;
};

// A 64-bit mix (splitmix64 finaliser); exposed for the fleet's deterministic
// choices (fault subsets, garbage bytes).
uint64_t Mix64(uint64_t x);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_MINER_MODEL_H_
