// Replies of Braiins OS (docs/protocols.md §8): on 4028 BOSer's summary
// (MHS keys, keys sorted, full-precision doubles), pools, devdetails, temps,
// fans and tunerstatus, Code 14 for anything else (no restart there); on
// the web side the REST API of 25.07 (braiins-s19) or none at all
// (braiins-s9, BOSminer+ 0.2.0: every path 404). Pure functions;
// FleetSim::HandleBraiinsWeb (braiins_web.cc) does the routing.
#ifndef RIGWATCH_TESTS_SIM_BRAIINS_REPLIES_H_
#define RIGWATCH_TESTS_SIM_BRAIINS_REPLIES_H_

#include <string>
#include <string_view>

#include "tests/sim/family_replies.h"
#include "tests/sim/miner_model.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

bool IsBraiins(Variant v);

// One 4028 command. Three chains (ids 1..3, or 6..8 on the S9), chain 2 the
// hottest at the model's temperature, boards 15 degC below their chips.
FamilyReply RenderBraiinsReply(Variant v, const std::string& cmd,
                               const Snapshot& s);

// The REST side at `method` `path` with the request's `authorization` and
// `body`: version, auth/login (user root and `password` -> `token`) and
// actions/reboot (raw token -> 204; `reboot` set).
struct BraiinsWebReply {
  int status = 200;
  std::string body;
  std::string note;  // for the request log: "(password ok)", "(token ok)"
  bool reboot = false;
};
BraiinsWebReply RenderBraiinsWeb(Variant v, std::string_view method,
                                 std::string_view path,
                                 std::string_view authorization,
                                 std::string_view body,
                                 std::string_view password,
                                 std::string_view token);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_BRAIINS_REPLIES_H_
