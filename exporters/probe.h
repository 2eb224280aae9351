// `kind: auto`: which registered kind a miner runs, told from one probe
// (docs/protocols.md "Auto-detection"). Pure decision logic, no I/O: the
// poller sends the requests this file names, through the same transport,
// timeouts and size cap as a poll, and hands the replies back.
//
// A probe is at most three exchanges, in this order, and stops at the first
// one after which a kind is told:
//   version     {"command":"version"}     on the API port (4028 by default)
//   devdetails  {"command":"devdetails"}  same port (old Whatsminers answer
//                                          `version` with Code 14)
//   web         GET /                      on the web port (80 by default)
// The decision is a table (probe.cc): one entry per kind with the markers
// that identify it, checked in table order, so a firmware that copies
// another's strings (LuxOS and Vnish both say "Antminer") is listed before
// the one it copies. Entries naming a kind that is not registered are
// skipped, so the table may list kinds a build does not have.
#ifndef RIGWATCH_EXPORTERS_PROBE_H_
#define RIGWATCH_EXPORTERS_PROBE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/exporter.h"

namespace rigwatch::probe {

// The config `kind:` that asks for detection.
inline constexpr std::string_view kAutoKind = "auto";
// Where a probe goes when the miner's config names no port.
inline constexpr uint16_t kDefaultApiPort = 4028;
inline constexpr uint16_t kDefaultWebPort = 80;

enum class Source { kVersion, kDevdetails, kWeb };
std::string_view SourceName(Source s);  // "version", "devdetails", "web"

// The request of one step. kVersion/kDevdetails go to the API side as one
// cgminer-framed JSON command over TCP; kWeb is an HTTP GET / on the web
// side, without credentials.
Request RequestFor(Source s);

// The replies of one probe so far, by step.
struct Replies {
  std::optional<Response> version;
  std::optional<Response> devdetails;
  std::optional<Response> web;
};

// True for a kind this build can poll (FindExporter(kind) != nullptr).
using KindFilter = std::function<bool(std::string_view kind)>;

struct Decision {
  std::string kind;
  // What matched, for the log: "version contains LUXMINER".
  std::string evidence;
  friend bool operator==(const Decision&, const Decision&) = default;
};

// The first table entry whose kind passes `registered` and whose evidence
// is in `replies`, or nullopt.
std::optional<Decision> Decide(const Replies& replies,
                               const KindFilter& registered);

// The next step to run, or nullopt when the probe is over (a kind was
// told, or every step has run).
std::optional<Source> NextStep(const Replies& replies,
                               const KindFilter& registered);

// Why nothing matched, for `kind: auto could not tell: <this>`: each
// step's outcome ("version: connection refused; web: HTTP 404, no known
// marker").
std::string Explain(const Replies& replies);

// The kinds the table can tell, in table order (docs, tests).
std::vector<std::string_view> TableKinds();

}  // namespace rigwatch::probe

#endif  // RIGWATCH_EXPORTERS_PROBE_H_
