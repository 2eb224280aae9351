// The antminer exporter: stock Bitmain firmware (bmminer / "cgminer 1.0.0"
// on S19, S19j Pro, S19 XP, S21, T21). Data from the 4028 API, restart
// through the web CGI with HTTP Digest (docs/protocols.md §6).
//
// One poll is three exchanges, each on its own connection:
//   summary {"command":"summary"}  required  (GH/s keys, §6.2)
//   pools   {"command":"pools"}    optional
//   stats   {"command":"stats"}    optional  (chains, temperatures, fans)
// `devs` is not asked: stock S19 firmware misspells its temperature key and
// prints zero hashrates there (§6.1).
//
// Fallback (Request::fallback, sent only when `summary` failed in
// transport, i.e. the 4028 API is disabled or closed to us): two web-side
// GETs with HTTP Digest, the same login as the reboot (§6.4, §6.5):
//   stats.cgi    required  rates, elapsed, fan[], chain[] with arrays
//                          temp_chip[] / temp_pcb[] (same 4-sensor order)
//   summary.cgi  optional  hw_all, bestshare, status[] -> miner_fault
// They export the same metric names and sensors as the 4028 path (chain
// `index` 0-based -> chain index+1), without pools, shares and per-chip
// chain status, which the CGI pages do not carry. 401/403 is
// PermissionDenied; a broken page fails the poll.
//
// stats (§6.3): STATS[0] is the identity (Type, CompileTime), STATS[1] the
// data. Temperatures come from the dash strings temp_chipN / temp_pcbN
// ("52-56-67-71", four sensors: inlet 1, inlet 2, outlet 1, outlet 2) or,
// on builds from about 2023-07, temp_{in,out}_{chip,pcb}_N ("60-72"); 0 and
// non-numeric entries ("NaN") are no reading. Per chain the maximum becomes
// chainN_chip / chainN_board; over all chains chip, board, and from the PCB
// sensors inlet / outlet. Legacy tempN / temp2_N are used only when a chain
// has no string. Hashrates scale by rate_unit ("GH" when absent).
//
// Restart: GET /cgi-bin/reboot.cgi on the web side (http_port, default 80)
// with HTTP Digest, default login root/root (§6.4). 200 or the
// connection dropping after the request is accepted; 401/403 is
// PermissionDenied with the miner's text (wrong credentials).
#ifndef RIGWATCH_EXPORTERS_ANTMINER_H_
#define RIGWATCH_EXPORTERS_ANTMINER_H_

#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"
#include "exporters/json_util.h"

namespace rigwatch::antminer {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

// Parses one raw reply of `command` ("summary", "pools", "stats", or the
// CGI bodies "stats.cgi", "summary.cgi") and
// appends its samples and identity to `out`. Errors as in Exporter::Parse.
// For tests, the fuzz harness and the golden files.
Status ParseReply(std::string_view command, std::string_view body,
                  ScrapeResult& out);

// Maps the STATS entries of an Antminer-layout stats reply (also LuxOS,
// §10.1) to samples and identity.
void AddStats(const json_util::Json& stats, ScrapeResult& out);

// The entries of a dash string ("52-56-67-71", "NaN-NaN", "0-0") that are
// readings: numeric, not 0, above absolute zero.
std::vector<double> DashReadings(std::string_view s);

}  // namespace rigwatch::antminer

#endif  // RIGWATCH_EXPORTERS_ANTMINER_H_
