#include "tests/sim/axeos_replies.h"

#include <cmath>
#include <cstdio>

#include "tests/sim/json_out.h"

namespace rigwatch::sim {
namespace {

using Style = JsonOut::Style;

// v2.12+ rounds floats to 7 decimals before printing (docs/protocols.md §1.4).
double Round7(double v) { return std::round(v * 1e7) / 1e7; }

std::string Mac(uint32_t index) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "24:DC:C3:%02X:%02X:%02X",
                (index >> 16) & 0xff, (index >> 8) & 0xff, index & 0xff);
  return buf;
}

const char* AsicModel(Variant v) {
  switch (v) {
    case Variant::kAxeosV2_0:
      return "BM1397";
    case Variant::kAxeosV2_9:
      return "BM1366";
    case Variant::kAxeosV2_12:
      return "BM1368";
    default:
      return "BM1370";
  }
}

void Stratum(JsonOut& j) {
  j.Str("stratumURL", "public-pool.io").Int("stratumPort", 21496);
  j.Str("stratumUser", "bc1qsimulatedwallet.sim");
}

void Fallback(JsonOut& j) {
  j.Str("fallbackStratumURL", "solo.ckpool.org")
      .Int("fallbackStratumPort", 3333)
      .Str("fallbackStratumUser", "bc1qsimulatedwallet.fb");
}

void RenderV2_0(JsonOut& j, const MinerIdentity& id, const Snapshot& s) {
  j.CjFloat("power", static_cast<float>(s.power_w));
  j.CjFloat("voltage", static_cast<float>(s.voltage_mv));
  j.CjFloat("current", static_cast<float>(s.current_ma));
  j.Int("fanSpeed", s.fan_rpm);
  j.CjFloat("temp", static_cast<float>(s.temp_c));
  j.CjFloat("hashRate", static_cast<float>(s.hashrate_ghs));
  j.Str("bestDiff", FormatBestDiff(Variant::kAxeosV2_0, s.best_diff));
  j.Int("freeHeap", 163840 + (id.index % 977));
  j.Int("coreVoltage", s.core_voltage_mv);
  j.Int("coreVoltageActual", s.core_voltage_mv - 12);
  j.Int("frequency", static_cast<int64_t>(s.frequency_mhz));
  j.Str("ssid", "simnet").Str("wifiPass", "password");
  j.Str("wifiStatus", "Connected!");
  j.Uint("sharesAccepted", s.accepted).Uint("sharesRejected", s.rejected);
  j.Int("uptimeSeconds", s.uptime_s);
  j.Str("ASICModel", AsicModel(Variant::kAxeosV2_0));
  Stratum(j);
  j.Str("version", "v2.0.0").Str("runningPartition", "ota_0");
  j.Int("flipscreen", 1).Int("invertscreen", 0);
}

void RenderV2_9(JsonOut& j, const MinerIdentity& id, const Snapshot& s) {
  const Variant v = Variant::kAxeosV2_9;
  j.CjFloat("power", static_cast<float>(s.power_w));
  j.CjFloat("voltage", static_cast<float>(s.voltage_mv));
  j.CjFloat("current", static_cast<float>(s.current_ma));
  j.CjFloat("temp", static_cast<float>(s.temp_c));
  j.CjFloat("vrTemp", static_cast<float>(s.vr_temp_c));
  j.Int("maxPower", 25).Int("nominalVoltage", 5);
  j.CjFloat("hashRate", static_cast<float>(s.hashrate_ghs));
  j.Cj("expectedHashrate", std::floor(s.expected_ghs));
  j.Str("bestDiff", FormatBestDiff(v, s.best_diff));
  j.Str("bestSessionDiff", FormatBestDiff(v, s.best_session_diff));
  j.Cj("poolDifficulty", s.pool_difficulty);
  j.Int("isUsingFallbackStratum", 0);
  j.Int("freeHeap", 143360 + (id.index % 977));
  j.Int("coreVoltage", s.core_voltage_mv);
  j.Int("coreVoltageActual", s.core_voltage_mv - 9);
  j.Int("frequency", static_cast<int64_t>(s.frequency_mhz));
  j.Str("ssid", "simnet").Str("macAddr", Mac(id.index));
  j.Str("hostname", id.name).Str("wifiStatus", "Connected!");
  j.Int("wifiRSSI", -50 - static_cast<int>(id.index % 30));
  j.Int("apEnabled", 0);
  j.Uint("sharesAccepted", s.accepted).Uint("sharesRejected", s.rejected);
  j.Open("sharesRejectedReasons", '[');
  if (s.rejected > 0) {
    j.Open('{').Str("message", "Above target").Uint("count", s.rejected);
    j.Close();
  }
  j.Close();
  j.Int("uptimeSeconds", s.uptime_s).Int("smallCoreCount", 894);
  j.Str("ASICModel", AsicModel(v));
  Stratum(j);
  Fallback(j);
  j.CjFloat("responseTime", 42.5f + static_cast<float>(id.index % 20));
  j.Str("version", "v2.9.0").Str("axeOSVersion", "v2.9.0");
  j.Str("idfVersion", "v5.3.1").Str("boardVersion", "204");
  j.Str("runningPartition", "ota_1");
  j.Int("overheat_mode", 0).Int("overclockEnabled", 0);
  j.Str("display", "SSD1306 (128x32)").Int("rotation", 0);
  j.Int("invertscreen", 0).Int("displayTimeout", -1);
  j.Int("autofanspeed", 1).Int("fanspeed", static_cast<int>(s.fan_pct));
  j.Int("temptarget", 60).Int("fanrpm", s.fan_rpm).Int("statsFrequency", 0);
}

