// The braiins exporter: Braiins OS / BOS+ (BOSminer, BOSer) on Antminers.
// Data from the cgminer-compatible API on 4028, restart through the REST
// API of Braiins OS 25.07 and later on the web side (docs/protocols.md §8).
//
// One poll is six exchanges, each on its own connection:
//   summary      {"command":"summary"}      required  (MHS keys, §2.3)
//   pools        {"command":"pools"}        optional
//   devdetails   {"command":"devdetails"}   optional  (Model)
//   temps        {"command":"temps"}        optional  (Board/Chip per chain)
//   fans         {"command":"fans"}         optional  (RPM, Speed %)
//   tunerstatus  {"command":"tunerstatus"}  optional  (power, chain status)
// temps: chainN_board = Board, chainN_chip = Chip with N = ID as sent (6..8
// on S9-class hardware, 1..3 otherwise); chip / board are the maxima.
// fans: label fan = ID + 1; a slot reporting 0 rpm is empty and left out;
// Speed is the duty. tunerstatus: power =
// ApproximateMinerPowerConsumption (W); a TunerChainStatus[].Status other
// than Stable, "Testing performance profile" or "Tuning individual chips"
// sets miner_device_up{device="chainN"} to 0 (N = HashchainIndex).
//
// Restart (§8.2): the web side (http_port, default 80), a token chain:
//   GET  /api/v1/version/     no auth; a 404 or a reply that is not the
//                             {major, minor} object (no REST API: Braiins
//                             OS before 25.07, maybe its web UI's page) or
//                             an API version below 1.7.0 is
//                             FailedPrecondition ("unsupported"): those
//                             versions speak GraphQL, gRPC or LuCI, which
//                             rigwatch does not
//   POST /api/v1/auth/login   {"username":..,"password":..} from `auth:`
//                             (default root/root) -> {"token":..}
//   PUT  /api/v1/actions/reboot  `Authorization: <token>` (raw) -> 204
// A 401 to the reboot logs in once more; a second 401, or a login refused
// with 401/403, is PermissionDenied with the miner's reply.
#ifndef RIGWATCH_EXPORTERS_BRAIINS_H_
#define RIGWATCH_EXPORTERS_BRAIINS_H_

#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"

namespace rigwatch::braiins {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

// One raw reply of `command` (see above) into `out`. For tests, the fuzz
// harness and the golden files.
Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out);

}  // namespace rigwatch::braiins

#endif  // RIGWATCH_EXPORTERS_BRAIINS_H_
