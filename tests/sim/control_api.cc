// The simulator's control API (JSON over HTTP on 127.0.0.1). Runs on the
// loop thread, so it reads and changes miner state without locks. This is
// the one place nlohmann::json is used; its exceptions are caught here.
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/sim/fleet_sim.h"

namespace rigwatch::sim {
namespace {

using nlohmann::json;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string ParamText(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
    return buf;
  }
  return v.dump();
}

}  // namespace

void FleetSim::HandleControl(const HttpRequest& req, int* status,
                             std::string* body) {
  auto error = [&](int code, const std::string& msg) {
    *status = code;
    *body = json{{"error", msg}}.dump();
  };
  try {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const std::vector<std::string> parts = SplitPath(path);
    json in = json::object();
    if (!req.body.empty()) {
      in = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (in.is_discarded() || !in.is_object()) {
        return error(400, "body is not a JSON object");
      }
    }
    const SteadyTime now = clock_->SteadyNow();
    auto summary = [&](uint32_t i) {
      const Miner& m = miners_[i];
      const MinerView& v = views_[i];
      return json{{"name", v.name},
                  {"variant", std::string(VariantName(v.variant))},
                  {"kind", std::string(KindOf(v.variant))},
                  {"address", v.address()},
                  {"up", !m.model.Down(now) && m.listen_fd >= 0},
                  {"faults", ActiveFaults(m.faults)},
                  {"requests_total", m.requests_total},
                  {"restarts", m.restarts},
                  {"reboots", m.model.reboots()}};
    };
    // Sets the listener to match the faults and reboot state.
    auto sync_listener = [&](uint32_t i) -> Status {
      Miner& m = miners_[i];
      if (m.faults.refuse || m.model.Down(now)) {
        Unlisten(i);
        return Status::Ok();
      }
      return Listen(i);
    };

    if (parts.size() == 1 && parts[0] == "healthz") {
      *body = json{{"ok", true}, {"miners", miners_.size()}}.dump();
      return;
    }
    if (parts.size() == 2 && parts[0] == "clock" && parts[1] == "advance" &&
        req.method == "POST") {
      if (!options_.advance_clock) {
        return error(409, "the simulator runs on the wall clock");
      }
      if (!in.contains("ms") || !in["ms"].is_number() || in["ms"] < 0) {
        return error(400, "want {\"ms\": N >= 0}");
      }
      Status st = options_.advance_clock(
          std::chrono::milliseconds(in["ms"].get<int64_t>()));
      if (!st.ok()) return error(400, st.ToString());
      RunTimers();
      *body = json{{"ok", true}}.dump();
      return;
    }
    if (parts.empty() || parts[0] != "miners") {
      return error(404, "no such endpoint: " + req.method + " " + path);
    }
    if (parts.size() == 1 && req.method == "GET") {
      json list = json::array();
      for (uint32_t i = 0; i < miners_.size(); ++i) list.push_back(summary(i));
      *body = json{{"miners", std::move(list)}}.dump();
      return;
    }
    // Targets: one miner by name, or "*" for all.
    std::vector<uint32_t> targets;
    if (parts.size() >= 2 && parts[1] == "*") {
      for (uint32_t i = 0; i < miners_.size(); ++i) targets.push_back(i);
    } else if (parts.size() >= 2) {
      auto it = by_name_.find(parts[1]);
      if (it == by_name_.end()) return error(404, "no miner named " + parts[1]);
      targets.push_back(it->second);
    }
    const std::string sub = parts.size() >= 3 ? parts[2] : "";

    if (parts.size() == 2 && req.method == "GET" && targets.size() == 1) {
      const uint32_t i = targets[0];
      Miner& m = miners_[i];
      json j = summary(i);
      if (!m.model.Down(now)) {
        const Snapshot s = m.model.At(now, clock_->Now(), m.faults);
        j["state"] = {{"hashrate_ghs", s.hashrate_ghs},
                      {"temp_c", s.temp_c},
                      {"accepted", s.accepted},
                      {"rejected", s.rejected},
                      {"uptime_s", s.uptime_s},
                      {"best_diff", s.best_diff},
                      {"best_session_diff", s.best_session_diff}};
      }
      j["nominal_ghs"] = m.model.nominal_ghs();
      j["base_temp_c"] = m.model.base_temp_c();
      *body = j.dump();
      return;
    }
    if (sub == "requests" && parts.size() == 3 && targets.size() == 1) {
      Miner& m = miners_[targets[0]];
      if (req.method == "DELETE") {
        m.log.clear();
        *body = json{{"ok", true}}.dump();
        return;
      }
      json list = json::array();
      for (const RequestRecord& r : m.log) {
        list.push_back({{"t_ms", r.wall_ms}, {"what", r.what}});
      }
      *body = json{{"total", m.requests_total}, {"requests", std::move(list)}}
                  .dump();
      return;
    }
    if (sub == "faults" && req.method == "POST" && parts.size() == 3) {
      if (!in.contains("fault") || !in["fault"].is_string()) {
        return error(400, "want {\"fault\": NAME, \"value\": optional}");
      }
      const std::string name = in["fault"].get<std::string>();
      const std::string param =
          in.contains("value") ? ParamText(in["value"]) : "";
      for (uint32_t i : targets) {
        Status st = ApplyFault(miners_[i].faults, name, param, now);
        if (!st.ok()) return error(400, st.message());
        st = sync_listener(i);
        if (!st.ok()) return error(500, st.ToString());
      }
      *body = json{{"ok", true}, {"miners", targets.size()}}.dump();
      return;
    }
    if (sub == "faults" && req.method == "DELETE" && parts.size() == 4) {
      for (uint32_t i : targets) {
        Status st = ClearFault(miners_[i].faults, parts[3]);
        if (!st.ok()) return error(400, st.message());
        st = sync_listener(i);
        if (!st.ok()) return error(500, st.ToString());
      }
      *body = json{{"ok", true}, {"miners", targets.size()}}.dump();
      return;
    }
    if (sub == "reboot" && req.method == "POST" && parts.size() == 3) {
      Duration downtime = options_.reboot_downtime;
      if (in.contains("downtime_ms")) {
        if (!in["downtime_ms"].is_number() || in["downtime_ms"] < 0) {
          return error(400, "downtime_ms must be a number >= 0");
        }
        downtime = std::chrono::milliseconds(in["downtime_ms"].get<int64_t>());
      }
      for (uint32_t i : targets) Reboot(i, downtime);
      *body = json{{"ok", true}, {"miners", targets.size()}}.dump();
      return;
    }
    if (sub == "params" && req.method == "POST" && parts.size() == 3) {
      for (const auto& [k, v] : in.items()) {
        if (!v.is_number()) return error(400, k + " must be a number");
        if (k != "hashrate_ghs" && k != "temp_c") {
          return error(
              400, "unknown parameter " + k + " (known: hashrate_ghs, temp_c)");
        }
      }
      for (uint32_t i : targets) {
        if (in.contains("hashrate_ghs")) {
          miners_[i].model.set_nominal_ghs(in["hashrate_ghs"].get<double>());
        }
        if (in.contains("temp_c")) {
          miners_[i].model.set_base_temp_c(in["temp_c"].get<double>());
        }
      }
      *body = json{{"ok", true}, {"miners", targets.size()}}.dump();
      return;
    }
    return error(404, "no such endpoint: " + req.method + " " + path);
  } catch (const json::exception& e) {
    return error(400, std::string("bad JSON: ") + e.what());
  }
}

}  // namespace rigwatch::sim
