// The luxos exporter: LuxOS (LUXminer) on Antminers, the cgminer-style API
// on 4028 (docs/protocols.md §10).
//
// One poll is five exchanges, each on its own connection:
//   summary {"command":"summary"}  required  (GHS keys)
//   pools   {"command":"pools"}    optional
//   stats   {"command":"stats"}    optional  (Antminer layout, §6.3)
//   temps   {"command":"temps"}    optional  (inlet/outlet by label)
//   power   {"command":"power"}    optional  (watts)
// stats strings may read "NaN-NaN-NaN-NaN" (no reading). temps rows
// {ID, TopLeft, TopRight, BottomLeft, BottomRight} are named by
// METADATA[0]: an "Exhaust" label is an outlet, "Intake" an inlet; they add
// inlet/outlet (and chainN_board, N = ID + 1 as in stats) where stats gave
// none.
//
// Restart: a session chain (§10.2): `session`; if it names no active
// session, `logon`; then {"command":"rebootdevice","parameter":"<sid>"}.
// A second logon while another session is active answers Code 402 (the
// restart fails with that message). A rebootdevice refused with STATUS E
// (the session expired, 60 s after its last use) runs logon once more.
#ifndef RIGWATCH_EXPORTERS_LUXOS_H_
#define RIGWATCH_EXPORTERS_LUXOS_H_

#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"

namespace rigwatch::luxos {

const Exporter& GetExporter();

// One raw reply of `command` ("summary", "pools", "stats", "temps",
// "power") into `out`. For tests, the fuzz harness and the golden files.
Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out);

}  // namespace rigwatch::luxos

#endif  // RIGWATCH_EXPORTERS_LUXOS_H_