// v2.12 and v2.15 share most of their layout; v2.15 adds fields.
void RenderV2_12Plus(JsonOut& j, Variant v, const MinerIdentity& id,
                     const Snapshot& s) {
  const bool v15 = v == Variant::kAxeosV2_15;
  j.Cj("power", Round7(s.power_w)).Cj("voltage", Round7(s.voltage_mv));
  j.Cj("current", Round7(s.current_ma)).Cj("temp", Round7(s.temp_c));
  j.Cj("temp2", -1).Cj("vrTemp", std::round(s.vr_temp_c));
  j.Int("maxPower", v15 ? 40 : 30).Int("nominalVoltage", 5);
  j.Cj("hashRate", Round7(s.hashrate_ghs));
  j.Cj("hashRate_1m", Round7(s.hashrate_1m_ghs));
  j.Cj("hashRate_10m", Round7(s.hashrate_10m_ghs));
  j.Cj("hashRate_1h", Round7(s.hashrate_1h_ghs));
  j.Cj("expectedHashrate", Round7(s.expected_ghs));
  j.Cj("errorPercentage", Round7(0.25 + 0.01 * (id.index % 10)));
  j.Cj("bestDiff", s.best_diff).Cj("bestSessionDiff", s.best_session_diff);
  j.Cj("poolDifficulty", s.pool_difficulty);
  j.Int("isUsingFallbackStratum", 0).Int("isPSRAMAvailable", 1);
  j.Int("freeHeap", 8519680 + (id.index % 977));
  j.Int("freeHeapInternal", 93184).Int("freeHeapSpiram", 8426496);
  j.Int("coreVoltage", s.core_voltage_mv);
  if (v15) {
    j.Cj("coreVoltageActual", s.core_voltage_mv - 7);
  } else {
    j.Int("coreVoltageActual", s.core_voltage_mv - 7);
  }
  j.Cj("frequency", s.frequency_mhz);
  if (v15) j.Cj("actualFrequency", Round7(s.frequency_mhz - 0.37));
  j.Str("ssid", "simnet").Str("macAddr", Mac(id.index));
  j.Str("hostname", id.name);
  if (v15) {
    j.Str("fullHostname", id.name + ".local").Str("mdnsHostname", id.name);
  }
  j.Str("ipv4", id.ip).Str("ipv6", "");
  j.Str("wifiStatus", "Connected!");
  j.Int("wifiRSSI", -50 - static_cast<int>(id.index % 30));
  j.Int("apEnabled", 0);
  j.Uint("sharesAccepted", s.accepted).Uint("sharesRejected", s.rejected);
  j.Open("sharesRejectedReasons", '[');
  if (s.rejected > 0) {
    j.Open('{').Str("message", "Above target").Uint("count", s.rejected);
    j.Close();
  }
  j.Close();
  if (v15) j.Int("sharesPending", 0);
  j.Int("uptimeSeconds", s.uptime_s);
  if (v15) {
    j.Cj("totalUptimeSeconds", static_cast<double>(s.lifetime_uptime_s));
    // totalHashes passes 2^53 and prints in exponent form (§1.3).
    const double lifetime_hashes =
        static_cast<double>(s.lifetime_uptime_s) * s.hashrate_avg_ghs * 1e9;
    j.Fmt("totalHashes", "%1.17g", lifetime_hashes);
    j.Cj("totalLog2Work", Round7(std::log2(lifetime_hashes + 1)));
    j.Cj("cpuUsage", Round7(12.5 + (id.index % 7)));
    j.Bool("miningPaused", false);
  }
  j.Int("smallCoreCount", v15 ? 2040 : 1276);
  j.Str("ASICModel", AsicModel(v));
  Stratum(j);
  Fallback(j);
  j.Int("stratumExtranonceSubscribe", 0);
  j.Cj("responseTime", Round7(38.25 + (id.index % 20)));
  j.Int("blockFound", 0);
  j.Str("version", v15 ? "v2.15.0" : "v2.12.0");
  j.Str("axeOSVersion", v15 ? "v2.15.0" : "v2.12.0");
  j.Str("idfVersion", "v5.4.1").Str("boardVersion", v15 ? "601" : "401");
  j.Str("resetReason", "Power on reset").Str("runningPartition", "ota_0");
  j.Int("overheat_mode", 0).Int("overclockEnabled", 0);
  j.Str("display", "SSD1306 (128x32)").Int("rotation", 0);
  j.Int("invertscreen", 0).Int("displayTimeout", -1);
  j.Int("autofanspeed", 1).Cj("fanspeed", Round7(s.fan_pct));
  j.Int("manualFanSpeed", 100).Int("minFanSpeed", 25).Int("temptarget", 60);
  j.Int("fanrpm", s.fan_rpm).Int("fan2rpm", 0);
  j.Int("statsFrequency", 0);
  j.Open("hashrateMonitor", '{').Open("asics", '[');
  j.Open('{').Cj("total", Round7(s.hashrate_ghs)).Int("errorCount", 3);
  j.Open("domains", '[');
  for (int d = 0; d < 4; ++d) j.Cj({}, Round7(s.hashrate_ghs / 4));
  j.Close().Close().Close().Close();
  if (v15) {
    j.Open("pools", '[');
    j.Open('{').Str("url", "public-pool.io").Int("port", 21496);
    j.Str("user", "bc1qsimulatedwallet.sim").Str("pass", "*****").Close();
    j.Close();
  }
}

