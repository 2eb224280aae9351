// The web side of the simulated Braiins OS miners (braiins_replies.h),
// served on the miner's one port next to its 4028 API.
#include "tests/sim/braiins_replies.h"
#include "tests/sim/fleet_sim.h"

namespace rigwatch::sim {

void FleetSim::HandleBraiinsWeb(uint64_t id, const HttpRequest& req) {
  Conn& c = conns_.at(id);
  const uint32_t i = static_cast<uint32_t>(c.miner);
  Miner& m = miners_[i];
  const std::string path = req.target.substr(0, req.target.find('?'));
  // One token per miner and boot: a reboot invalidates it.
  const std::string token =
      "bos" + std::to_string(Mix64(options_.seed ^ (i * 104729ULL) ^ m.gen));
  BraiinsWebReply r =
      RenderBraiinsWeb(views_[i].variant, req.method, path, req.authorization,
                       req.body, m.faults.web_password, token);
  Record(m, req.method + " " + path + (r.note.empty() ? "" : " " + r.note));
  c.out = HttpHead(r.status, "application/json", r.body.size(), true) + r.body;
  c.close_after = true;
  if (r.reboot) ScheduleRestart(i);
  StartReply(id);
}

}  // namespace rigwatch::sim
