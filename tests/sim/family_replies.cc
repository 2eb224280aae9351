#include "tests/sim/family_replies.h"

#include <openssl/evp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/sim/braiins_replies.h"

namespace rigwatch::sim {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kLuxDescription = "LUXminer 2024.5.1.190103-4f1a2b3";
constexpr auto kSessionTtl = std::chrono::seconds(60);

std::string Description(Variant v) {
  switch (v) {
    case Variant::kAntminerS19:
      return "bmminer 1.0.0";
    case Variant::kLuxosS19:
      return std::string(kLuxDescription);
    default:
      return "cgminer 4.11.1";
  }
}

json Status(Variant v, const Snapshot& s, const char* sev, int code,
            const std::string& msg) {
  return json::array({{{"STATUS", sev},
                       {"When", s.wall_epoch_s},
                       {"Code", code},
                       {"Msg", msg},
                       {"Description", Description(v)}}});
}

std::string Reply(Variant v, const Snapshot& s, const char* sev, int code,
                  const std::string& msg, json extra = json::object()) {
  json doc = {{"STATUS", Status(v, s, sev, code, msg)}};
  for (auto& [k, val] : extra.items()) doc[k] = val;
  doc["id"] = 1;
  return doc.dump();
}

long Round(double v) { return std::lround(v); }

// Four sensors per board, inlet 1, inlet 2, outlet 1, outlet 2 (§6.3).
std::string Dash(double hottest) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%ld-%ld-%ld-%ld", Round(hottest - 12),
                Round(hottest - 14), Round(hottest - 1), Round(hottest));
  return buf;
}
// The same four sensors as a CGI array (§6.5).
json Sensors(double hottest) {
  return json::array({Round(hottest - 12), Round(hottest - 14),
                      Round(hottest - 1), Round(hottest)});
}

json Pools(const Snapshot& s) {
  return json::array({{{"POOL", 0},
                       {"URL", "stratum+tcp://pool.sim.invalid:3333"},
                       {"Status", "Alive"},
                       {"Priority", 0},
                       {"Stratum Active", true},
                       {"Stratum Difficulty", s.pool_difficulty},
                       {"Accepted", s.accepted},
                       {"Rejected", s.rejected}},
                      {{"POOL", 1},
                       {"URL", "stratum+tcp://backup.sim.invalid:3333"},
                       {"Status", "Alive"},
                       {"Priority", 1},
                       {"Stratum Active", false},
                       {"Stratum Difficulty", 0.0}}});
}

json GhsSummary(const Snapshot& s, bool lux) {
  json o = {{"Elapsed", s.uptime_s},
            {"GHS 5s", s.hashrate_ghs},
            {"GHS av", s.hashrate_avg_ghs},
            {"GHS 30m", s.hashrate_10m_ghs}};
  if (lux) {
    o["GHS 1m"] = s.hashrate_1m_ghs;
    o["GHS 5m"] = s.hashrate_10m_ghs;
    o["GHS 15m"] = s.hashrate_1h_ghs;
  }
  o["Found Blocks"] = 0;
  o["Accepted"] = s.accepted;
  o["Rejected"] = s.rejected;
  o["Hardware Errors"] = s.hw_errors;
  o["Best Share"] = s.best_session_diff;
  o["Device Hardware%"] = 0.0001;
  return json::array({o});
}

// STATS[1] in the legacy Antminer layout; chain 4 absent. Chain 2 is the
// hottest, at the model's temperature.
json AntminerData(const Snapshot& s, bool lux) {
  json d = {{"STATS", 0},
            {"ID", "BTM_SOC0"},
            {"Elapsed", s.uptime_s},
            {"GHS 5s", s.hashrate_ghs},
            {"GHS av", s.hashrate_avg_ghs},
            {"rate_unit", "GH"},
            {"total_rateideal", s.expected_ghs},
            {"miner_count", 3},
            {"frequency", Round(s.frequency_mhz)},
            {"fan_num", 4}};
  for (int f = 1; f <= 4; ++f) {
    d["fan" + std::to_string(f)] = s.fan_rpm + 30 * f;
  }
  const double chip[] = {s.temp_c - 1, s.temp_c, s.temp_c - 2};
  for (int n = 1; n <= 4; ++n) {
    const std::string i = std::to_string(n);
    const bool present = n <= 3;
    d["temp_pcb" + i] = present ? Dash(chip[n - 1] - 12) : "0-0-0-0";
    d["temp_chip" + i] = present ? Dash(chip[n - 1]) : "0-0-0-0";
    d["chain_acn" + i] = present ? 76 : 0;
    d["chain_acs" + i] = present ? "oooooooo oooooooo" : "";
    d["chain_hw" + i] = present ? s.hw_errors / 3 : 0;
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.2f", s.hashrate_ghs / 3);
    d["chain_rate" + i] = present ? rate : (lux ? "0" : "");
  }
  d["miner_id"] = "no miner id now";
  return d;
}

