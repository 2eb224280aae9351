// The avalon exporter: Canaan AvalonMiner (A10-A15, Nano 3/3S, Mini 3,
// Avalon Q) on the cgminer 4.11 API, JSON only (docs/protocols.md §9).
//
// One poll is four exchanges, each on its own connection:
//   summary {"command":"summary"}  required  (MHS keys)
//   pools   {"command":"pools"}    optional
//   stats   {"command":"stats"}    optional  (the MM ID string)
//   version {"command":"version"}  optional  (model, firmware)
//
// stats: STATS[0]["MM ID0"] (Avalon Q: "MM ID0:Summary") is one string of
// Key[value] tokens (§9.2). Mapped: Temp/ITemp -> inlet (-273 = none),
// OTemp -> outlet, TMax -> chip, TAvg -> chip_avg, MTmax[..] ->
// chainN_chip per hash board (N from 0, as in PVT_T<n>; A10-A15 have no PCB
// sensor, so these stand for the board too), HBITemp/HBOTemp ->
// chainN_inlet/chainN_outlet, Fan1..Fan4 rpm, FanR duty, GHSspd (when the
// summary gave no hashrate), GHSmm nominal, MGHS per board, PVT_T<n>
// non-zero count = chips per board, power = WALLPOWER, else PS[6] (7-field
// PS), else PS[4], Elapsed uptime.
//
// Restart: {"command":"ascset","parameter":"0,reboot,0"} reboots the box;
// STATUS I "ASC 0 set info: reboot" or a dropped connection is accepted
// (§9.3). `restart` would restart only cgminer.
#ifndef RIGWATCH_EXPORTERS_AVALON_H_
#define RIGWATCH_EXPORTERS_AVALON_H_

#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"

namespace rigwatch::avalon {

const Exporter& GetExporter();

// One raw reply of `command` ("summary", "pools", "stats", "version") into
// `out`. For tests, the fuzz harness and the golden files.
Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out);

// Appends the samples of one MM ID string to `out`.
void AddMmId(std::string_view mm, ScrapeResult& out);

}  // namespace rigwatch::avalon

#endif  // RIGWATCH_EXPORTERS_AVALON_H_