void RenderNerdqaxe(JsonOut& j, const MinerIdentity& id, const Snapshot& s) {
  j.Aj("power", s.power_w).Aj("voltage", s.voltage_mv);
  j.Aj("current", s.current_ma).Aj("currentA", s.current_ma / 1000);
  j.Aj("temp", s.temp_c + 2).Aj("vrTemp", std::round(s.vr_temp_c));
  j.Open("asicTemps", '[');
  for (int a = 0; a < 4; ++a) j.Aj({}, 0);  // board without per-ASIC sensors
  j.Close();
  j.Int("maxPower", 100).Int("nominalVoltage", 12);
  j.Aj("hashRate", s.hashrate_ghs).Aj("hashRate_1m", s.hashrate_1m_ghs);
  j.Aj("hashRate_10m", s.hashrate_10m_ghs).Aj("hashRate_1h", s.hashrate_1h_ghs);
  j.Aj("hashRate_1d", s.hashrate_avg_ghs);
  j.Int("hashRateTimestamp", s.uptime_s * 1000);
  j.Uint("bestDiff", static_cast<uint64_t>(s.best_diff));
  j.Uint("bestSessionDiff", static_cast<uint64_t>(s.best_session_diff));
  j.Int("freeHeap", 7340032 + (id.index % 977)).Int("freeHeapInt", 81920);
  j.Int("coreVoltage", s.core_voltage_mv);
  j.Int("coreVoltageActual", s.core_voltage_mv - 5);
  j.Aj("frequency", s.frequency_mhz);
  j.Str("ssid", "simnet").Str("macAddr", Mac(id.index));
  j.Str("hostname", id.name).Str("hostip", id.ip);
  j.Str("wifiStatus", "Connected!");
  j.Int("wifiRSSI", -50 - static_cast<int>(id.index % 30));
  j.Uint("sharesAccepted", s.accepted).Uint("sharesRejected", s.rejected);
  j.Int("duplicateHWNonces", 0);
  j.Int("uptimeSeconds", s.uptime_s);
  j.Int("asicCount", 4).Int("smallCoreCount", 2040);
  j.Str("ASICModel", "BM1370").Str("deviceModel", "NerdQAxe++");
  Stratum(j);
  j.Bool("stratumEnonceSubscribe", false).Bool("stratumTLS", false);
  Fallback(j);
  j.Bool("isUsingFallbackStratum", false);
  j.Aj("poolDifficulty", s.pool_difficulty);
  j.Int("foundBlocks", 0).Int("totalFoundBlocks", 0);
  j.Aj("lastpingrtt", 21.5 + (id.index % 9)).Aj("recentpingloss", 0);
  j.Bool("shutdown", false);
  j.Str("version", "v1.0.35").Str("runningPartition", "ota_0");
  j.Str("lastResetReason", "Power on reset");
  j.Int("flipscreen", 1).Int("invertscreen", 0);
  j.Int("autofanspeed", 2).Aj("fanspeed", s.fan_pct).Int("fanrpm", s.fan_rpm);
  j.Open("stratum", '{').Int("poolMode", 0).Int("activePoolMode", 0);
  j.Int("poolBalance", 50);
  j.Uint("totalBestDiff", static_cast<uint64_t>(s.best_diff));
  j.Open("pools", '[');
  j.Open('{').Bool("connected", true).Aj("poolDifficulty", s.pool_difficulty);
  j.Bool("poolDiffErr", false).Uint("accepted", s.accepted);
  j.Uint("rejected", s.rejected).Aj("pingRtt", 21.5).Aj("pingLoss", 0);
  j.Uint("bestDiff", static_cast<uint64_t>(s.best_session_diff)).Close();
  j.Close().Close();
}

}  // namespace

