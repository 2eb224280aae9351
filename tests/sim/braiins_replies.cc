#include "tests/sim/braiins_replies.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace rigwatch::sim {
namespace {

using json = nlohmann::json;  // std::map: keys sorted, as BOSer prints them

// The miner program's name and its build: the Description is the two
// joined, `version` answers them as {"<name>":"<build>","API":"3.7"}.
std::string Signature(Variant v) {
  return v == Variant::kBraiinsS9 ? "BOSminer+" : "BOSer";
}

std::string Build(Variant v) {
  return v == Variant::kBraiinsS9 ? "0.2.0-ea64aec8e"
                                  : "boser-buildroot 0.1.0-26ba61b9";
}

std::string Description(Variant v) { return Signature(v) + " " + Build(v); }

std::string Reply(Variant v, const Snapshot& s, const char* sev, int code,
                  const std::string& msg, const char* section = nullptr,
                  json rows = json::array()) {
  json doc = {{"STATUS", json::array({{{"STATUS", sev},
                                       {"When", s.wall_epoch_s},
                                       {"Code", code},
                                       {"Msg", msg},
                                       {"Description", Description(v)}}})},
              {"id", 1}};
  if (section != nullptr) doc[section] = std::move(rows);
  return doc.dump();
}

int FirstChain(Variant v) { return v == Variant::kBraiinsS9 ? 6 : 1; }

}  // namespace

bool IsBraiins(Variant v) {
  return v == Variant::kBraiinsS19 || v == Variant::kBraiinsS9;
}

FamilyReply RenderBraiinsReply(Variant v, const std::string& cmd,
                               const Snapshot& s) {
  FamilyReply r;
  r.command = cmd;
  const int first = FirstChain(v);
  const double chip[] = {s.temp_c - 1, s.temp_c, s.temp_c - 2};
  if (cmd == "summary") {
    const double mhs = s.hashrate_ghs * 1000;
    json o = {{"Elapsed", s.uptime_s},
              {"MHS 5s", mhs},
              {"MHS 1m", s.hashrate_1m_ghs * 1000},
              {"MHS 5m", s.hashrate_10m_ghs * 1000},
              {"MHS 15m", s.hashrate_1h_ghs * 1000},
              {"MHS 24h", s.hashrate_avg_ghs * 1000},
              {"MHS av", s.hashrate_avg_ghs * 1000},
              {"Accepted", s.accepted},
              {"Rejected", s.rejected},
              {"Hardware Errors", s.hw_errors},
              {"Best Share", s.best_session_diff},
              {"Found Blocks", 0},
              {"Difficulty Stale", 0.0}};
    r.body = Reply(v, s, "S", 11, "Summary", "SUMMARY", json::array({o}));
  } else if (cmd == "pools") {
    json p = {{"POOL", 0},
              {"URL", "stratum+tcp://pool.sim.invalid:3333"},
              {"Status", "Alive"},
              {"Stratum Active", true},
              {"Stratum Difficulty", s.pool_difficulty},
              {"Accepted", s.accepted},
              {"Rejected", s.rejected}};
    r.body = Reply(v, s, "S", 7, "1 Pool(s)", "POOLS", json::array({p}));
  } else if (cmd == "temps") {
    json rows = json::array();
    for (int k = 0; k < 3; ++k) {
      rows.push_back({{"Board", chip[k] - 15},
                      {"Chip", chip[k]},
                      {"ID", first + k},
                      {"TEMP", k}});
    }
    r.body = Reply(v, s, "S", 201, "3 Temp(s)", "TEMPS", rows);
  } else if (cmd == "fans") {
    json rows = json::array();
    for (int k = 0; k < 4; ++k) {
      rows.push_back({{"FAN", k},
                      {"ID", k},
                      {"RPM", s.fan_rpm + 30 * k},
                      {"Speed", std::lround(s.fan_pct)}});
    }
    r.body = Reply(v, s, "S", 202, "4 Fan(s)", "FANS", rows);
  } else if (cmd == "tunerstatus") {
    json chains = json::array();
    for (int k = 0; k < 3; ++k) {
      chains.push_back(
          {{"HashchainIndex", first + k},
           {"ApproximatePowerConsumptionWatt", std::lround(s.power_w / 3)},
           {"Status", "Stable"},
           {"TunerRunning", false}});
    }
    json t = {{"ApproximateMinerPowerConsumption", std::lround(s.power_w)},
              {"PowerLimit", 3250},
              {"TunerChainStatus", chains}};
    r.body =
        Reply(v, s, "S", 203, "Tuner Status", "TUNERSTATUS", json::array({t}));
  } else if (cmd == "devdetails") {
    json rows = json::array();
    for (int k = 0; k < 3; ++k) {
      rows.push_back(
          {{"ID", first + k},
           {"Name", "Hash Chain " + std::to_string(first + k)},
           {"Model", v == Variant::kBraiinsS9 ? "Bitmain Antminer S9"
                                              : "Bitmain Antminer S19j Pro"},
           {"Chips", v == Variant::kBraiinsS9 ? 63 : 126},
           {"Frequency", s.frequency_mhz * 1e6}});
    }
    r.body = Reply(v, s, "S", 69, "Device Details", "DEVDETAILS", rows);
  } else if (cmd == "version") {
    r.body = Reply(v, s, "S", 22, Signature(v) + " versions", "VERSION",
                   json::array({{{"API", "3.7"}, {Signature(v), Build(v)}}}));
  } else {
    // No restart, reboot or other privileged command on 4028 (§8.1).
    r.body = Reply(v, s, "E", 14, "Invalid command");
  }
  return r;
}

BraiinsWebReply RenderBraiinsWeb(Variant v, std::string_view method,
                                 std::string_view path,
                                 std::string_view authorization,
                                 std::string_view body,
                                 std::string_view password,
                                 std::string_view token) {
  if (v != Variant::kBraiinsS19) return {404, "Not Found", "", false};
  if (method == "GET" && path == "/api/v1/version/") {
    return {200, R"({"major":1,"minor":7,"patch":0})", "", false};
  }
  if (method == "POST" && path == "/api/v1/auth/login") {
    json req = json::parse(body, nullptr, /*allow_exceptions=*/false);
    const bool ok = req.is_object() && req.value("username", "") == "root" &&
                    req.value("password", "") == password;
    if (!ok) {
      return {401, R"({"message":"invalid username or password"})",
              "(password wrong)", false};
    }
    return {200,
            json{{"token", std::string(token)}, {"timeout_s", 3600}}.dump(),
            "(password ok)", false};
  }
  if (method == "PUT" && path == "/api/v1/actions/reboot") {
    if (authorization != token) {
      return {401, "", authorization.empty() ? "(no token)" : "(token wrong)",
              false};
    }
    return {204, "", "(token ok)", true};
  }
  return {404, R"({"message":"not found"})", "", false};
}

}  // namespace rigwatch::sim
