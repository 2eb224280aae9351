// The REST side of the simulated Vnish miner (vnish_replies.h), served on
// the miner's one port next to its 4028 API.
#include "tests/sim/fleet_sim.h"
#include "tests/sim/vnish_replies.h"

namespace rigwatch::sim {

void FleetSim::HandleVnishWeb(uint64_t id, const HttpRequest& req) {
  Conn& c = conns_.at(id);
  const uint32_t i = static_cast<uint32_t>(c.miner);
  Miner& m = miners_[i];
  const std::string path = req.target.substr(0, req.target.find('?'));
  // One token per miner and boot: a reboot invalidates it.
  const std::string token =
      "vn" + std::to_string(Mix64(options_.seed ^ (i * 7919ULL) ^ m.gen));
  const bool bearer_ok = req.authorization == "Bearer " + token;
  VnishReply r;
  bool restart = false;
  std::string what = req.method + " " + path;
  if (req.method == "GET" && path == "/api/v1/summary") {
    r.body = RenderVnishSummary(
        m.model.At(clock_->SteadyNow(), clock_->Now(), m.faults));
  } else if (req.method == "GET" && path == "/api/v1/info") {
    r.body = RenderVnishInfo(m.id.name);
  } else if (req.method == "POST" && path == "/api/v1/unlock") {
    r = RenderVnishUnlock(req.body, m.faults.web_password, token);
    what += r.status == 200 ? " (password ok)" : " (password wrong)";
  } else if (req.method == "POST" && path == "/api/v1/system/reboot") {
    if (bearer_ok) {
      r.body = R"({"after":3})";
      restart = true;
      what += " (token ok)";
    } else {
      r = {401, ""};
      what += req.authorization.empty() ? " (no token)" : " (token wrong)";
    }
  } else {
    r = {404, R"({"err":"not found"})"};
  }
  Record(m, what);
  c.out = HttpHead(r.status, "application/json", r.body.size(), true) + r.body;
  c.close_after = true;
  if (restart) ScheduleRestart(i);
  StartReply(id);
}

}  // namespace rigwatch::sim
