#include "tests/sim/miner_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace rigwatch::sim {
namespace {

struct Nominal {
  double ghs;           // per-device nominal hashrate
  double temp_c;        // ASIC temperature at rest
  double shares_per_s;  // accepted shares per second at the pool difficulty
  double watts_per_ths;
  double frequency_mhz;
  int core_voltage_mv;
  double input_mv;
};

Nominal NominalOf(Variant v) {
  switch (v) {
    case Variant::kAxeosV2_0:  // Bitaxe Max, BM1397
      return {400, 52, 1.0 / 20, 28, 425, 1400, 5000};
    case Variant::kAxeosV2_9:  // Bitaxe Ultra, BM1366
      return {500, 55, 1.0 / 15, 24, 485, 1200, 5000};
    case Variant::kAxeosV2_12:  // Bitaxe Supra, BM1368
      return {650, 57, 1.0 / 12, 20, 490, 1166, 5000};
    case Variant::kAxeosV2_15:  // Bitaxe Gamma, BM1370
      return {1200, 58, 1.0 / 8, 16, 525, 1150, 5000};
    case Variant::kNerdqaxeV1_0_35:  // NerdQAxe++, 4 x BM1370
      return {4800, 60, 1.0 / 4, 16, 600, 1200, 12000};
    case Variant::kCgminer4_11:
      return {14000, 68, 0.5, 95, 650, 0, 0};
    case Variant::kAntminerS9:
      return {13500, 72, 0.5, 98, 650, 0, 0};
    case Variant::kAntminerS19:  // S19j Pro: chip temperature
      return {96000, 70, 0.5, 30, 540, 0, 0};
    case Variant::kAvalon1366:
      return {110000, 78, 0.5, 30, 485, 0, 0};
    case Variant::kLuxosS19:
      return {95000, 70, 0.5, 30, 540, 0, 0};
    case Variant::kVnishS19XP:
      return {140000, 70, 0.5, 22, 525, 0, 0};
    case Variant::kBraiinsS19:
      return {100000, 70, 0.5, 30, 525, 0, 0};
    case Variant::kBraiinsS9:
      return {14000, 72, 0.5, 98, 650, 0, 0};
    case Variant::kWhatsminerM50:
      return {118000, 70, 0.5, 29, 555, 0, 0};
  }
  return {500, 55, 0.1, 20, 500, 1200, 5000};
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

MinerModel::MinerModel(uint64_t seed, uint32_t index, Variant variant,
                       SteadyTime now)
    : seed_(seed), index_(index), variant_(variant) {
  const Nominal n = NominalOf(variant);
  auto unit = [&](uint32_t ch) {  // [0, 1)
    return static_cast<double>(Mix64(seed_ ^ Mix64(index_ * 131ULL + ch)) >>
                               11) /
           9007199254740992.0;
  };
  nominal_ghs_ = n.ghs * (0.95 + 0.1 * unit(1));
  base_temp_c_ = n.temp_c + 4 * unit(2);
  shares_per_s_ = n.shares_per_s * (0.9 + 0.2 * unit(3));
  best_scale_ = nominal_ghs_ * 2.0e4 * (0.5 + unit(4));
  // Miners have been up for a while when the simulator starts: 0..3 days.
  const auto up = std::chrono::seconds(static_cast<int64_t>(unit(5) * 259200));
  boot_ = now - up;
  best_before_boot_ = std::floor(SessionBest(static_cast<int64_t>(259200 * 4)) *
                                 (1 + 4 * unit(6)));
  lifetime_before_s_ = static_cast<int64_t>(unit(7) * 3.0e7);
}

double MinerModel::Noise(int64_t tick, uint32_t channel) const {
  const uint64_t h =
      Mix64(seed_ ^ Mix64((static_cast<uint64_t>(index_) << 32) ^
                          (static_cast<uint64_t>(tick) * 8 + channel)));
  return static_cast<double>(h >> 11) / 4503599627370496.0 - 1.0;
}

double MinerModel::SessionBest(int64_t uptime_s) const {
  // Grows like the best of n draws: monotone in uptime, sub-linear.
  return std::floor(best_scale_ * std::sqrt(1.0 + uptime_s / 60.0));
}

Snapshot MinerModel::At(SteadyTime now, WallTime wall,
                        const Faults& faults) const {
  const Nominal n = NominalOf(variant_);
  Snapshot s;
  s.wall_epoch_s = ToUnixMillis(wall) / 1000;
  const double up = std::max(0.0, Seconds(now - boot_));
  s.uptime_s = static_cast<int64_t>(up);
  const int64_t tick = s.uptime_s;  // values change once per second
  const double frac = faults.hashrate_fraction;
  const double base = nominal_ghs_ * frac;
  s.hashrate_ghs = base * (1 + 0.04 * Noise(tick, 0));
  s.hashrate_1m_ghs = base * (1 + 0.015 * Noise(tick / 60, 1));
  s.hashrate_10m_ghs = base * (1 + 0.008 * Noise(tick / 600, 2));
  s.hashrate_1h_ghs = base * (1 + 0.004 * Noise(tick / 3600, 3));
  s.hashrate_avg_ghs = nominal_ghs_ * (1 + 0.002 * Noise(0, 4));
  s.expected_ghs = nominal_ghs_ / 0.97;
  double temp = base_temp_c_ + 1.5 * Noise(tick, 5);
  if (faults.temp_ramp_c_per_min > 0) {
    const double minutes = Seconds(now - faults.temp_ramp_start) / 60.0;
    const double ramped =
        base_temp_c_ + faults.temp_ramp_c_per_min * std::max(0.0, minutes);
    temp = std::max(temp, std::min(ramped, faults.temp_ceiling_c));
  }
  s.temp_c = temp;
  s.vr_temp_c = temp + 6 + Noise(tick, 6);
  s.power_w = s.hashrate_ghs / 1000.0 * n.watts_per_ths + 2;
  s.voltage_mv = n.input_mv > 0 ? n.input_mv + 40 * Noise(tick, 7) : 0;
  s.current_ma =
      n.input_mv > 0 ? s.power_w / (s.voltage_mv / 1000.0) * 1000 : 0;
  s.frequency_mhz = n.frequency_mhz;
  s.core_voltage_mv = n.core_voltage_mv;
  s.fan_pct = std::clamp(35 + (temp - 50) * 2.5, 20.0, 100.0);
  s.fan_rpm = static_cast<int>(s.fan_pct * 60 + 20 * Noise(tick, 0) + 20);
  const double shares = up * shares_per_s_ * frac;
  s.accepted = static_cast<uint64_t>(shares);
  s.rejected = static_cast<uint64_t>(shares * 0.004);
  s.hw_errors = static_cast<uint64_t>(up * 0.01);
  s.pool_difficulty = n.shares_per_s > 0.3 ? 65536 : 1000;
  s.best_session_diff = SessionBest(s.uptime_s);
  s.best_diff = std::max(best_before_boot_, s.best_session_diff);
  s.total_hashes = up * s.hashrate_avg_ghs * 1e9;
  s.lifetime_uptime_s = static_cast<uint64_t>(lifetime_before_s_ + up);
  return s;
}

void MinerModel::Reboot(SteadyTime now, Duration downtime) {
  const int64_t up = static_cast<int64_t>(std::max(0.0, Seconds(now - boot_)));
  best_before_boot_ = std::max(best_before_boot_, SessionBest(up));
  lifetime_before_s_ += up;
  boot_ = now + downtime;
  ++reboots_;
}

}  // namespace rigwatch::sim
