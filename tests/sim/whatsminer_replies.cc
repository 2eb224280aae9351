#include "tests/sim/whatsminer_replies.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "exporters/whatsminer.h"

namespace rigwatch::sim {
namespace {

using json = nlohmann::ordered_json;

constexpr auto kTokenLife = std::chrono::minutes(30);
constexpr size_t kMaxTokens = 32;
constexpr std::string_view kFirmware = "20240326.18.REL";

// The flat envelope of get_*, tokens and writes (STATUS a string).
json Flat(const Snapshot& s, const char* sev, int code, json msg) {
  return {{"STATUS", sev},
          {"When", s.wall_epoch_s},
          {"Code", code},
          {"Msg", std::move(msg)},
          {"Description", ""}};
}

std::string Sections(const Snapshot& s, int code, const char* msg,
                     const char* key, json rows) {
  json doc = {{"STATUS", json::array({{{"STATUS", "S"},
                                       {"When", s.wall_epoch_s},
                                       {"Code", code},
                                       {"Msg", msg},
                                       {"Description", "btminer"}}})},
              {key, std::move(rows)},
              {"id", 1}};
  return doc.dump();
}

// Board b's average chip temperature; board 2 (index 1) is the hottest.
double BoardChip(const Snapshot& s, int b) {
  return s.temp_c + (b == 1 ? 1.0 : b == 0 ? -1.0 : -2.0);
}

std::string Summary(const Snapshot& s) {
  const double mhs = s.hashrate_ghs * 1000;
  json o = {{"Elapsed", s.uptime_s},
            {"MHS av", s.hashrate_avg_ghs * 1000},
            {"MHS 5s", mhs},
            {"MHS 1m", s.hashrate_1m_ghs * 1000},
            {"MHS 5m", s.hashrate_10m_ghs * 1000},
            {"MHS 15m", s.hashrate_1h_ghs * 1000},
            {"HS RT", mhs},
            {"Accepted", s.accepted},
            {"Rejected", s.rejected},
            {"Temperature", s.temp_c - 14},
            {"freq_avg", s.frequency_mhz},
            {"Fan Speed In", s.fan_rpm},
            {"Fan Speed Out", s.fan_rpm - 30},
            {"Power", s.power_w},
            {"Power_RT", s.power_w},
            {"Env Temp", 25.0},
            {"Factory GHS", s.expected_ghs},
            {"Power Limit", 3600},
            {"Chip Temp Min", s.temp_c - 9},
            {"Chip Temp Max", s.temp_c + 7},
            {"Chip Temp Avg", s.temp_c},
            {"Firmware Version", "'" + std::string(kFirmware) + "'"},
            {"MAC", "C8:11:0B:00:00:01"}};
  // The summary STATUS carries no Code (API 2.0.5).
  json doc = {{"STATUS", json::array({{{"STATUS", "S"}, {"Msg", "Summary"}}})},
              {"SUMMARY", json::array({o})},
              {"id", 1}};
  return doc.dump();
}

json Boards(const Snapshot& s) {
  json rows = json::array();
  for (int b = 0; b < 3; ++b) {
    const double chip = BoardChip(s, b);
    rows.push_back({{"ASC", b},
                    {"Slot", b},
                    {"Enabled", "Y"},
                    {"Status", "Alive"},
                    {"Temperature", chip - 14},
                    {"Chip Frequency", s.frequency_mhz},
                    {"MHS av", s.hashrate_avg_ghs * 1000 / 3},
                    {"MHS 5s", s.hashrate_ghs * 1000 / 3},
                    {"MHS 1m", s.hashrate_1m_ghs * 1000 / 3},
                    {"Effective Chips", 148},
                    {"Chip Temp Min", chip - 9},
                    {"Chip Temp Max", chip + 7},
                    {"Chip Temp Avg", chip}});
  }
  return rows;
}

json PoolRows(const Snapshot& s) {
  return json::array({{{"POOL", 0},
                       {"URL", "stratum+tcp://pool.sim.invalid:3333"},
                       {"Status", "Alive"},
                       {"Stratum Active", true},
                       {"Stratum Difficulty", s.pool_difficulty},
                       {"Accepted", s.accepted},
                       {"Rejected", s.rejected},
                       {"User", "sim.m50s"}}});
}

bool Live(const WhatsminerTokens::Token& t, SteadyTime now) {
  return now - t.issued < kTokenLife;
}

std::string NewSalt(uint64_t n) {
  static constexpr char kAlpha[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t x = Mix64(n);
  std::string out;
  for (int i = 0; i < 8; ++i, x >>= 6) out += kAlpha[x % 62];
  return out;
}

std::string Str(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

FamilyReply Write(const json& req, const Snapshot& s, const Faults& f,
                  SteadyTime now, WhatsminerTokens& tokens) {
  FamilyReply r;
  // The signs of the live tokens under the miner's own password; the AES
  // key is the same for all of them.
  std::vector<std::string> signs;
  std::string aes_key;
  for (const WhatsminerTokens::Token& t : tokens.live) {
    if (!Live(t, now)) continue;
    Result<whatsminer::WriteKey> wk = whatsminer::DeriveWriteKey(
        f.api_password, kWhatsminerSalt, t.newsalt, t.time);
    if (!wk.ok()) continue;
    signs.push_back(wk->sign);
    aes_key = wk->aes_key;
  }
  std::string cmd, token;
  if (!signs.empty()) {
    Result<std::string> plain =
        whatsminer::DecryptData(Str(req, "data"), aes_key);
    if (!plain.ok()) {
      r.command = "enc base64 error";
      r.body = Flat(s, "E", 137, "base64 decode error").dump();
      return r;
    }
    json inner = json::parse(*plain, nullptr, /*allow_exceptions=*/false);
    if (inner.is_object()) {
      cmd = Str(inner, "cmd");
      token = Str(inner, "token");
    }
  }
  if (token.empty() ||
      std::find(signs.begin(), signs.end(), token) == signs.end()) {
    // A wrong password gives another AES key and another sign: the miner
    // finds no token it handed out, and says so in clear.
    r.command = (cmd.empty() ? std::string("enc") : cmd) + " check token err";
    r.body = Flat(s, "E", 135, "check token err").dump();
    return r;
  }
  json reply;
  if (cmd == "restart_btminer" || cmd == "reboot") {
    reply = Flat(s, "S", 131, "API command OK");
    r.command = cmd + " accepted";
    r.reboot = true;
  } else {
    reply = Flat(s, "E", 14, "invalid cmd");
    r.command = cmd + " invalid";
  }
  r.body = json{{"enc", whatsminer::EncryptData(reply.dump(), aes_key)}}.dump();
  return r;
}

}  // namespace

FamilyReply RenderWhatsminerReply(std::string_view request, const Snapshot& s,
                                  const Faults& faults, SteadyTime now,
                                  WhatsminerTokens& tokens) {
  FamilyReply r;
  json req = json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded() || !req.is_object()) {
    r.command = "<not json>";
    r.body = Flat(s, "E", 23, "invalid JSON message").dump();
    return r;
  }
  if (req.contains("enc")) return Write(req, s, faults, now, tokens);
  std::string cmd = Str(req, "cmd");
  if (cmd.empty()) cmd = Str(req, "command");
  r.command = cmd.empty() ? "<no cmd>" : cmd;
  if (cmd == "summary") {
    r.body = Summary(s);
  } else if (cmd == "edevs" || cmd == "devs") {
    r.body = Sections(s, 9, "3 ASC(s)", "DEVS", Boards(s));
  } else if (cmd == "pools") {
    r.body = Sections(s, 7, "1 Pool(s)", "POOLS", PoolRows(s));
  } else if (cmd == "devdetails") {
    json rows = json::array();
    for (int b = 0; b < 3; ++b) {
      rows.push_back({{"DEVDETAILS", b},
                      {"Name", "SM"},
                      {"ID", b},
                      {"Driver", "bitmicro"},
                      {"Kernel", ""},
                      {"Model", "M50S_VH41"}});
    }
    r.body = Sections(s, 69, "Device Details", "DEVDETAILS", rows);
  } else if (cmd == "get_version") {
    r.body = Flat(s, "S", 131,
                  {{"api_ver", "2.0.5"},
                   {"fw_ver", std::string(kFirmware)},
                   {"platform", "H616"}})
                 .dump();
  } else if (cmd == "status") {
    r.body = Flat(s, "S", 131,
                  {{"mineroff", "false"},
                   {"mineroff_reason", ""},
                   {"FirmwareVersion", "'" + std::string(kFirmware) + "'"},
                   {"power_mode", "Normal"}})
                 .dump();
  } else if (cmd == "get_token") {
    std::erase_if(tokens.live, [&](const WhatsminerTokens::Token& t) {
      return !Live(t, now);
    });
    if (tokens.live.size() >= kMaxTokens) {
      r.body = Flat(s, "E", 136, "over max connect").dump();
      return r;
    }
    char time[8];
    std::snprintf(time, sizeof time, "%04lld",
                  static_cast<long long>(s.wall_epoch_s % 10000));
    WhatsminerTokens::Token t{time, NewSalt(++tokens.issued), now};
    r.body = Flat(s, "S", 134,
                  {{"time", t.time},
                   {"salt", std::string(kWhatsminerSalt)},
                   {"newsalt", t.newsalt}})
                 .dump();
    tokens.live.push_back(std::move(t));
  } else if (cmd == "restart_btminer" || cmd == "reboot" ||
             cmd == "power_off" || cmd == "power_on" || cmd == "set_led") {
    r.command = cmd + " in clear";  // writes are only taken encrypted
    r.body = Flat(s, "E", 45, "permission denied").dump();
  } else {
    r.body = Flat(s, "E", 14, "invalid cmd").dump();  // `version` included
  }
  return r;
}

}  // namespace rigwatch::sim
