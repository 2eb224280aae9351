// The bitaxe exporter: AxeOS (ESP-Miner v2.0 … v2.15) and the NerdQAxe fork,
// over HTTP. See exporter.h for the contract and docs/protocols.md §1 for the
// API.
//
// One poll is one request, GET /api/system/info: /api/system/asic would only
// add asicCount, which no metric needs (expectedHashrate is in /info since
// v2.8), and the ESP32 has few sockets (docs/protocols.md §1.1), so we keep to
// one.
//
// Parse errors: PermissionDenied for HTTP 401/403 (AxeOS v2.5+ answers only
// RFC1918 clients), Unavailable for other non-2xx statuses and transport
// failures, DataLoss for a truncated body, InvalidArgument with a byte offset
// for malformed JSON. Fields that are absent, of an unexpected type, or carry
// a firmware "no reading" sentinel (temp -1, temp2 0/-1, vrTemp 0) produce no
// sample.
//
// Restart: POST /api/system/restart. A 2xx reply with any body (none, the
// text "System will restart shortly." or JSON) is success, and so is a
// transport failure other than a timeout when Response::request_sent is set:
// v2.0 reboots without replying, so the client sees a reset or EOF.
#ifndef RIGWATCH_EXPORTERS_BITAXE_H_
#define RIGWATCH_EXPORTERS_BITAXE_H_

#include <string_view>

#include "agent/common/status.h"
#include "exporters/exporter.h"

namespace rigwatch::bitaxe {

// The process-wide, stateless, thread-safe instance.
const Exporter& GetExporter();

// Parses one /api/system/info body (HTTP status already checked). Exposed
// for tests, the fuzz harness and benchmarks.
Result<ScrapeResult> ParseInfo(std::string_view body);

}  // namespace rigwatch::bitaxe

#endif  // RIGWATCH_EXPORTERS_BITAXE_H_