json AntminerIdentity(Variant variant) {
  const bool lux = variant == Variant::kLuxosS19;
  json v = {{"CompileTime", "Fri Jul 15 10:47:47 CST 2022"},
            {"Type", "Antminer S19j Pro (96 TH)"}};
  if (variant == Variant::kVnishS19XP) {
    // Vnish keeps bmminer's layout and names itself in `Type` (§11.3).
    v = {{"BMMiner", "1.0.0"},
         {"API", "3.1"},
         {"Miner", "1.2.6"},
         {"CompileTime", "Tue Mar 12 11:02:33 UTC 2024"},
         {"Type", "Antminer S19 XP (Vnish 1.2.6)"}};
  } else if (lux) {
    v = {{"LUXminer", "2024.5.1"},
         {"CompileTime", "2024-05-01"},
         {"Type", "Antminer S19j Pro"}};
  } else {
    v["BMMiner"] = "1.0.0";
    v["Miner"] = "uart_trans.1.3";
  }
  return v;
}

std::string MmId(const Snapshot& s) {
  char buf[1024];
  const long t = Round(s.temp_c);
  std::snprintf(
      buf, sizeof buf,
      "Ver[1366-109-22113001_4e9e7a1_2bd4a7c] DNA[0201000010d2b7a9] "
      "Elapsed[%lld] HW[%llu] DH[0.012%%] Temp[25] TMax[%ld] TAvg[%ld] "
      "Fan1[%d] Fan2[%d] FanR[71%%] PS[0 1216 1248 265 %ld 1248] "
      "GHSspd[%.2f] GHSmm[%.2f] GHSavg[%.2f] MGHS[%.1f %.1f %.1f] "
      "MTmax[%ld %ld %ld] MTavg[%ld %ld %ld] "
      "SYSTEMSTATU[Work: In Work, Hash Board: 3 ] PVT_T0[ 71  73  70  72] "
      "PVT_T1[ 70  72  71  69] PVT_T2[ 72  74  71  70] WORKMODE[1]",
      static_cast<long long>(s.uptime_s),
      static_cast<unsigned long long>(s.hw_errors), t, t - 8, s.fan_rpm,
      s.fan_rpm - 40, Round(s.power_w), s.hashrate_ghs, s.expected_ghs,
      s.hashrate_avg_ghs, s.hashrate_ghs / 3, s.hashrate_ghs / 3,
      s.hashrate_ghs / 3, t, t - 1, t - 2, t - 8, t - 9, t - 8);
  return buf;
}

bool Expired(const LuxSession& ls, SteadyTime now) {
  return ls.id.empty() || now - ls.last_use >= kSessionTtl;
}

FamilyReply Antminer(Variant v, const std::string& cmd, const Snapshot& s) {
  FamilyReply r;
  r.command = cmd;
  if (cmd == "summary") {
    r.body =
        Reply(v, s, "S", 11, "Summary", {{"SUMMARY", GhsSummary(s, false)}});
  } else if (cmd == "pools") {
    r.body = Reply(v, s, "S", 7, "2 Pool(s)", {{"POOLS", Pools(s)}});
  } else if (cmd == "stats") {
    r.body =
        Reply(v, s, "S", 70, "BMMiner stats",
              {{"STATS",
                json::array({AntminerIdentity(v), AntminerData(s, false)})}});
  } else if (cmd == "version") {
    r.body = Reply(v, s, "S", 22, "BMMiner versions",
                   {{"VERSION", json::array({AntminerIdentity(v)})}});
  } else {
    // Stock firmware refuses every privileged command on 4028 (§6.1).
    r.body = Reply(v, s, "E", 45, "Access denied to '" + cmd + "' command");
  }
  return r;
}

