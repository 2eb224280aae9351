// Replies of the CGMiner TCP API (docs/protocols.md §2) for cgminer 4.11.1 and
// the Antminer S9 bmminer variant. Pure functions; the caller appends the NUL
// and owns framing.
#ifndef RIGWATCH_TESTS_SIM_CGMINER_REPLIES_H_
#define RIGWATCH_TESTS_SIM_CGMINER_REPLIES_H_

#include <string>
#include <string_view>

#include "tests/sim/miner_model.h"
#include "tests/sim/sim_types.h"

namespace rigwatch::sim {

struct CgminerReply {
  std::string body;      // JSON text, no trailing NUL
  std::string command;   // what was asked, for the request log ("summary+devs")
  bool restart = false;  // the miner accepted "restart" and goes away
};

// Answers the bytes of one recv(). JSON requests ({"command":"summary"}),
// multi-commands ("summary+devs", each section a 1-element array), Code 14
// for unknown commands, 23/24 for bad JSON, Code 45 per `faults.code45`.
// Plain-text requests ("summary", "pga|0") get the text reply form
// (cgminer_text.h); joins are JSON-only.
CgminerReply RenderCgminerReply(Variant v, std::string_view request,
                                const Snapshot& s, const Faults& faults);

}  // namespace rigwatch::sim

#endif  // RIGWATCH_TESTS_SIM_CGMINER_REPLIES_H_
