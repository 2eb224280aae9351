#include "tests/sim/cgminer_replies.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tests/sim/cgminer_text.h"
#include "tests/sim/json_out.h"

namespace rigwatch::sim {
namespace {

using Style = JsonOut::Style;

// S9 hash boards sit in chain slots 6, 7 and 8 of 16 (docs/protocols.md §2.4).
constexpr int kS9Chains[] = {6, 7, 8};

bool IsS9(Variant v) { return v == Variant::kAntminerS9; }

const char* Description(Variant v) {
  return IsS9(v) ? "bmminer 1.0.0" : "cgminer 4.11.1";
}

void StatusBlock(JsonOut& j, Variant v, const Snapshot& s, char sev, int code,
                 std::string_view msg, bool with_description = true) {
  j.Open("STATUS", '[').Open('{');
  const char sev_str[2] = {sev, '\0'};
  j.Str("STATUS", sev_str).Int("When", s.wall_epoch_s).Int("Code", code);
  j.Str("Msg", msg);
  if (with_description) j.Str("Description", Description(v));
  j.Close().Close();
}

void Summary(JsonOut& j, Variant v, const Snapshot& s) {
  StatusBlock(j, v, s, 'S', 11, "Summary");
  j.Open("SUMMARY", '[').Open('{');
  const double mhs = s.hashrate_ghs * 1000;
  j.Int("Elapsed", s.uptime_s);
  if (IsS9(v)) {
    char ghs5s[32];
    std::snprintf(ghs5s, sizeof ghs5s, "%8.7g", s.hashrate_ghs);
    j.Str("GHS 5s", ghs5s).Fmt("GHS av", "%.2f", s.hashrate_avg_ghs);
  } else {
    j.Fmt("MHS av", "%.2f", s.hashrate_avg_ghs * 1000);
    j.Fmt("MHS 5s", "%.2f", mhs);
    j.Fmt("MHS 1m", "%.2f", s.hashrate_1m_ghs * 1000);
    j.Fmt("MHS 5m", "%.2f", s.hashrate_10m_ghs * 1000);
    j.Fmt("MHS 15m", "%.2f", s.hashrate_1h_ghs * 1000);
  }
  const double minutes = std::max(1.0, s.uptime_s / 60.0);
  j.Int("Found Blocks", 0).Uint("Getworks", s.uptime_s / 30 + 1);
  j.Uint("Accepted", s.accepted).Uint("Rejected", s.rejected);
  j.Uint("Hardware Errors", s.hw_errors);
  j.Fmt("Utility", "%.2f", s.accepted / minutes);
  j.Int("Discarded", s.uptime_s / 10).Int("Stale", 0).Int("Get Failures", 0);
  j.Int("Local Work", s.uptime_s * 40).Int("Remote Failures", 0);
  j.Int("Network Blocks", s.uptime_s / 600);
  j.Fmt("Total MH", "%.4f", s.total_hashes / 1e6);
  j.Fmt("Work Utility", "%.2f", s.hashrate_avg_ghs * 1e9 / 4294967296.0 * 60);
  j.Fmt("Difficulty Accepted", "%.8f", s.accepted * s.pool_difficulty);
  j.Fmt("Difficulty Rejected", "%.8f", s.rejected * s.pool_difficulty);
  j.Fmt("Difficulty Stale", "%.8f", 0);
  j.Uint("Best Share", static_cast<uint64_t>(s.best_session_diff));
  j.Fmt("Device Hardware%", "%.4f", 0.0021);
  const double rej = s.accepted + s.rejected > 0
                         ? 100.0 * s.rejected / (s.accepted + s.rejected)
                         : 0;
  j.Fmt("Device Rejected%", "%.4f", rej).Fmt("Pool Rejected%", "%.4f", rej);
  j.Fmt("Pool Stale%", "%.4f", 0).Int("Last getwork", s.wall_epoch_s);
  j.Close().Close();
}

void Devs(JsonOut& j, Variant v, const Snapshot& s) {
  StatusBlock(j, v, s, 'S', 9, "3 ASC(s)");
  j.Open("DEVS", '[');
  for (int d = 0; d < 3; ++d) {
    const double mhs = s.hashrate_ghs * 1000 / 3;
    j.Open('{').Int("ASC", d).Str("Name", IsS9(v) ? "BTM_SOC" : "BTM");
    j.Int("ID", d).Str("Enabled", "Y").Str("Status", "Alive");
    j.Fmt("Temperature", "%.2f", s.temp_c + d);
    j.Fmt("MHS av", "%.2f", s.hashrate_avg_ghs * 1000 / 3);
    j.Fmt("MHS 5s", "%.2f", mhs).Fmt("MHS 1m", "%.2f", mhs);
    j.Fmt("MHS 5m", "%.2f", mhs).Fmt("MHS 15m", "%.2f", mhs);
    j.Uint("Accepted", s.accepted / 3).Uint("Rejected", s.rejected / 3);
    j.Uint("Hardware Errors", s.hw_errors / 3);
    j.Fmt("Utility", "%.2f", s.accepted / 3 / std::max(1.0, s.uptime_s / 60.0));
    j.Int("Last Share Pool", 0).Int("Last Share Time", s.wall_epoch_s - 2);
    j.Fmt("Total MH", "%.4f", s.total_hashes / 3e6);
    j.Uint("Diff1 Work", s.accepted * 64);
    j.Fmt("Difficulty Accepted", "%.8f", s.accepted / 3 * s.pool_difficulty);
    j.Fmt("Difficulty Rejected", "%.8f", s.rejected / 3 * s.pool_difficulty);
    j.Fmt("Last Share Difficulty", "%.8f", s.pool_difficulty);
    j.Bool("No Device", false).Int("Last Valid Work", s.wall_epoch_s - 1);
    j.Fmt("Device Hardware%", "%.4f", 0.0021);
    j.Fmt("Device Rejected%", "%.4f", 0.4).Int("Device Elapsed", s.uptime_s);
    j.Close();
  }
  j.Close();
}

void Pools(JsonOut& j, Variant v, const Snapshot& s) {
  StatusBlock(j, v, s, 'S', 7, "2 Pool(s)");
  j.Open("POOLS", '[');
  for (int p = 0; p < 2; ++p) {
    const bool active = p == 0;
    const char* url = active ? "stratum+tcp://pool.sim.invalid:3333"
                             : "stratum+tcp://backup.sim.invalid:3333";
    j.Open('{').Int("POOL", p).Str("URL", url).Str("Status", "Alive");
    j.Int("Priority", p).Int("Quota", 1).Str("Long Poll", "N");
    j.Uint("Getworks", active ? s.uptime_s / 30 + 1 : 0);
    j.Uint("Accepted", active ? s.accepted : 0);
    j.Uint("Rejected", active ? s.rejected : 0);
    j.Int("Works", active ? s.uptime_s * 40 : 0).Int("Discarded", 0);
    j.Int("Stale", 0).Int("Get Failures", 0).Int("Remote Failures", 0);
    j.Str("User", "sim.worker").Int("Last Share Time", s.wall_epoch_s - 2);
    j.Uint("Diff1 Shares", active ? s.accepted * 64 : 0);
    j.Str("Proxy Type", "").Str("Proxy", "");
    j.Fmt("Difficulty Accepted", "%.8f",
          active ? s.accepted * s.pool_difficulty : 0);
    j.Fmt("Difficulty Rejected", "%.8f",
          active ? s.rejected * s.pool_difficulty : 0);
    j.Fmt("Difficulty Stale", "%.8f", 0);
    j.Fmt("Last Share Difficulty", "%.8f", s.pool_difficulty);
    j.Fmt("Work Difficulty", "%.8f", s.pool_difficulty);
    j.Bool("Has Stratum", true).Bool("Stratum Active", active);
    j.Str("Stratum URL", active ? "pool.sim.invalid" : "");
    j.Fmt("Stratum Difficulty", "%.8f", s.pool_difficulty);
    j.Bool("Has Vmask", true).Bool("Has GBT", false);
    j.Uint("Best Share",
           active ? static_cast<uint64_t>(s.best_session_diff) : 0);
    j.Fmt("Pool Rejected%", "%.4f", 0.4).Fmt("Pool Stale%", "%.4f", 0);
    j.Int("Bad Work", 0).Int("Current Block Height", 870000);
    j.Int("Current Block Version", 536870912).Close();
  }
  j.Close();
}

void Version(JsonOut& j, Variant v, const Snapshot& s) {
  StatusBlock(j, v, s, 'S', 22,
              IsS9(v) ? "BMMiner versions" : "CGMiner versions");
  j.Open("VERSION", '[').Open('{');
  if (IsS9(v)) {
    j.Str("BMMiner", "2.0.0").Str("API", "3.1").Str("Miner", "16.8.1.3");
    j.Str("CompileTime", "Fri Nov 17 17:37:49 CST 2017");
    j.Str("Type", "Antminer S9");
  } else {
    j.Str("CGMiner", "4.11.1").Str("API", "3.7");
  }
  j.Close().Close();
}

void GenericStats(JsonOut& j, const Snapshot& s, int n, const char* id) {
  j.Int("STATS", n).Str("ID", id).Int("Elapsed", s.uptime_s);
  j.Int("Calls", 0).Raw("Wait", "0.000000").Raw("Max", "0.000000");
  j.Raw("Min", "99999999.000000");
}

void S9Device(JsonOut& j, const Snapshot& s) {
  char buf[64];
  j.Open('{');
  GenericStats(j, s, 0, "BC50");
  std::snprintf(buf, sizeof buf, "%8.7g", s.hashrate_ghs);
  j.Str("GHS 5s", buf).Fmt("GHS av", "%.2f", s.hashrate_avg_ghs);
  j.Int("miner_count", 3).Str("frequency", "650").Int("fan_num", 2);
  for (int f = 1; f <= 8; ++f) {
    std::snprintf(buf, sizeof buf, "fan%d", f);
    j.Int(buf, f == 3 || f == 6 ? s.fan_rpm : 0);
  }
  j.Int("temp_num", 3);
  auto populated = [](int c) { return c >= 6 && c <= 8; };
  const char* groups[] = {"temp", "temp2_", "temp3_"};
  for (int g = 0; g < 3; ++g) {
    for (int c = 1; c <= 16; ++c) {
      std::snprintf(buf, sizeof buf, "%s%d", groups[g], c);
      const int t = g == 1 ? static_cast<int>(s.temp_c) + c - 6
                           : static_cast<int>(s.temp_c) - 15 + c - 6;
      j.Int(buf, populated(c) && g < 2 ? t : 0);
    }
  }
  for (int c = 1; c <= 16; ++c) {
    std::snprintf(buf, sizeof buf, "freq_avg%d", c);
    j.Fmt(buf, "%.2f", populated(c) ? 650.0 : 0.0);
  }
  j.Fmt("total_rateideal", "%.2f", s.expected_ghs);
  j.Fmt("total_freqavg", "%.2f", 650.0).Int("total_acn", 189);
  j.Fmt("total_rate", "%.2f", s.hashrate_ghs);
  for (int c = 1; c <= 16; ++c) {
    std::snprintf(buf, sizeof buf, "chain_rateideal%d", c);
    j.Fmt(buf, "%.2f", populated(c) ? s.expected_ghs / 3 : 0.0);
  }
  j.Int("temp_max", static_cast<int>(s.temp_c) + 2);
  j.Fmt("Device Hardware%", "%.4f", 0.0021).Int("no_matching_work", 0);
  for (int c = 1; c <= 16; ++c) {
    std::snprintf(buf, sizeof buf, "chain_acn%d", c);
    j.Int(buf, populated(c) ? 63 : 0);
  }
  std::string acs;
  for (int chip = 0; chip < 63; ++chip) {
    if (chip > 0 && chip % 8 == 0) acs += ' ';
    acs += 'o';
  }
  for (int c = 1; c <= 16; ++c) {
    std::snprintf(buf, sizeof buf, "chain_acs%d", c);
    j.Str(buf, populated(c) ? acs : "");
  }
  for (int c = 1; c <= 16; ++c) {
    std::snprintf(buf, sizeof buf, "chain_hw%d", c);
    j.Uint(buf, populated(c) ? s.hw_errors / 3 : 0);
  }
  for (int c = 1; c <= 16; ++c) {
    std::snprintf(buf, sizeof buf, "chain_rate%d", c);
    char rate[32] = "";
    if (populated(c))
      std::snprintf(rate, sizeof rate, "%.2f", s.hashrate_ghs / 3);
    j.Str(buf, rate);
  }
  for (int c : kS9Chains) {
    std::snprintf(buf, sizeof buf, "chain_xtime%d", c);
    j.Str(buf, "{}");
    std::snprintf(buf, sizeof buf, "chain_offside_%d", c);
    j.Str(buf, "0");
    std::snprintf(buf, sizeof buf, "chain_opencore_%d", c);
    j.Str(buf, "1");
  }
  j.Str("miner_version", "16.8.1.3").Close();
}

void Stats(std::string& out, Variant v, const Snapshot& s) {
  JsonOut j(out, Style::kCompact);
  j.Open('{');
  StatusBlock(j, v, s, 'S', 70, IsS9(v) ? "BMMiner stats" : "CGMiner stats");
  j.Open("STATS", '[');
  if (IsS9(v)) {
    j.Open('{').Str("BMMiner", "2.0.0").Str("Miner", "16.8.1.3");
    j.Str("CompileTime", "Fri Nov 17 17:37:49 CST 2017");
    j.Str("Type", "Antminer S9").Close();
    // bmminer prints the device element with precom=false: "}{"
    // (docs/protocols.md §2.4).
    std::string dev;
    JsonOut d(dev, Style::kCompact);
    S9Device(d, s);
    out += dev;
  } else {
    for (int d = 0; d < 3; ++d) {
      char id[16];  // "BTM" + any int + NUL: -Wformat-truncation can prove it
                    // fits
      std::snprintf(id, sizeof id, "BTM%d", d);
      j.Open('{');
      GenericStats(j, s, d, id);
      j.Close();
    }
    j.Open('{');
    GenericStats(j, s, 3, "POOL0");
    j.Int("Pool Calls", 0).Int("Pool Attempts", 0);
    j.Raw("Pool Wait", "0.000000").Raw("Pool Max", "0.000000");
    j.Raw("Pool Min", "99999999.000000").Raw("Pool Av", "0.000000");
    j.Bool("Work Had Roll Time", false).Bool("Work Can Roll", false);
    j.Bool("Work Had Expire", false).Int("Work Roll Time", 0);
    j.Fmt("Work Diff", "%.8f", s.pool_difficulty);
    j.Fmt("Min Diff", "%.8f", s.pool_difficulty);
    j.Fmt("Max Diff", "%.8f", s.pool_difficulty);
    j.Int("Min Diff Count", 1).Int("Max Diff Count", 1);
    j.Uint("Times Sent", s.accepted + 3).Uint("Bytes Sent", s.accepted * 150);
    j.Uint("Times Recv", s.accepted + 9).Uint("Bytes Recv", s.accepted * 400);
    j.Uint("Net Bytes Sent", s.accepted * 150);
    j.Uint("Net Bytes Recv", s.accepted * 400).Close();
  }
  j.Close().Int("id", 1).Close();
}

// One full reply object for a single command, appended to `out`.
// Returns false for an unknown command (a Code 14 reply is appended).
bool Single(std::string& out, Variant v, std::string_view cmd,
            const Snapshot& s, const Faults& f, bool* restart) {
  if (f.code45 == Faults::Deny::kAll ||
      (cmd == "restart" && f.code45 == Faults::Deny::kRestart)) {
    JsonOut j(out, Style::kCompact);
    j.Open('{');
    StatusBlock(j, v, s, 'E', 45,
                "Access denied to '" + std::string(cmd) + "' command");
    j.Int("id", 1).Close();
    return true;
  }
  if (cmd == "stats") {
    Stats(out, v, s);
    return true;
  }
  if (cmd == "restart") {
    out += "{\"STATUS\":\"RESTART\",\"id\":1}";
    *restart = true;
    return true;
  }
  JsonOut j(out, Style::kCompact);
  j.Open('{');
  bool known = true;
  if (cmd == "summary") {
    Summary(j, v, s);
  } else if (cmd == "devs") {
    Devs(j, v, s);
  } else if (cmd == "pools") {
    Pools(j, v, s);
  } else if (cmd == "version") {
    Version(j, v, s);
  } else if (cmd == "privileged") {
    StatusBlock(j, v, s, 'S', 46, "Privileged access OK");
  } else {
    // Description is omitted for Code 14 (docs/protocols.md §2.1).
    StatusBlock(j, v, s, 'E', 14, "Invalid command", false);
    known = false;
  }
  j.Int("id", 1).Close();
  return known;
}

void Error(std::string& out, Variant v, const Snapshot& s, int code,
           std::string_view msg) {
  JsonOut j(out, Style::kCompact);
  j.Open('{');
  StatusBlock(j, v, s, 'E', code, msg);
  j.Int("id", 1).Close();
}

// Extracts the string value of "command" from a small JSON object without a
// JSON library (hot path). Returns false when the text is not an object.
bool ExtractCommand(std::string_view req, std::string* cmd, bool* present) {
  *present = false;
  size_t end = req.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos || req[end] != '}') return false;
  const size_t k = req.find("\"command\"");
  if (k == std::string_view::npos) return true;
  size_t p = k + 9;
  while (p < req.size() && (req[p] == ' ' || req[p] == '\t')) ++p;
  if (p >= req.size() || req[p] != ':') return false;
  ++p;
  while (p < req.size() && (req[p] == ' ' || req[p] == '\t')) ++p;
  if (p >= req.size() || req[p] != '"') return false;
  const size_t q = req.find('"', p + 1);
  if (q == std::string_view::npos) return false;
  *cmd = std::string(req.substr(p + 1, q - p - 1));
  *present = true;
  return true;
}

}  // namespace