FamilyReply Avalon(Variant v, const std::string& cmd, const std::string& param,
                   const Snapshot& s) {
  FamilyReply r;
  r.command = cmd;
  if (cmd == "summary") {
    json o = {{"Elapsed", s.uptime_s},
              {"MHS av", s.hashrate_avg_ghs * 1000},
              {"MHS 30s", s.hashrate_ghs * 1000},
              {"MHS 1m", s.hashrate_1m_ghs * 1000},
              {"MHS 5m", s.hashrate_10m_ghs * 1000},
              {"MHS 15m", s.hashrate_1h_ghs * 1000},
              {"Found Blocks", 0},
              {"Accepted", s.accepted},
              {"Rejected", s.rejected},
              {"Hardware Errors", s.hw_errors},
              {"Best Share", s.best_session_diff},
              {"Device Hardware%", 0.012}};
    r.body = Reply(v, s, "S", 11, "Summary", {{"SUMMARY", json::array({o})}});
  } else if (cmd == "pools") {
    r.body = Reply(v, s, "S", 7, "2 Pool(s)", {{"POOLS", Pools(s)}});
  } else if (cmd == "stats" || cmd == "estats") {
    json e = {{"STATS", 0},        {"ID", "AVA100"}, {"Elapsed", s.uptime_s},
              {"MM ID0", MmId(s)}, {"MM Count", 1},  {"Smart Speed", 1}};
    r.body =
        Reply(v, s, "S", 70, "CGMiner stats", {{"STATS", json::array({e})}});
  } else if (cmd == "version") {
    json e = {{"CGMiner", "4.11.1"},
              {"API", "3.7"},
              {"PROD", "AvalonMiner 1366-109"},
              {"MODEL", "1366"},
              {"VERSION", "22113001_4e9e7a1_2bd4a7c"},
              {"MAC", "b4a2eb3f0a11"}};
    r.body = Reply(v, s, "S", 22, "CGMiner versions",
                   {{"VERSION", json::array({e})}});
  } else if (cmd == "ascset") {
    r.command = "ascset " + param;
    if (param == "0,reboot,0" || param.rfind("0,reboot,", 0) == 0) {
      r.body = Reply(v, s, "I", 118, "ASC 0 set info: reboot");
      r.reboot = true;
    } else if (param == "0,help") {
      r.body =
          Reply(v, s, "I", 118, "ASC 0 set info: reboot|softoff|workmode|help");
    } else {
      r.body = Reply(v, s, "I", 118, "ASC 0 set info: " + param);
    }
  } else if (cmd == "restart") {
    r.body = R"({"STATUS":"RESTART","id":1})";  // cgminer only (§9.3)
    r.reboot = true;
  } else {
    r.body = Reply(v, s, "E", 14, "Invalid command");
  }
  return r;
}

