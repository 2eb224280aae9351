// Reply bodies of the AxeOS HTTP API per firmware variant (docs/protocols.md
// §1). Pure functions of the variant, the miner's identity and a Snapshot.
#ifndef RIGWATCH_TESTS_SIM_AXEOS_REPLIES_H_
#define RIGWATCH_TESTS_SIM_AXEOS_REPLIES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "tests/sim/miner_model.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

// Who the miner says it is.
struct MinerIdentity {
  std::string name;  // hostname
  uint32_t index = 0;
  std::string ip;  // listen address, e.g. "127.1.0.7"
};

// Body of GET /api/system/info: tab-pretty-printed up to v2.10, compact
// from v2.11, ArduinoJson style for NerdQAxe.
std::string RenderAxeosInfo(Variant v, const MinerIdentity& id,
                            const Snapshot& s);

// Body of GET /api/system/asic, or nullopt where the firmware has no such
// endpoint (v2.0 predates it; the NerdQAxe fork is not simulated) -> 404.
std::optional<std::string> RenderAxeosAsic(Variant v);

// The reply to POST /api/system/restart: nullopt for v2.0 (the device resets
// without answering), else the body and its content type.
struct RestartReply {
  std::string content_type;
  std::string body;
};
std::optional<RestartReply> AxeosRestartReply(Variant v);

// The bestDiff strings of firmwares <= v2.10 (docs/protocols.md §1.5).
std::string FormatBestDiff(Variant v, double diff);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_AXEOS_REPLIES_H_
