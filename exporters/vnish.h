// The vnish exporter: Vnish (AnthillOS) custom Antminer firmware through its
// REST API on port 80, `/api/v1` (docs/protocols.md §11).
//
// One poll is two exchanges, neither with a token (both are open on Vnish):
//   summary  GET /api/v1/summary  required  (miner.*: hashrate, temperatures,
//                                            fans, power, chains, pools)
//   info     GET /api/v1/info     optional  (model, firmware, hostname and
//                                            hr_measure, the hashrate unit)
// Hashrates are hr_realtime / hr_average / chains[].hashrate_rt in
// hr_measure units ("GH/s" when info is missing), the deprecated TH/s
// instant_hashrate / average_hashrate when hr_realtime is absent. Power is
// power_consumption (W); power_usage is never read (watts in 1.2.0, J/TH in
// later builds). Temperatures: chip / board = chip_temp.max / pcb_temp.max,
// per chain chainN_chip / chainN_board with N = chains[].id as sent (1-based
// in 1.2.0, 0-based later). A chain is up when status.state is "mining".
// Fans: label fan = id + 1 (the Antminer numbering), lost fans at 0 rpm.
// Pools: the DevFee pool is left out; up when status is active, working or
// alive.
//
// Restart: a token chain (§11.1): POST /api/v1/unlock {"pw":"<password>"}
// (config `auth.password_file`, default "admin"; the username is not used),
// then POST /api/v1/system/reboot with `Authorization: Bearer <token>`.
// A 401 there unlocks once more; a second 401 is PermissionDenied. A wrong
// password (unlock 403) is PermissionDenied with the miner's reply; 429 (too
// many attempts) and 500 are Unavailable with the miner's reply.
#ifndef RIGWATCH_EXPORTERS_VNISH_H_
#define RIGWATCH_EXPORTERS_VNISH_H_

#include <string>
#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"

namespace rigwatch::vnish {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

// Parses one /summary body with `info` (a /info body, or empty when that
// request failed) for the identity and hashrate unit. For tests, the fuzz
// harness and the golden files.
Result<ScrapeResult> ParseSummary(std::string_view summary,
                                  std::string_view info);

// The checks of an HTTP reply shared with the braiins kind's REST control:
// transport failures Unavailable (DataLoss at the size cap), 2xx Ok, 401/403
// PermissionDenied, 404 FailedPrecondition, other statuses Unavailable; the
// message starts with `what` and quotes the miner's reply
// (json_util::MinerWords).
Status CheckHttpReply(const Response& r, std::string_view what);

}  // namespace rigwatch::vnish

#endif  // RIGWATCH_EXPORTERS_VNISH_H_