FamilyReply Luxos(Variant v, const std::string& cmd, const std::string& param,
                  const Snapshot& s, SteadyTime now, LuxSession& ls) {
  FamilyReply r;
  r.command = cmd;
  if (cmd == "summary") {
    r.body =
        Reply(v, s, "S", 11, "Summary", {{"SUMMARY", GhsSummary(s, true)}});
  } else if (cmd == "pools") {
    r.body = Reply(v, s, "S", 7, "2 Pool(s)", {{"POOLS", Pools(s)}});
  } else if (cmd == "stats") {
    r.body = Reply(
        v, s, "S", 70, "LUXminer stats",
        {{"STATS", json::array({AntminerIdentity(v), AntminerData(s, true)})}});
  } else if (cmd == "version") {
    json e = {{"API", "3.7"},
              {"CompileTime", "2024-05-01"},
              {"LUXminer", "2024.5.1"},
              {"Miner", "2024.5.1"},
              {"Type", "Antminer S19j Pro"}};
    r.body = Reply(v, s, "S", 22, "LUXminer versions",
                   {{"VERSION", json::array({e})}});
  } else if (cmd == "temps") {
    json rows = json::array();
    for (int b = 0; b < 3; ++b) {
      const double hot = s.temp_c - 12 - (b == 1 ? 0 : 1);
      rows.push_back({{"ID", b},
                      {"TEMP", b},
                      {"TopLeft", hot},
                      {"TopRight", hot - 16},
                      {"BottomLeft", hot - 2},
                      {"BottomRight", hot - 17}});
    }
    json meta = {{{"TopLeft", {{"Label", "Board Exhaust (top)"}}},
                  {"TopRight", {{"Label", "Board Intake (top)"}}},
                  {"BottomLeft", {{"Label", "Board Exhaust (bottom)"}}},
                  {"BottomRight", {{"Label", "Board Intake (bottom)"}}}}};
    r.body = Reply(v, s, "S", 201, "3 Temp(s)",
                   {{"TEMPS", rows}, {"METADATA", meta}});
  } else if (cmd == "power") {
    r.body =
        Reply(v, s, "S", 311, "Power",
              {{"POWER",
                json::array({{{"PSU", true}, {"Watts", Round(s.power_w)}}})}});
  } else if (cmd == "session") {
    if (Expired(ls, now)) ls.id.clear();
    r.body = Reply(v, s, "S", 319, "Session information",
                   {{"SESSION", json::array({{{"SessionID", ls.id}}})}});
  } else if (cmd == "logon") {
    if (!Expired(ls, now)) {
      r.body = Reply(v, s, "E", 402, "Another session is active");
    } else {
      ls.id = "sim" + std::to_string(++ls.created);
      ls.last_use = now;
      r.command = "logon sid=" + ls.id;
      r.body = Reply(v, s, "S", 316, "Session created",
                     {{"SESSION", json::array({{{"SessionID", ls.id}}})}});
    }
  } else if (cmd == "logoff" || cmd == "rebootdevice" || cmd == "resetminer") {
    const std::string sid = param.substr(0, param.find(','));
    r.command = cmd + " sid=" + sid;
    if (Expired(ls, now) || sid != ls.id) {
      r.body = Reply(v, s, "E", 405, "Invalid session id");
      r.command += " refused";
    } else if (cmd == "logoff") {
      ls.id.clear();
      r.body = Reply(v, s, "S", 317, "Session closed");
    } else {
      ls.last_use = now;
      r.body = Reply(v, s, "S", cmd == "rebootdevice" ? 340 : 341,
                     cmd == "rebootdevice" ? "Device reboot requested"
                                           : "Miner reset requested");
      r.command += " accepted";
      r.reboot = true;
    }
  } else {
    r.body = Reply(v, s, "E", 14, "Invalid command");  // restart included
  }
  return r;
}

std::string Md5Hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// key="value" or key=value pairs after "Digest ".
std::map<std::string, std::string> DigestParams(std::string_view h) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == ',')) ++i;
    const size_t eq = h.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(h.substr(i, eq - i));
    size_t j = eq + 1;
    std::string val;
    if (j < h.size() && h[j] == '"') {
      const size_t q = h.find('"', j + 1);
      if (q == std::string_view::npos) break;
      val = std::string(h.substr(j + 1, q - j - 1));
      i = q + 1;
    } else {
      const size_t c = h.find(',', j);
      val = std::string(
          h.substr(j, c == std::string_view::npos ? h.size() - j : c - j));
      i = c == std::string_view::npos ? h.size() : c;
    }
    out[key] = val;
  }
  return out;
}

}  // namespace