std::string FormatBestDiff(Variant v, double diff) {
  static const char* const kSuffix[] = {"", "k", "M", "G", "T", "P", "E"};
  uint64_t d = diff <= 0 ? 0 : static_cast<uint64_t>(diff);
  int i = 0;
  uint64_t scale = 1;
  while (d / scale >= 1000 && i < 6) {
    scale *= 1000;
    ++i;
  }
  const double scaled = static_cast<double>(d) / static_cast<double>(scale);
  char buf[48];
  switch (v) {
    case Variant::kAxeosV2_0:
    case Variant::kNerdqaxeV1_0_35:
      std::snprintf(buf, sizeof buf, "%.3g%s", scaled, kSuffix[i]);
      break;
    default:  // v2.8-v2.9
      std::snprintf(buf, sizeof buf, "%.2f%s", scaled, kSuffix[i]);
      break;
  }
  return buf;
}

std::string RenderAxeosInfo(Variant v, const MinerIdentity& id,
                            const Snapshot& s) {
  std::string out;
  out.reserve(2048);
  const bool pretty = v == Variant::kAxeosV2_0 || v == Variant::kAxeosV2_9;
  JsonOut j(out, pretty ? Style::kTabs : Style::kCompact);
  j.Open('{');
  switch (v) {
    case Variant::kAxeosV2_0:
      RenderV2_0(j, id, s);
      break;
    case Variant::kAxeosV2_9:
      RenderV2_9(j, id, s);
      break;
    case Variant::kNerdqaxeV1_0_35:
      RenderNerdqaxe(j, id, s);
      break;
    default:
      RenderV2_12Plus(j, v, id, s);
      break;
  }
  j.Close();
  return out;
}

std::optional<std::string> RenderAxeosAsic(Variant v) {
  if (v == Variant::kAxeosV2_0 || v == Variant::kNerdqaxeV1_0_35 ||
      FamilyOf(v) != Family::kAxeos) {
    return std::nullopt;
  }
  std::string out;
  const bool v9 = v == Variant::kAxeosV2_9;
  JsonOut j(out, v9 ? Style::kTabs : Style::kCompact);
  j.Open('{').Str("ASICModel", AsicModel(v));
  j.Str("deviceModel", v9                          ? "Ultra"
                       : v == Variant::kAxeosV2_12 ? "Supra"
                                                   : "Gamma");
  j.Str("swarmColor", v9 ? "purple" : "blue").Int("asicCount", 1);
  if (!v9) j.Int("hashDomains", 4);
  j.Int("defaultFrequency", v9 ? 485 : 525);
  j.Open("frequencyOptions", '[');
  for (int f : {400, 425, 450, 475, 485, 500, 525, 550, 575}) j.Int({}, f);
  j.Close();
  j.Int("defaultVoltage", v9 ? 1200 : 1150);
  j.Open("voltageOptions", '[');
  for (int mv : {1000, 1060, 1100, 1150, 1200, 1250}) j.Int({}, mv);
  j.Close().Close();
  return out;
}

std::optional<RestartReply> AxeosRestartReply(Variant v) {
  switch (v) {
    case Variant::kAxeosV2_0:
      return std::nullopt;  // esp_restart() at once, no reply (§1.1)
    case Variant::kAxeosV2_9:
      return RestartReply{"text/html", "System will restart shortly."};
    case Variant::kAxeosV2_12:
    case Variant::kNerdqaxeV1_0_35:
      return RestartReply{"text/plain", "System will restart shortly."};
    default:
      return RestartReply{"application/json",
                          "{\"message\":\"System will restart shortly.\"}"};
  }
}

}  // namespace rigwatch::sim
