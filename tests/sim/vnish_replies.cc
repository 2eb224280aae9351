#include "tests/sim/vnish_replies.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace rigwatch::sim {
namespace {

using json = nlohmann::ordered_json;

json MinMax(double lo, double hi) {
  return {{"min", std::lround(lo)}, {"max", std::lround(hi)}};
}

}  // namespace

std::string RenderVnishSummary(const Snapshot& s) {
  json chains = json::array();
  const double chip[] = {s.temp_c - 1, s.temp_c, s.temp_c - 2};
  for (int id = 0; id < 3; ++id) {
    chains.push_back(
        {{"id", id},
         {"frequency", std::lround(s.frequency_mhz)},
         {"voltage", 13600},
         {"power_consumption", std::lround(s.power_w / 3)},
         {"hashrate_ideal", s.expected_ghs / 3},
         {"hashrate_rt", s.hashrate_ghs / 3},
         {"hw_errors", s.hw_errors / 3},
         {"pcb_temp", MinMax(chip[id] - 28, chip[id] - 12)},
         {"chip_temp", MinMax(chip[id] - 14, chip[id])},
         {"chip_statuses", {{"red", 0}, {"orange", 0}, {"grey", 0}}},
         {"status", {{"state", "mining"}}}});
  }
  json fans = json::array();
  for (int id = 0; id < 4; ++id) {
    fans.push_back(
        {{"id", id}, {"rpm", s.fan_rpm + 30 * id}, {"status", "ok"}});
  }
  json pools = json::array({{{"id", 0},
                             {"url", "stratum+tcp://pool.sim.invalid:3333"},
                             {"pool_type", "UserPool"},
                             {"user", "sim.w1"},
                             {"status", "active"},
                             {"diff", "131K"},
                             {"accepted", s.accepted},
                             {"rejected", s.rejected},
                             {"stale", 0}},
                            {{"id", 1},
                             {"url", "stratum+tcp://devfee.sim.invalid:3333"},
                             {"pool_type", "DevFee"},
                             {"user", "fee"},
                             {"status", "active"},
                             {"diff", "65K"},
                             {"accepted", s.accepted / 30},
                             {"rejected", 0},
                             {"stale", 0}}});
  json miner = {
      {"miner_status",
       {{"miner_state", "mining"}, {"miner_state_time", s.uptime_s}}},
      {"miner_type", "Antminer S19 XP (Vnish 1.2.6)"},
      {"hr_realtime", s.hashrate_ghs},
      {"hr_average", s.hashrate_avg_ghs},
      {"pcb_temp", MinMax(s.temp_c - 30, s.temp_c - 12)},
      {"chip_temp", MinMax(s.temp_c - 16, s.temp_c)},
      {"power_consumption", std::lround(s.power_w)},
      {"power_usage",
       s.hashrate_ghs > 0 ? s.power_w / (s.hashrate_ghs / 1000) : 0.0},
      {"hw_errors", s.hw_errors},
      {"devfee_percent", 2.8},
      {"pools", pools},
      {"cooling",
       {{"fan_num", 4}, {"fans", fans}, {"fan_duty", std::lround(s.fan_pct)}}},
      {"chains", chains},
      {"found_blocks", 0},
      {"best_share", s.best_session_diff}};
  return json{{"miner", miner}}.dump();
}

std::string RenderVnishInfo(std::string_view hostname) {
  json net = {{"mac", "02:1a:3f:00:12:07"},
              {"dhcp", true},
              {"hostname", std::string(hostname)}};
  return json{{"fw_name", "Vnish"},
              {"fw_version", "1.2.6"},
              {"install_type", "sd"},
              {"platform", "xil"},
              {"miner", "Antminer S19 XP"},
              {"model", "s19xp"},
              {"algorithm", "sha256d"},
              {"hr_measure", "GH/s"},
              {"system", {{"os", "GNU/Linux"}, {"network_status", net}}}}
      .dump();
}

VnishReply RenderVnishUnlock(std::string_view request_body,
                             std::string_view password,
                             std::string_view token) {
  json req = json::parse(request_body, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded() || !req.is_object() || !req.contains("pw") ||
      !req["pw"].is_string()) {
    return {400, R"({"err":"invalid request body"})"};
  }
  if (req["pw"].get<std::string>() != password) {
    return {403, R"({"unlock_timeout":null})"};
  }
  return {200, json{{"token", std::string(token)}}.dump()};
}

}  // namespace rigwatch::sim