std::string AntminerCgiPage(std::string_view page, const Snapshot& s) {
  json status = {{"STATUS", "S"},
                 {"when", s.wall_epoch_s},
                 {"Msg", std::string(page)},
                 {"api_version", "1.0.0"}};
  json info = {{"miner_version", "49.0.1.3"},
               {"CompileTime", "Fri Jul 15 10:47:47 CST 2022"},
               {"type", "Antminer S19j Pro"}};
  // The same figures as the 4028 stats of AntminerData: three boards of
  // 76 chips and the fourth slot down (empty arrays, asic_num 0).
  json top = {
      {"elapsed", s.uptime_s},          {"rate_5s", s.hashrate_ghs},
      {"rate_30m", s.hashrate_avg_ghs}, {"rate_avg", s.hashrate_avg_ghs},
      {"rate_ideal", s.expected_ghs},   {"rate_unit", "GH/s"}};
  if (page == "summary") {
    top["hw_all"] = s.hw_errors;
    top["bestshare"] = s.best_session_diff;
    json st = json::array();
    for (const char* type : {"rate", "network", "fans", "temp"}) {
      st.push_back({{"type", type}, {"status", "s"}, {"code", 0}, {"msg", ""}});
    }
    top["status"] = st;
    return json{{"STATUS", status}, {"INFO", info}, {"SUMMARY", {top}}}.dump();
  }
  top["chain_num"] = 3;
  top["fan_num"] = 4;
  json fans = json::array();
  for (int f = 1; f <= 4; ++f) fans.push_back(s.fan_rpm + 30 * f);
  top["fan"] = fans;
  top["hwp_total"] = 0.0012;
  const double chip[] = {s.temp_c - 1, s.temp_c, s.temp_c - 2};
  json chains = json::array();
  for (int n = 0; n < 4; ++n) {
    const bool present = n < 3;
    json c = {{"index", n},
              {"freq_avg", present ? Round(s.frequency_mhz) : 0},
              {"rate_ideal", present ? s.expected_ghs / 3 : 0},
              {"rate_real", present ? s.hashrate_ghs / 3 : 0},
              {"asic_num", present ? 76 : 0},
              {"temp_pic", present ? Sensors(chip[n] - 20) : json::array()},
              {"temp_pcb", present ? Sensors(chip[n] - 12) : json::array()},
              {"temp_chip", present ? Sensors(chip[n]) : json::array()},
              {"hw", present ? s.hw_errors / 3 : 0},
              {"sn", present ? "SIMBOARD" + std::to_string(n) : ""},
              {"hwp", 0.0001}};
    chains.push_back(c);
  }
  top["chain"] = chains;
  return json{{"STATUS", status}, {"INFO", info}, {"STATS", {top}}}.dump();
}

bool IsVendorVariant(Variant v) {
  return v == Variant::kAntminerS19 || v == Variant::kAvalon1366 ||
         v == Variant::kLuxosS19 || v == Variant::kVnishS19XP || IsBraiins(v);
}

FamilyReply RenderFamilyReply(Variant v, std::string_view request,
                              const Snapshot& s, const Faults& faults,
                              SteadyTime now, LuxSession& session) {
  (void)faults;
  json req = json::parse(request, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded() || !req.is_object()) {
    FamilyReply r;
    // JSON only on these firmwares (§9.1): the text form is unknown.
    r.command = "<not json>";
    r.body = Reply(v, s, "E", 14, "Invalid command");
    return r;
  }
  const std::string cmd = req.contains("command") && req["command"].is_string()
                              ? req["command"].get<std::string>()
                              : "";
  const std::string param =
      req.contains("parameter") && req["parameter"].is_string()
          ? req["parameter"].get<std::string>()
          : "";
  if (cmd.empty()) {
    FamilyReply r;
    r.command = "<no command>";
    r.body = Reply(v, s, "E", 24, "Missing JSON 'command'");
    return r;
  }
  switch (v) {
    case Variant::kAvalon1366:
      return Avalon(v, cmd, param, s);
    case Variant::kLuxosS19:
      return Luxos(v, cmd, param, s, now, session);
    case Variant::kBraiinsS19:
    case Variant::kBraiinsS9:
      return RenderBraiinsReply(v, cmd, s);
    default:
      return Antminer(v, cmd, s);
  }
}

std::string DigestChallenge(std::string_view nonce) {
  return "Digest realm=\"" + std::string(kAntminerRealm) + "\", nonce=\"" +
         std::string(nonce) + "\", qop=\"auth\"";
}

DigestVerdict CheckDigest(std::string_view authorization,
                          std::string_view method, std::string_view nonce,
                          std::string_view password) {
  constexpr std::string_view kScheme = "Digest ";
  if (authorization.substr(0, kScheme.size()) != kScheme) {
    return DigestVerdict::kMissing;
  }
  auto p = DigestParams(authorization.substr(kScheme.size()));
  if (p["username"] != "root" || p["realm"] != kAntminerRealm ||
      p["nonce"] != nonce || p["qop"] != "auth" || p["nc"].empty() ||
      p["cnonce"].empty()) {
    return DigestVerdict::kWrong;
  }
  const std::string ha1 = Md5Hex("root:" + std::string(kAntminerRealm) + ":" +
                                 std::string(password));
  const std::string ha2 = Md5Hex(std::string(method) + ":" + p["uri"]);
  const std::string want = Md5Hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" +
                                  p["cnonce"] + ":auth:" + ha2);
  return want == p["response"] ? DigestVerdict::kOk : DigestVerdict::kWrong;
}

}  // namespace rigwatch::sim
