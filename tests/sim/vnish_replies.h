// Replies of Vnish 1.2.6 on an S19 XP on its REST side (docs/protocols.md
// §11): GET /api/v1/summary and /api/v1/info (open), POST /api/v1/unlock
// (password -> token), POST /api/v1/system/reboot (Bearer token). Pure
// functions; FleetSim::HandleVnishWeb (vnish_web.cc) does the routing.
// The 4028 side of the variant answers like the stock Antminer
// (family_replies.h), as Vnish's bmminer-compatible API does.
#ifndef RIGWATCH_TESTS_SIM_VNISH_REPLIES_H_
#define RIGWATCH_TESTS_SIM_VNISH_REPLIES_H_

#include <string>
#include <string_view>

#include "tests/sim/miner_model.h"

namespace rigwatch::sim {

// The /summary body: three chains (ids 0..2, chain 1 the hottest at the
// model's temperature, boards 12 degC below their chips), four fans, one
// user pool and the DevFee pool; hashrates in GH/s.
std::string RenderVnishSummary(const Snapshot& s);
// The /info body; hr_measure "GH/s".
std::string RenderVnishInfo(std::string_view hostname);

// The unlock verdict for a request body {"pw":"..."} against `password`:
// 200 with `token`, or 403 {"unlock_timeout":null}; a body without "pw" is
// 400 {"err":...}.
struct VnishReply {
  int status = 200;
  std::string body;
};
VnishReply RenderVnishUnlock(std::string_view request_body,
                             std::string_view password, std::string_view token);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_VNISH_REPLIES_H_