CgminerReply RenderCgminerReply(Variant v, std::string_view request,
                                const Snapshot& s, const Faults& faults) {
  CgminerReply r;
  r.body.reserve(IsS9(v) ? 8192 : 2048);
  std::string cmd;
  if (!request.empty() && request[0] == '{') {
    bool present = false;
    if (!ExtractCommand(request, &cmd, &present)) {
      r.command = "<invalid json>";
      Error(r.body, v, s, 23, "Invalid JSON");
      return r;
    }
    if (!present) {
      r.command = "<no command>";
      Error(r.body, v, s, 24, "Missing JSON 'command'");
      return r;
    }
  } else {
    // Plain text: "summary" or "pga|0". No joins in text mode, so
    // "summary+devs" is just an unknown command here.
    cmd = std::string(request.substr(0, request.find('|')));
    r.command = cmd;
    std::string json;
    Single(json, v, cmd, s, faults, &r.restart);
    r.body = CgminerJsonToText(json);
    return r;
  }
  r.command = cmd;
  if (cmd.find('+') == std::string::npos) {
    Single(r.body, v, cmd, s, faults, &r.restart);
    return r;
  }
  // Multi-command: each section is a 1-element array (docs/protocols.md §2.1);
  // duplicates are dropped. Only report commands join; "restart" is refused in
  // a join.
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= cmd.size()) {
    size_t plus = cmd.find('+', start);
    if (plus == std::string::npos) plus = cmd.size();
    std::string part = cmd.substr(start, plus - start);
    if (std::find(parts.begin(), parts.end(), part) == parts.end()) {
      parts.push_back(std::move(part));
    }
    start = plus + 1;
  }
  r.body += '{';
  bool first = true;
  for (const std::string& part : parts) {
    if (!first) r.body += ',';
    first = false;
    r.body += '"';
    r.body += part;
    r.body += "\":[";
    if (part == "restart") {
      Error(r.body, v, s, 45, "Access denied to 'restart' command");
    } else {
      bool ignored_restart = false;
      Single(r.body, v, part, s, faults, &ignored_restart);
    }
    r.body += ']';
  }
  r.body += ",\"id\":1}";
  return r;
}

}  // namespace rigwatch::sim
